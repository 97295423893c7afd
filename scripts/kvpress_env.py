"""NVIDIA's kvpress 0.5.5 in its own virtual environment, for the parity test and the KV benchmark.

kvpress pins transformers < 5.3, so it cannot live in research_kit's environment. `kvpress_python()` builds
`_build/kvpress-env` (git-ignored) on first use and installs there with `--no-deps`, so that pip never touches the main
environment: kvpress 0.5.5, transformers 5.2.0 and the versions of tokenizers / huggingface_hub that transformers 5.2
accepts, plus kvpress's small extra imports (cachetools, fire, termcolor). torch, accelerate, datasets, ... come from the
main environment through a .pth file, which Python reads after the new environment's own site-packages, so the pinned
transformers wins there. `run(script, *args)` runs a Python file in that environment (PYTHONPATH cleared).
"""
import os
import site
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENV = ROOT / "_build" / "kvpress-env"
PINS = ["kvpress==0.5.5", "transformers==5.2.0", "tokenizers==0.22.2", "huggingface_hub>=1.3,<2", "cachetools>=5.5.2,<6",
        "fire==0.6.0", "termcolor"]
QUIET = {"HF_HUB_DISABLE_PROGRESS_BARS": "1", "TRANSFORMERS_VERBOSITY": "error", "TQDM_DISABLE": "1"}


class Unavailable(RuntimeError):
    "kvpress could not be installed or imported here (pip's message says why)."


def kvpress_python() -> Path:
    "The kvpress environment's python, built on first use; raises `Unavailable` with pip's message if it cannot be."
    py = ENV / "bin" / "python"
    ok = lambda: py.exists() and subprocess.run(
        [str(py), "-c", "import kvpress, transformers; assert transformers.__version__ == '5.2.0'"],
        capture_output=True, env={**os.environ, **QUIET}).returncode == 0
    if ok(): return py
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(ENV)], check=True)
    r = subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-deps", *PINS], capture_output=True, text=True)
    if r.returncode: raise Unavailable(f"pip could not install kvpress 0.5.5 with its pins into {ENV}: {r.stderr.strip()[-800:]}")
    env_site = subprocess.run([str(py), "-c", "import site; print(site.getsitepackages()[0])"], capture_output=True,
                              text=True, check=True).stdout.strip()
    Path(env_site, "zz_research_kit_main.pth").write_text(site.getsitepackages()[0] + "\n")
    if not ok(): raise Unavailable(f"kvpress 0.5.5 does not import in {ENV} (the main environment's torch may not suit it)")
    return py


def run(script: Path, *args, timeout: float | None = None) -> subprocess.CompletedProcess:
    "Run the Python file `script` with `args` in the kvpress environment; raises with its stderr tail if it fails."
    r = subprocess.run([str(kvpress_python()), str(script), *map(str, args)], capture_output=True, text=True,
                       timeout=timeout, env={**os.environ, **QUIET, "PYTHONPATH": ""})
    if r.returncode: raise RuntimeError(f"{script} failed in the kvpress environment:\n{r.stderr[-3000:]}")
    return r
