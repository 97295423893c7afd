"""Parity with NVIDIA's kvpress 0.5.5 (slow): with the same budget and the same counting, research_kit's eviction presses
StreamingLLM, key-norm and SnapKV keep exactly the prompt positions kvpress keeps, in every layer and key/value head of
SmolLM2 (30 layers x 3 KV heads), at several budgets.

kvpress pins transformers < 5.3, so it cannot live in research_kit's environment: `scripts/kvpress_env.py` builds its own
virtual environment under `_build/kvpress-env` (git-ignored; see there how). If pip cannot build it, the test is skipped
with pip's message.

kvpress runs in a subprocess on the embedded SmolLM2 folder (`models._resolve("smollm2-135m")`, float32) and a 643-token
prompt of held-out fortunes. Its kept positions are read off the scores its press computes: the runner wraps
`press.score` and repeats the one call `ScorerPress.compress` makes on them (`scores.topk(n_kept)`), and checks that the
compressed cache holds exactly the original keys gathered at those positions. kvpress keeps
`int(T * (1 - compression_ratio))` tokens, so a budget B is asked for with `compression_ratio = 1 - (B + 0.5) / T`.
Run: `.venv/bin/python -m pytest -q --runslow tests/test_kvpress_parity.py -s` (prints the agreement table)."""
import json
import sys
from pathlib import Path

import pytest
import torch

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import kvpress_env  # noqa: E402

BUDGETS = [64, 100, 256, 512]
N_TOKENS = 643

RUNNER = r'''
import json, sys, torch
from transformers import AutoModelForCausalLM, DynamicCache
from kvpress import StreamingLLMPress, KnormPress, SnapKVPress
folder, spec_file, out_file = sys.argv[1:4]
spec = json.load(open(spec_file))
ids = torch.tensor([spec["ids"]])
T = ids.shape[1]
model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
presses = {"streaming_llm": lambda r: StreamingLLMPress(compression_ratio=r, n_sink=4),
           "key_norm": lambda r: KnormPress(compression_ratio=r),
           "snapkv": lambda r: SnapKVPress(compression_ratio=r, window_size=64, kernel_size=5)}
out = {"T": T, "kept": {}, "cache_len": {}}
for name, make in presses.items():
    for B in spec["budgets"]:
        press = make(1 - (B + 0.5) / T)
        got, orig = {}, {}
        def wrapped(module, hidden_states, keys, values, attentions, kwargs, _score=press.score, _press=press):
            s = _score(module, hidden_states, keys, values, attentions, kwargs)
            n = max(1, int(keys.shape[2] * (1 - _press.compression_ratio)))
            got[module.layer_idx] = s.topk(n, dim=-1).indices
            orig[module.layer_idx] = keys.clone()
            return s
        press.score = wrapped
        cache = DynamicCache()
        with torch.no_grad(), press(model): model(input_ids=ids, past_key_values=cache, use_cache=True)
        kept = {}
        for i, idx in got.items():
            k = cache.layers[i].keys
            assert torch.equal(k, orig[i].gather(2, idx[..., None].expand(-1, -1, -1, k.shape[-1]))), "cache != kept keys"
            kept[i] = idx[0].sort(-1).values.tolist()
        out["kept"][f"{name}/{B}"] = kept
        out["cache_len"][f"{name}/{B}"] = cache.get_seq_length()
json.dump(out, open(out_file, "w"))
'''


@pytest.fixture(scope="module")
def prompt():
    from research_kit.data import corpus
    from research_kit.models import load
    model, tok = load("smollm2-135m")
    ids = tok("\n".join(corpus("fortunes", "eval")["text"]))["input_ids"][:N_TOKENS]
    assert len(ids) == N_TOKENS
    return model, ids


@pytest.fixture(scope="module")
def theirs(prompt, tmp_path_factory):
    from research_kit.models import _resolve
    try: kvpress_env.kvpress_python()
    except kvpress_env.Unavailable as e: pytest.skip(str(e))
    d = tmp_path_factory.mktemp("kvpress")
    (d / "spec.json").write_text(json.dumps({"ids": prompt[1], "budgets": BUDGETS}))
    (d / "runner.py").write_text(RUNNER)
    kvpress_env.run(d / "runner.py", _resolve("smollm2-135m"), d / "spec.json", d / "out.json")
    return json.loads((d / "out.json").read_text())


@pytest.mark.parametrize("name", ["streaming_llm", "key_norm", "snapkv"])
def test_same_kept_positions(prompt, theirs, name):
    from research_kit.pruning import PRESSES, cache_bytes
    model, ids = prompt
    x = torch.tensor([ids])
    for B in BUDGETS:
        with torch.no_grad(), PRESSES[name](model, budget=B) as p: out = model(input_ids=x, use_cache=True)
        assert theirs["cache_len"][f"{name}/{B}"] == B == out.past_key_values.get_seq_length()
        kept = theirs["kept"][f"{name}/{B}"]
        same, jac, n = 0, 0.0, 0
        for layer, heads in kept.items():
            for h, pos in enumerate(heads):
                a, b = set(p.kept[int(layer)][0, h].tolist()), set(pos)
                same += a == b; jac += len(a & b) / len(a | b); n += 1
        print(f"{name:14s} budget {B:3d}: {same}/{n} heads keep kvpress's positions (mean Jaccard {jac / n:.4f}); "
              f"cache {cache_bytes(out.past_key_values)} bytes for {B} of {N_TOKENS} tokens")
        assert n == 30 * 3 and same == n, (name, B, same, n)
