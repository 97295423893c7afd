"""The pruning rows of the family matrix: for every `models.TINY` family, `remove_blocks`, `prune_heads`, `prune_channels`
(`slice_channels`) and, for a mixture of experts, `prune_experts` give a smaller model that saves with `models.save_model` and
reloads with `from_pretrained` (and `models.load`) to the same outputs, and that equals an independent reference computed on
the dense model (heads: their slice of the output projection's input zeroed; channels: their activation zeroed; experts: their
router logits set to -inf). Adding a family to `TINY` adds it here."""
import importlib

import pytest
import torch
from torch import nn

from research_kit.models import TINY, anatomy, load, save_model, tiny
from research_kit.pruning import prune_channels, prune_experts, prune_heads, remove_blocks, slice_channels, widths, expert_counts

FAMILIES = TINY.names()
ATOL = 1e-5


pytestmark = pytest.mark.usefixtures("one_thread")   # tests/conftest.py


@pytest.fixture(scope="module")
def models():
    "One tiny model (eval, seed 0) and tokenizer per family, built once."
    cache = {}
    def get(fam):
        if fam not in cache: cache[fam] = tiny(fam)
        return cache[fam]
    return get


def _inputs(tok):
    return tok(["the quick brown fox jumps over the lazy dog"], return_tensors="pt")


def _out(model, x) -> torch.Tensor:
    with torch.no_grad():
        o = model(**x)
    return o.logits if getattr(o, "logits", None) is not None else o.last_hidden_state


def _n_params(model) -> int:
    return sum(p.numel() for p in model.parameters())


def _reloads(model, tok, x, tmp_path, remote: bool, rk_load: bool = False):
    "Save with models.save_model; reload with AutoModel*.from_pretrained (and with models.load): the model's outputs again."
    from transformers import AutoModel, AutoModelForCausalLM
    folder = save_model(model, tok, tmp_path / "pruned", what="pruned model")
    auto = AutoModelForCausalLM if anatomy(model).unembed is not None else AutoModel
    want = _out(model, x)
    back = auto.from_pretrained(folder, trust_remote_code=remote)
    assert torch.allclose(_out(back.eval(), x), want, atol=ATOL)
    if rk_load:
        back, _ = load(folder)   # research_kit's own modeling file comes from the package: no remote code
        assert torch.allclose(_out(back, x), want, atol=ATOL)


def _hooked(model, x, hooks) -> torch.Tensor:
    "The model's outputs with (module, kind, fn) hooks in place."
    handles = [getattr(mod, f"register_forward_{kind}hook")(fn, with_kwargs=fn.__code__.co_argcount == 4) for mod, kind, fn in hooks]
    try: return _out(model, x)
    finally:
        for h in handles: h.remove()


def _zero_features(keep_mask: torch.Tensor):
    "A forward pre-hook multiplying the module's input features by a 0/1 mask."
    return lambda mod, args: (args[0] * keep_mask.to(args[0].dtype), *args[1:])


def _kept_rms(kept: torch.Tensor):
    "A forward hook recomputing an RMS norm over the kept features only (OLMo 2's whole-projection q/k norms after pruning)."
    def hook(mod, args, out):
        x = args[0][..., kept].float()
        eps = getattr(mod, "variance_epsilon", getattr(mod, "eps", 1e-6))
        y = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * mod.weight[kept].float()
        out = out.clone(); out[..., kept] = y.to(out.dtype)
        return out
    return hook


@pytest.mark.parametrize("fam", FAMILIES)
def test_remove_blocks(fam, models, tmp_path):
    m, tok = models(fam)
    x = _inputs(tok)
    small = remove_blocks(m, [1])
    assert anatomy(small).n_layers == anatomy(m).n_layers - 1 and _n_params(small) < _n_params(m)
    def skip(mod, args, kwargs, out):   # the reference: the dense model with block 1 passing its input through
        h = args[0] if args else kwargs["hidden_states"]
        return (h, *out[1:]) if isinstance(out, tuple) else h
    ref = _hooked(m, x, [(anatomy(m).block(1), "", skip)])
    assert torch.allclose(ref, _out(small, x), atol=ATOL) and not torch.allclose(ref, _out(m, x), atol=1e-3)
    _reloads(small, tok, x, tmp_path, remote=False)   # the stock class: nothing but transformers


def _head_plan(m) -> dict:
    "Layer 0 loses its last key/value group; layer 1 one query head per group (or one head without GQA)."
    (h, kv, _), (h1, kv1, _) = widths(m)[:2]
    g, g1 = h // kv, h1 // kv1
    return {0: list(range(h - g, h)), 1: [j * g1 for j in range(kv1)] if g1 > 1 else [0]}


@pytest.mark.parametrize("fam", FAMILIES)
def test_prune_heads(fam, models, tmp_path):
    m, tok = models(fam)
    a, x = anatomy(m), _inputs(tok)
    plan = _head_plan(m)
    p = prune_heads(m, plan)
    assert _n_params(p) < _n_params(m) and p.heads_removed == plan
    assert [w[0] for w in widths(p)[:2]] == [w[0] - len(plan[i]) for i, w in enumerate(widths(m)[:2])]
    hooks, d = [], a.d_head
    for i, drop in plan.items():
        h, kv, _ = widths(m)[i]
        mask = torch.ones(h * d)
        for q in drop: mask[q * d:(q + 1) * d] = 0
        hooks.append((a.o(i), "pre_", _zero_features(mask)))   # knockout: the heads' slice of o's input zeroed
        for site, n, per in ((f"q_norm.{i}", h, 1), (f"k_norm.{i}", kv, h // kv)):
            if a.path(site) is not None and a.module(site).weight.numel() == n * d != d:   # a norm over the whole projection
                kept = [j for j in range(n) if not all(q in drop for q in range(j * per, (j + 1) * per))]
                hooks.append((a.module(site), "", _kept_rms((torch.tensor(kept)[:, None] * d + torch.arange(d)).flatten())))
    assert torch.allclose(_hooked(m, x, hooks), _out(p, x), atol=ATOL)
    _reloads(p, tok, x, tmp_path, remote=True, rk_load=True)
    # probes on the pruned model see each layer's own heads, and they still sum to the attention output
    from research_kit.probes import activations, all_sites
    ap = anatomy(p)
    acts = activations(p, x, sites=[f"head.{i}.*" for i in plan] + [f"attn_out.{i}" for i in plan], stop_after=None)
    for i in plan:
        n = ap.widths(i)["heads"]
        assert n == widths(m)[i][0] - len(plan[i]) and len([s for s in all_sites(p, "head") if s.startswith(f"head.{i}.")]) == n
        bias = ap.o(i).bias if ap.o(i).bias is not None else 0
        assert torch.allclose(sum(acts[f"head.{i}.{h}"] for h in range(n)) + bias, acts[f"attn_out.{i}"], atol=ATOL)


@pytest.mark.parametrize("fam", FAMILIES)
def test_prune_channels(fam, models, tmp_path):
    m, tok = models(fam)
    a, x = anatomy(m), _inputs(tok)
    f = widths(m)[0][2]
    keep = {0: list(range(0, f, 2)), 1: list(range(f // 4))}
    p = slice_channels(m, keep)
    assert _n_params(p) < _n_params(m) and [w[2] for w in widths(p)[:2]] == [f // 2, f // 4]
    masks = {}
    for i, k in keep.items(): masks[i] = torch.zeros(f); masks[i][k] = 1
    if a.n_experts is None:
        ref = _hooked(m, x, [(a.mlp_out(i), "pre_", _zero_features(masks[i])) for i in keep])   # the channels' activation zeroed
        q = prune_channels(m, {0: 0.5, 1: 0.25}, "magnitude", progress=False)
        assert [w[2] for w in widths(q)[:2]] == [f // 2, f // 4]
    else:   # every expert keeps the same channels: mask the experts' activation
        acts = {i: a.experts(i).act_fn for i in keep}
        class Masked(nn.Module):
            def __init__(self, act, mask): super().__init__(); self.act, self.mask = act, mask
            def forward(self, t): return self.act(t) * self.mask
        try:
            for i in keep: a.experts(i).act_fn = Masked(acts[i], masks[i])
            ref = _out(m, x)
        finally:
            for i in keep: a.experts(i).act_fn = acts[i]
        with pytest.raises(ValueError, match="prune_experts"): prune_channels(m, 0.5, "magnitude", progress=False)
    assert torch.allclose(ref, _out(p, x), atol=ATOL)
    _reloads(p, tok, x, tmp_path, remote=True)


@pytest.mark.parametrize("fam", FAMILIES)
def test_prune_experts(fam, models, tmp_path):
    m, tok = models(fam)
    a, x = anatomy(m), _inputs(tok)
    if a.n_experts is None:
        with pytest.raises(ValueError, match="mixture-of-experts"): prune_experts(m, {0: [0]})
        return
    drop = {0: [1], 1: [0, a.n_experts - 1]}
    p = prune_experts(m, drop)
    assert expert_counts(p)[:2] == [a.n_experts - 1, a.n_experts - 2] and _n_params(p) < _n_params(m)
    # the reference: the dense model whose router logits for the dropped experts are -inf (its F.linear, masked)
    rows = {id(a.router(i).weight): torch.tensor(d) for i, d in drop.items()}
    mod = importlib.import_module(type(a.router(0)).__module__)
    F0 = mod.F
    class MaskedF:
        def __getattr__(self, n): return getattr(F0, n)
        def linear(self, inp, w, b=None):
            y = F0.linear(inp, w, b)
            return y.index_fill(-1, rows[id(w)], float("-inf")) if id(w) in rows else y
    mod.F = MaskedF()
    try: ref = _out(m, x)
    finally: mod.F = F0
    assert torch.allclose(ref, _out(p, x), atol=ATOL) and not torch.allclose(_out(m, x), ref, atol=1e-3)   # and it did change something
    with pytest.raises(ValueError, match=f"top_k={a.top_k_experts}"): prune_experts(m, {0: list(range(a.n_experts - a.top_k_experts + 1))})
    _reloads(p, tok, x, tmp_path, remote=True)


# the layouts furthest from Llama (a per-layer config view, whole-projection norms, experts, per-head interleaving, Conv1D, an
# encoder): their saved folders load in a process that never imports research_kit (the matrix above reloads every family
# in-process, through the saved modeling file too)
LAYOUTS = ["phi3", "olmo2", "qwen3_moe", "gpt_neox", "gpt2", "modernbert"]


def test_saved_folders_need_only_transformers(models, tmp_path):
    import json, os, subprocess, sys
    want = {}
    for fam in LAYOUTS:
        m, tok = models(fam)
        x = _inputs(tok)
        p = prune_heads(slice_channels(m, {1: list(range(widths(m)[1][2] // 2))}), {0: _head_plan(m)[0]})
        assert type(p).__name__.startswith("RKPruned")
        save_model(p, tok, tmp_path / fam, what="pruned model")
        torch.save(x["input_ids"], tmp_path / f"{fam}.ids")
        want[fam] = _out(p, {"input_ids": x["input_ids"]})
    code = f"""
import json, sys, torch
torch.set_num_threads(1)
from transformers import AutoConfig, AutoModel, AutoModelForCausalLM
for fam in {LAYOUTS!r}:
    folder = {str(tmp_path)!r} + "/" + fam
    auto = AutoModelForCausalLM if "AutoModelForCausalLM" in AutoConfig.from_pretrained(folder).auto_map else AutoModel
    m = auto.from_pretrained(folder, trust_remote_code=True).eval()
    with torch.no_grad(): o = m(input_ids=torch.load(folder + ".ids"))
    torch.save(o.logits if getattr(o, "logits", None) is not None else o.last_hidden_state, folder + ".out")
assert not any(k.startswith("research_kit") for k in sys.modules)
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert r.returncode == 0, r.stderr[-3000:]
    for fam in LAYOUTS: assert torch.allclose(torch.load(tmp_path / f"{fam}.out"), want[fam], atol=ATOL), fam


def test_offloaded_model(models, tmp_path):
    "A model whose weights accelerate offloaded to disk: data-free importances read the offloaded weights (equal to the plain model's); "
    "what needs the weights in memory (Taylor's gradients, building the smaller model) says so."
    from research_kit.pruning import channel_importance, head_importance
    m, tok = models("llama")
    save_model(m, tok, tmp_path / "m")
    d, _ = load(tmp_path / "m", device_map="auto", max_memory={"cpu": "60KB"}, offload_folder=str(tmp_path / "offload"))
    assert any(p.is_meta for p in d.parameters())   # really offloaded
    for fn in (head_importance, channel_importance):
        got, want = (fn(x, scorer="magnitude", progress=False)["importance"].to_torch() for x in (d, m))
        assert torch.allclose(got, want)
    with pytest.raises(ValueError, match="in memory"): head_importance(d, tok, ["a b c"], scorer="taylor", progress=False)
    with pytest.raises(ValueError, match="in memory"): prune_heads(d, {0: [0, 1]})
