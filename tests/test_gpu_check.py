"""`make gpu-check` on the CPU (`--cpu`): the smoke test CI runs; on a GPU machine run `make gpu-check` itself."""
import re, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_gpu_check_cpu_smoke():
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "gpu_check.py"), "--cpu"], capture_output=True, text=True, cwd=ROOT, timeout=900)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    rows = [l for l in r.stdout.splitlines() if re.match(r"\| [a-z]+\.", l)]
    verbs = {l.split("|")[1].strip().split(".")[0] for l in rows}
    assert verbs == {"models", "probes", "losses", "merging", "pruning", "viz"}, verbs   # every verb ran
    assert all("| ok |" in l for l in rows), rows
    n = len(rows)
    assert f"{n}/{n} checks passed" in r.stdout


def test_gpu_check_refuses_without_cuda():
    import pytest, torch
    if torch.cuda.is_available(): pytest.skip("CUDA is present: the refusal is for machines without it")
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "gpu_check.py")], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert r.returncode == 2 and "--cpu" in r.stderr
