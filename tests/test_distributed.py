"""fit_embedder and CachedLoss under torchrun and accelerate launch: 2 gloo processes on CPU give the same saved weights as one
process (to 1e-5), and DDP synchronises once per step however many chunks each process embeds."""
import os, socket, subprocess, sys, textwrap
from pathlib import Path

import pytest
import torch

WORKER = textwrap.dedent('''
    import sys, torch, polars as pl
    torch.set_num_threads(1)
    from research_kit.models import tiny
    from research_kit.data import RetrievalSet
    from research_kit.losses import fit_embedder
    out = sys.argv[1]
    q = ["a feline pet", "a loyal canine", "salt water body", "a tall plant", "frozen water", "a fast car", "a red fruit"]
    docs = {"cat": "cat", "kitten": "small cat", "dog": "dog", "hound": "hunting dog", "sea": "sea", "ocean": "ocean", "tree": "tree",
            "oak": "oak tree", "ice": "ice", "car": "car", "auto": "automobile", "apple": "apple", "animal": "animal", "plant": "plant"}
    gold = [("q0", "cat"), ("q0", "kitten"), ("q1", "dog"), ("q1", "hound"), ("q2", "sea"), ("q2", "ocean"), ("q3", "tree"), ("q3", "oak"),
            ("q4", "ice"), ("q5", "car"), ("q5", "auto"), ("q6", "apple")]
    noisy = [("q0", "animal"), ("q1", "animal"), ("q3", "plant"), ("q6", "plant")]
    data = RetrievalSet("test",
        queries=pl.DataFrame({"query_id": [f"q{i}" for i in range(len(q))], "text": q, "synset": [f"s{i}" for i in range(len(q))], "pos": ["n"] * len(q)}),
        corpus=pl.DataFrame({"doc_id": list(docs), "text": list(docs.values())}),
        qrels=pl.DataFrame({"query_id": [a for a, _ in gold + noisy], "doc_id": [b for _, b in gold + noisy],
                            "kind": ["gold"] * len(gold) + ["hypernym"] * len(noisy)}))
    for name, loss, chunk in [("plain", "lse_pair", None), ("cached", "rand1_lh", 2)]:
        model, tok = tiny("bert", seed=1, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
        fit_embedder(model, tok, data, loss, noisy=True, steps=3, batch_size=5, lr=2e-4, warmup=0.0, chunk_size=chunk,
                     out_dir=f"{out}/{name}", progress=False)
    # DDP: one gradient all-reduce per step, also when the processes embed different numbers of chunks (7 queries, 9 docs)
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel
    from research_kit.losses import CachedLoss, Embedder, info_nce, dist_info, plain_loss
    rank, world = dist_info()
    if world > 1:
        model, tok = tiny("bert", seed=1)
        emb = Embedder(model, tok).distribute()
        assert isinstance(emb.net, DistributedDataParallel)
        calls = []
        def count(state, bucket):
            calls.append(bucket.index())
            return dist.all_reduce(bucket.buffer().div_(world), async_op=True).get_future().then(lambda f: f.value()[0])
        emb.net.register_comm_hook(None, count)
        qs, ds = [f"query {i}" for i in range(7)], [f"a document {i}" for i in range(9)]
        pm = torch.eye(7, 9, dtype=torch.bool)
        plain_loss(info_nce, emb, qs, ds, pm, tau=0.1).backward(); n_plain = len(calls); calls.clear()
        CachedLoss(info_nce, emb, chunk_size=2, tau=0.1)(qs, ds, pm).backward()
        assert len(calls) == n_plain >= 1, (len(calls), n_plain)
        print(f"rank {rank}: {n_plain} bucket all-reduce(s) per step, plain and cached")
''')

def _free_port() -> int:
    with socket.socket() as s: s.bind(("127.0.0.1", 0)); return s.getsockname()[1]

def _weights(folder: Path) -> dict:
    from safetensors.torch import load_file
    return load_file(str(folder / "model.safetensors"))

LAUNCHERS = {   # the two launchers users run; both describe the process group in the environment
    "torchrun": lambda port: ["-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1", "--master_port", str(port)],
    "accelerate": lambda port: ["-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
                                "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", str(port)],
}

@pytest.fixture(scope="module")
def one_process(tmp_path_factory):
    "The single-process run every launcher is compared with (and its script)."
    tmp = tmp_path_factory.mktemp("one"); script = tmp / "train.py"; script.write_text(WORKER)
    one = subprocess.run([sys.executable, str(script), str(tmp / "out")], env=_env(), capture_output=True, text=True)
    assert one.returncode == 0, one.stderr[-3000:]
    return script, tmp / "out"

def _env() -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    return {k: v for k, v in env.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")}

@pytest.mark.parametrize("launcher", list(LAUNCHERS))
def test_two_processes_equal_one(launcher, one_process, tmp_path):
    script, one = one_process
    two = subprocess.run([sys.executable, *LAUNCHERS[launcher](_free_port()), str(script), str(tmp_path / "two")],
                         env=_env(), capture_output=True, text=True)
    assert two.returncode == 0, two.stderr[-3000:]
    assert two.stdout.count("bucket all-reduce(s) per step, plain and cached") == 2, two.stdout[-2000:]   # DDP, once per step, on both ranks
    from research_kit.models import tiny
    init = {k: v for k, v in tiny("bert", seed=1)[0].state_dict().items()}
    for name in ("plain", "cached"):
        a, b = _weights(one / name), _weights(tmp_path / "two" / name)
        assert a.keys() == b.keys() and len(a) > 0
        diffs = {k: (a[k].float() - b[k].float()).abs().max().item() for k in a}; diff = max(diffs.values())
        print(sorted(diffs.items(), key=lambda kv: -kv[1])[:4])
        moved = max((a[k].float() - init[k].float()).abs().max().item() for k in a if k in init)
        print(f"{launcher} {name}: max |one process - two processes| = {diff:.2e}; max change from the initial weights {moved:.2e}")
        assert moved > 2e-4, f"{name}: training did not move the weights"   # the comparison is not vacuous
        assert diff < 1e-5, f"{name}: two processes differ from one by {diff:.2e}"
    assert not (tmp_path / "two" / "plain" / "history.csv").read_text() == ""
