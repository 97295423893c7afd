"""`make gpu-check`: run every verb once on SmolLM2 (and all-MiniLM-L6-v2) on CUDA in bf16, and print a table of each check and its time.

Run it whenever a GPU machine is available; `--cpu` runs the same checks on the CPU (float32 unless `--dtype` says
otherwise): CI runs it that way as a smoke test. Exit status 1 when any check fails (the table says which and why).

    python scripts/gpu_check.py                 # CUDA, bfloat16
    python scripts/gpu_check.py --cpu           # the CI smoke test
    python scripts/gpu_check.py --only probes   # checks whose name starts with "probes"
"""
from __future__ import annotations
import argparse, sys, tempfile, time, traceback
from pathlib import Path

import torch

CHECKS: list[tuple[str, callable]] = []

def check(name: str):
    "Register a check: a function of the shared context returning a short note."
    def deco(fn): CHECKS.append((name, fn)); return fn
    return deco

class Ctx:
    "What the checks share: the device, dtype and the models, loaded once."
    def __init__(self, dev: torch.device, dtype: torch.dtype, tmp: Path):
        self.dev, self.dtype, self.tmp, self._m = dev, dtype, tmp, {}
    def model(self, name: str, attn: str = "eager"):
        from research_kit.models import load
        key = (name, attn)
        if key not in self._m: self._m[key] = load(name, dtype=self.dtype, attn=attn, device=self.dev)
        return self._m[key]
    def sync(self):
        if self.dev.type == "cuda": torch.cuda.synchronize()

PROMPT = "The capital of France is"

@check("models.load smollm2 + minilm")
def _load(c):
    lm, _ = c.model("smollm2-135m"); enc, _ = c.model("minilm-l6")
    p = next(lm.parameters())
    assert p.device.type == c.dev.type and p.dtype == c.dtype, (p.device, p.dtype)
    return f"{sum(x.numel() for x in lm.parameters()) / 1e6:.0f}M params on {p.device}, {p.dtype}"

@check("models.complete (greedy, 16 tokens)")
def _complete(c):
    from research_kit.models import complete
    lm, tok = c.model("smollm2-135m")
    out = complete(lm, tok, PROMPT, max_new_tokens=16)
    assert "Paris" in out, out
    return repr(out[len(PROMPT):][:40])

@check("models.encode (minilm, 64 texts)")
def _encode(c):
    from research_kit.models import encode
    enc, tok = c.model("minilm-l6")
    e = encode(enc, tok, [f"sentence number {i} about cats" for i in range(64)], progress=False)
    assert e.shape == (64, 384) and torch.isfinite(e).all()
    return "64 × 384, normalised"

@check("probes.capture blocks, heads, patterns")
def _capture(c):
    from research_kit.probes import activations
    lm, tok = c.model("smollm2-135m")
    acts = activations(lm, PROMPT, tok=tok, sites=["block.*", "head.3.*", "attn_pattern.5"], stop_after=None)
    assert len(acts) == 30 + 9 + 1 and all(torch.isfinite(v.float()).all() for v in acts.values())
    return f"{len(acts)} sites"

@check("probes.patch restores the clean run")
def _patch(c):
    from research_kit.probes import activations, forward, patch
    lm, tok = c.model("smollm2-135m")
    clean, corrupt = tok("The cat sat", return_tensors="pt"), tok("The dog sat", return_tensors="pt")
    with torch.no_grad():
        a = activations(lm, clean, sites="block.20", stop_after=None, to=c.dev)
        with patch(lm, {"block.20": a["block.20"]}): got = forward(lm, corrupt).logits
        want = forward(lm, clean).logits
    err = (got.float() - want.float()).abs().max().item()
    assert err < (1e-4 if c.dtype == torch.float32 else 5e-2), err
    return f"max |Δlogit| {err:.1e}"

@check("probes.steer (contrast vector)")
def _steer(c):
    from research_kit.probes import contrast_vectors, forward, steer
    lm, tok = c.model("smollm2-135m")
    v = contrast_vectors(lm, tok, ["I love this, it is wonderful", "What a great day"], ["I hate this, it is awful", "What a terrible day"], "block.15")
    vec = v["block.15"] if isinstance(v, dict) else v
    x = tok(PROMPT, return_tensors="pt")
    with torch.no_grad():
        base = forward(lm, x).logits
        with steer(lm, "block.15", torch.as_tensor(vec).to(c.dev), alpha=0.0): same = forward(lm, x).logits
        with steer(lm, "block.15", torch.as_tensor(vec).to(c.dev), alpha=8.0): moved = forward(lm, x).logits
    assert torch.equal(same, base) and not torch.allclose(moved, base)
    return f"|Δlogit| at α=8: {(moved - base).abs().max().item():.2f}"

@check("probes.logit_lens")
def _lens(c):
    from research_kit.probes import logit_lens
    lm, tok = c.model("smollm2-135m")
    t = logit_lens(lm, tok, PROMPT, " Paris")
    return f"{t.height} rows"

@check("losses.info_nce + dpo_loss backward")
def _losses(c):
    from research_kit.losses import dpo_loss, info_nce
    g = torch.Generator(device="cpu").manual_seed(0)
    s = torch.randn(32, 64, generator=g).to(c.dev, c.dtype).requires_grad_()
    l1 = info_nce(s, torch.eye(32, 64, dtype=torch.bool, device=c.dev))
    lp = torch.randn(4, 8, generator=g).to(c.dev).requires_grad_()
    l2 = dpo_loss(lp[0], lp[1], lp[2], lp[3])
    (l1 + l2).backward()
    assert torch.isfinite(s.grad.float()).all() and torch.isfinite(lp.grad).all()
    return f"info_nce {l1.item():.3f}, dpo {l2.item():.3f}"

@check("losses.fit_lm (2 steps)")
def _fit(c):
    import copy
    from research_kit.data import corpus
    from research_kit.losses import fit_lm
    lm, tok = c.model("smollm2-135m")
    m = copy.deepcopy(lm)
    fit_lm(m, tok, corpus("fortunes", "calibration", n=8), steps=2, batch_size=1, max_length=32, progress=False)
    del m
    return "2 AdamW steps"

@check("merging.merge (linear, smollm2 × 2)")
def _merge(c):
    from research_kit.merging import merge
    from research_kit.models import EMBEDDED, load
    src = EMBEDDED["smollm2-135m"]()
    out = merge([src, src], method="linear", weight=[0.5, 0.5], out=c.tmp / "merged", dtype=str(c.dtype).removeprefix("torch."), progress=False)
    m, _ = load(out, dtype=c.dtype, device=c.dev)
    return f"{sum(1 for _ in out.glob('*.safetensors'))} shard(s), reloads"

@check("pruning.head_importance + prune_heads + remove_blocks")
def _prune(c):
    from research_kit.data import corpus
    from research_kit.pruning import head_importance, perplexity, prune_heads, remove_blocks, select_heads
    lm, tok = c.model("smollm2-135m")
    texts = corpus("fortunes", "calibration", n=4)
    s = head_importance(lm, tok, texts, max_length=64, progress=False)
    small = prune_heads(lm, select_heads(lm, s, 0.34))
    shallow = remove_blocks(lm, [25, 26])
    ppl = perplexity(small, tok, corpus("fortunes", "eval", n=8), max_length=64)
    assert ppl == ppl and ppl < 1e4, ppl
    return f"ppl after a third of the heads out: {ppl:.1f}; {sum(p.numel() for p in shallow.parameters()) / 1e6:.0f}M after 2 blocks"

@check("pruning.kv press decodes")
def _press(c):
    from research_kit.pruning import PRESSES, greedy
    lm, tok = c.model("smollm2-135m")
    press = PRESSES["streaming_llm"](lm, budget=16)
    text, _ = greedy(lm, tok, PROMPT * 8, max_new_tokens=8, press=press)
    return repr(text[0][:30])

@check("viz.attention widget")
def _viz_attn(c):
    from research_kit.viz.attention import AttentionWidget, attention_data
    lm, tok = c.model("smollm2-135m")
    d = attention_data(lm, PROMPT, tok)
    w = AttentionWidget(d["attentions"], d["tokens"])
    return f"{len(w.figure().data)} traces"

@check("viz.geometry widget")
def _viz_geo(c):
    from research_kit.models import encode
    from research_kit.viz.geometry import EmbeddingWidget
    enc, tok = c.model("minilm-l6")
    texts = [f"a sentence about {w}" for w in ["cats", "dogs", "stocks", "bonds", "rain", "snow"]]
    w = EmbeddingWidget(encode(enc, tok, texts), texts)
    return f"{len(w.figure().data)} traces"

@check("viz.gradients widget")
def _viz_grad(c):
    from research_kit.viz.gradients import GradientWidget
    return f"{len(GradientWidget().figure().data)} traces"

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cpu", action="store_true", help="run on the CPU (the CI smoke test)")
    ap.add_argument("--dtype", choices=["bfloat16", "float16", "float32"], default=None, help="default: bfloat16 on CUDA, float32 on CPU")
    ap.add_argument("--only", default=None, help="run only checks whose name starts with this")
    a = ap.parse_args(argv)
    if not a.cpu and not torch.cuda.is_available():
        print("gpu-check: no CUDA device here; run with --cpu for the CPU smoke test", file=sys.stderr); return 2
    dev = torch.device("cpu" if a.cpu else "cuda")
    dtype = getattr(torch, a.dtype or ("float32" if a.cpu else "bfloat16"))
    name = torch.cuda.get_device_name(0) if dev.type == "cuda" else "CPU"
    rows, failed = [], 0
    with tempfile.TemporaryDirectory(prefix="research_kit-gpu-check-") as tmp:
        c = Ctx(dev, dtype, Path(tmp))
        for check_name, fn in CHECKS:
            if a.only and not check_name.startswith(a.only): continue
            c.sync(); t0 = time.perf_counter()
            try: note, ok = fn(c), True
            except Exception as e:
                note, ok = f"{type(e).__name__}: {str(e).splitlines()[0][:120] if str(e) else ''}", False
                traceback.print_exc(file=sys.stderr)
            c.sync(); dt = time.perf_counter() - t0
            failed += not ok
            rows.append((check_name, "ok" if ok else "FAIL", f"{dt:.2f}", note))
            print(f"  {'ok  ' if ok else 'FAIL'} {check_name} ({dt:.2f} s)", file=sys.stderr, flush=True)
    print(f"\n### gpu-check on {name} ({dev.type}, {str(dtype).removeprefix('torch.')}), torch {torch.__version__}\n")
    print("| check | result | seconds | note |\n|---|---|---:|---|")
    for r in rows: print("| " + " | ".join(x.replace("|", "/") for x in r) + " |")
    print(f"\n{len(rows) - failed}/{len(rows)} checks passed")
    return 1 if failed else 0

if __name__ == "__main__":
    sys.exit(main())
