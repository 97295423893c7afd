"""The family matrix: every verb on a tiny random model of every family the anatomy knows.

One parametrisation over `research_kit.models.TINY.names()`: adding a family to `TINY` adds it to every check here.
Pruning's rows live in tests/test_families_pruning.py."""
from functools import lru_cache

import pytest
import torch

from research_kit.models import TINY, anatomy, encode, save_model, tiny
from research_kit.probes import activations, all_sites, capture, forward, patch, steer

FAMILIES = TINY.names()
TEXTS = ["The cat sat on the mat.", "Hello there"]
CORRUPT = ["The dog sat on the rug.", "Hello where"]   # same length in bytes: same number of tokens


pytestmark = pytest.mark.usefixtures("one_thread")   # tests/conftest.py


@lru_cache(maxsize=None)
def model(family: str):
    "One tiny model per family, shared by the checks (none of them changes its weights)."
    return tiny(family)


@lru_cache(maxsize=None)
def captured(family: str):
    "Every site of the family's tiny model on TEXTS, captured once and shared by the checks (read only)."
    m, t = model(family)
    return activations(m, TEXTS, all_sites(m), tok=t, stop_after=None)


def output(m, inputs, t):
    "What the model outputs: the logits, or an encoder's last hidden state."
    with torch.no_grad(): o = forward(m, inputs, t)
    return o.logits if getattr(o, "logits", None) is not None else o.last_hidden_state


@pytest.mark.parametrize("family", FAMILIES)
def test_capture_equals_hf(family):
    "block_in.0 is HF's hidden_states[0], block.i its hidden_states[i+1] (after the final norm for the last block: final_norm), attn_pattern.i its attentions[i]."
    m, t = model(family)
    a = anatomy(m)
    with torch.no_grad(): ref = forward(m, TEXTS, t, output_hidden_states=True, output_attentions=True)
    acts = captured(family)
    assert len(ref.hidden_states) == a.n_layers + 1 and len(ref.attentions) == a.n_layers
    for i in range(a.n_layers):
        last = i == a.n_layers - 1 and a.final_norm is not None
        torch.testing.assert_close(acts["final_norm" if last else f"block.{i}"], ref.hidden_states[i + 1])
        torch.testing.assert_close(acts[f"attn_pattern.{i}"], ref.attentions[i])
    torch.testing.assert_close(acts["block_in.0"], ref.hidden_states[0])   # the embeddings as the first block receives them


@pytest.mark.parametrize("family", FAMILIES)
def test_every_site(family):
    "Every site the model has is captured as [batch, seq, ...] (patterns and masks [batch, heads|1, seq, seq]), finite; a pre-norm block adds its sub-layers to the residual stream."
    m, t = model(family)
    a = anatomy(m)
    from research_kit.probes import SITE_KINDS
    ids = t(TEXTS, return_tensors="pt", padding=True)["input_ids"]
    sites = all_sites(m)
    acts = captured(family)
    assert set(acts) == set(sites)
    for name, v in acts.items():
        kind = SITE_KINDS[name.split(".")[0]]
        if kind.module.__module__ != "research_kit.probes.hooks": continue   # kinds other modules register check their own shapes
        d = kind.seq_dim
        batch = (1, ids.shape[0]) if name == "pos_embed" else (ids.shape[0],)   # BERT's position embeddings are shared by the batch
        assert v.shape[0] in batch and v.shape[d] == ids.shape[1] and torch.isfinite(v).all(), (name, v.shape)
    if a.pre_norm and not a.has("attn_post_norm"):   # block = block_in + attn_out + mlp (parallel or sequential)
        for i in range(a.n_layers):
            torch.testing.assert_close(acts[f"block_in.{i}"] + acts[f"attn_out.{i}"] + acts[f"mlp.{i}"], acts[f"block.{i}"], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("family", FAMILIES)
def test_heads_sum_to_attn_out(family):
    "The heads of a layer plus the output projection's bias sum to the attention output."
    m, t = model(family)
    a = anatomy(m)
    acts = captured(family)
    for i in range(a.n_layers):
        bias = getattr(a.o(i), "bias", None)
        heads = sum(acts[f"head.{i}.{h}"] for h in range(a.n_heads)) + (bias if bias is not None else 0)
        torch.testing.assert_close(heads, acts[f"attn_out.{i}"], atol=1e-5, rtol=1e-5)
        assert acts[f"head.{i}.0"].abs().max() > 0


@pytest.mark.parametrize("family", FAMILIES)
def test_new_parts(family):
    "Sandwich norms: block = block_in + attn_post_norm + mlp_post_norm (+ the parallel MLP); MoE: the experts sum to the MLP output."
    m, t = model(family)
    a = anatomy(m)
    kinds = {s.split(".")[0] for s in all_sites(m)}
    assert ("attn_post_norm" in kinds) == a.has("attn_post_norm") and ("router" in kinds) == a.has("router")
    assert ("q_norm" in kinds) == a.has("q_norm") and ("expert" in kinds) == (a.n_experts is not None)
    if a.has("attn_post_norm"):
        acts = captured(family)
        torch.testing.assert_close(acts["block_in.1"] + acts["attn_post_norm.1"] + acts["mlp_post_norm.1"], acts["block.1"])
    if a.n_experts:
        acts = captured(family)
        b, s = t(TEXTS, return_tensors="pt", padding=True)["input_ids"].shape
        for i in range(a.n_layers):
            assert acts[f"router.{i}"].shape == (b, s, a.n_experts)
            torch.testing.assert_close(sum(acts[f"expert.{i}.{e}"] for e in range(a.n_experts)), acts[f"mlp.{i}"])
    if a.has("q_norm"):   # [batch, seq, ...] whichever way the model lays out its heads; patching with a changed value changes the output
        ids = t(TEXTS, return_tensors="pt", padding=True)["input_ids"]
        acts = captured(family)
        assert acts["q_norm.0"].shape[:2] == acts["k_norm.0"].shape[:2] == ids.shape
        base = output(m, TEXTS, t)
        with patch(m, {"q_norm.0": acts["q_norm.0"]}): torch.testing.assert_close(output(m, TEXTS, t), base)
        with patch(m, {"q_norm.0": acts["q_norm.0"]}, positions=[-1]): torch.testing.assert_close(output(m, TEXTS, t), base)
        with patch(m, {"k_norm.0": lambda k: k.roll(1, dims=1)}): assert not torch.allclose(output(m, TEXTS, t), base)


def _patch_sites(a) -> list[str]:
    "Sites that cut the whole residual stream (block) or each sub-layer and head of one middle layer."
    i = a.n_layers // 2
    return [f"block.{i}", f"head.{i}.1", f"mlp.{i}", f"v.{i}",   # v: a slice (or GPT-NeoX's per-head index) of a fused projection
            *([f"expert.{i}.1"] if a.n_experts else []), *([f"attn_post_norm.{i}"] if a.has("attn_post_norm") else [])]


@pytest.mark.parametrize("family", FAMILIES)
def test_patch_restores_clean(family):
    "Patching the clean run's activation into the corrupted run: at a block (every position) the clean output comes back exactly; at every other site the run changes, and patching its own value changes nothing."
    m, t = model(family)
    a = anatomy(m)
    assert t(TEXTS, return_tensors="pt", padding=True)["input_ids"].shape == t(CORRUPT, return_tensors="pt", padding=True)["input_ids"].shape
    sites = _patch_sites(a)
    clean_acts = captured(family)
    corrupt_acts = activations(m, CORRUPT, sites, tok=t, stop_after=None)
    clean, corrupt = output(m, TEXTS, t), output(m, CORRUPT, t)
    assert not torch.allclose(clean, corrupt)
    with patch(m, {sites[0]: clean_acts[sites[0]]}): torch.testing.assert_close(output(m, CORRUPT, t), clean)   # the whole residual stream
    for s in sites:
        with patch(m, {s: clean_acts[s]}): y = output(m, CORRUPT, t)
        assert not torch.equal(y, corrupt), s   # the clean value reaches the output
        with patch(m, {s: corrupt_acts[s]}): torch.testing.assert_close(output(m, CORRUPT, t), corrupt, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("family", FAMILIES)
def test_steer(family):
    "Steering the residual stream changes the output; alpha=0 leaves it exactly as it was."
    m, t = model(family)
    a = anatomy(m)
    base = output(m, TEXTS, t)
    v = torch.randn(a.d_model, generator=torch.Generator().manual_seed(0))
    for site in [f"block.{a.n_layers // 2}", f"mlp.0"]:
        with steer(m, site, v, alpha=0.0): assert torch.equal(output(m, TEXTS, t), base)
        with steer(m, site, v, alpha=4.0): assert (output(m, TEXTS, t) - base).abs().max() > 1e-3
    if a.n_experts:
        with steer(m, "expert.0.2", v, alpha=4.0), capture(m, ["mlp.0"]) as got: forward(m, TEXTS, t)
        with capture(m, ["mlp.0"]) as ref: forward(m, TEXTS, t)
        torch.testing.assert_close(got["mlp.0"], ref["mlp.0"] + 4.0 * v, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("family", FAMILIES)
def test_locate_and_steering_verbs(family):
    "probes.locate and probes.steering on the family: a patching sweep recovers the clean metric at the last block, attribution patching scores every head, uniform head masking gives uniform attention, contrast vectors have d_model entries."
    from research_kit.probes.locate import attribution_patching, patching_sweep
    from research_kit.probes.steering import contrast_vectors, mask_heads
    m, t = model(family)
    a = anatomy(m)
    metric = lambda o: o[:, -1, 1].float().sum()   # one coordinate: a sum over a LayerNorm output is constant
    sweep = patching_sweep(m, TEXTS, CORRUPT, metric, tok=t, kinds=("block",), per_position=False)
    assert sweep.height == a.n_layers and abs(sweep["recovered"][-1] - 1) < 1e-4
    attr = attribution_patching(m, TEXTS, CORRUPT, metric, tok=t, kinds=("head",), per_position=False)
    assert attr.height == a.n_layers * a.n_heads and attr["effect"].abs().max() > 0
    with torch.no_grad(), mask_heads(m, [(1, 2)], "uniform"), capture(m, "attn_pattern.1") as got: forward(m, TEXTS[:1], t)
    p = got["attn_pattern.1"][0, 2]
    torch.testing.assert_close(p, (p > 0).float() / (p > 0).sum(-1, keepdim=True))
    v = contrast_vectors(m, t, ["good day", "nice one"], ["bad day!", "vile one"], "block.0")["block.0"]
    assert v.shape == (a.d_model,) and v.norm() > 0


# ---- the three widgets ----

@pytest.mark.parametrize("family", FAMILIES)
def test_attention_widget(family):
    "viz.attention: the attention data of a prompt, drawn as the flow view (Sankey) and the heads view."
    from research_kit.viz import AttentionWidget, attention_data
    m, t = model(family)
    d = attention_data(m, "a short prompt", t)
    assert len(d["attentions"]) == anatomy(m).n_layers and len(d["tokens"]) == d["attentions"][0].shape[-1]
    w = AttentionWidget(d["attentions"], d["tokens"], view="flow")
    fig = w.figure()
    assert fig.data and fig.data[0].type == "sankey" and len(fig.data[0].link.value) > 0
    w.view.value = "heads"
    assert w.figure().data


@pytest.mark.parametrize("family", FAMILIES)
def test_embedding_widget(family):
    "viz.geometry: the model's sentence embeddings drawn as a map."
    from research_kit.viz import EmbeddingWidget
    m, t = model(family)
    texts = [f"text number {i} about {w}" for i, w in enumerate(["cats", "dogs", "rain", "sun", "tea", "code"] * 2)]
    e = encode(m, t, texts, pooling="last" if anatomy(m).family.causal else "mean")
    assert e.shape == (len(texts), anatomy(m).d_model) and torch.isfinite(e).all()
    fig = EmbeddingWidget(e, texts, labels=[i % 6 for i in range(len(texts))]).figure()
    assert fig.data and sum(len(tr.x) for tr in fig.data if getattr(tr, "x", None) is not None) >= len(texts)


@pytest.mark.parametrize("family", FAMILIES)
def test_gradient_widget(family):
    "viz.gradients: two optimiser steps on a copy of the model recorded per layer, drawn as the dynamics view."
    import copy
    from research_kit.viz import GradientWidget, record_gradients
    m, t = model(family)
    m = copy.deepcopy(m).train()
    a = anatomy(m)
    opt = torch.optim.SGD(m.parameters(), lr=1e-3)
    x = t(TEXTS, return_tensors="pt", padding=True)
    with record_gradients(m) as rec:
        for _ in range(2):
            out = m(**x)
            loss = out.logits.float().logsumexp(-1).mean() if getattr(out, "logits", None) is not None else out.last_hidden_state.pow(2).mean()
            opt.zero_grad(); loss.backward(); opt.step()
    table = rec.table()
    assert {f"block.{i}" for i in range(a.n_layers)} <= set(table["group"].to_list()) and table["step"].max() == 2
    w = GradientWidget(table, view="dynamics")
    assert w.figure().data


# ---- merging and KV presses ----

@pytest.mark.parametrize("family", FAMILIES)
def test_merge_reloads(family, tmp_path):
    "A linear merge of two tiny models of the family writes a folder that from_pretrained reloads, with the averaged weights."
    from research_kit.merging import merge
    m0, t = model(family)
    m1, _ = tiny(family, seed=1)
    f0, f1 = save_model(m0, t, tmp_path / "m0"), save_model(m1, t, tmp_path / "m1")
    out = merge([f0, f1], method="linear", out=tmp_path / "merged", progress=False)
    from transformers import AutoConfig, AutoModel, AutoModelForCausalLM
    causal = anatomy(m0).unembed is not None
    r = (AutoModelForCausalLM if causal else AutoModel).from_pretrained(out, attn_implementation="eager").eval()
    assert AutoConfig.from_pretrained(out).model_type == m0.config.model_type
    sd0, sd1, sdr = m0.state_dict(), m1.state_dict(), r.state_dict()
    a = anatomy(r)
    name = next(n for n, p in r.named_parameters() if p is a.o(0).weight)
    torch.testing.assert_close(sdr[name], (sd0[name] + sd1[name]) / 2)
    assert torch.isfinite(output(r, TEXTS, t)).all()


@pytest.mark.parametrize("family", FAMILIES)
def test_kv_press_decodes(family):
    "A KV press decodes on every causal family with rotary or learned positions; a budget past the prompt changes nothing; other families are refused with a clear error."
    from research_kit.pruning import PRESSES, greedy
    m, t = model(family)
    a = anatomy(m)
    prompts = ["hello there my friend, how are you today?", "hi"]
    if not a.family.causal:
        with pytest.raises(ValueError, match="model: expected a causal LM"): PRESSES["snapkv"](m, budget=8)
        return
    sliding = any("sliding" in x for x in (a.layer_types or []))
    try: small = PRESSES["snapkv"](m, budget=8, window=4)
    except ValueError as e:
        assert sliding and "model: expected" in str(e) and "sliding" in str(e), str(e)   # only sliding-window models may be refused
        return
    base, _ = greedy(m, t, prompts, max_new_tokens=4)
    texts, times = greedy(m, t, prompts, max_new_tokens=4, press=small)
    assert len(texts) == 2 and len(times) == 3
    same, _ = greedy(m, t, prompts, max_new_tokens=4, press=PRESSES["snapkv"](m, budget=256, window=4))
    assert same == base


# ---- a model bigger than its memory ----

@pytest.mark.parametrize("family", FAMILIES)
def test_offloaded_equals(family, tmp_path):
    "The model saved and reloaded with every block offloaded to disk (accelerate) gives the same captures at every site, and the same patched and steered output."
    from research_kit.models import load
    m, t = model(family)
    d, dt = load(save_model(m, t, tmp_path / "m"), device_map="auto", max_memory={"cpu": "20KB"})
    assert set(d.hf_device_map.values()) == {"disk"} and anatomy(d).o(1).weight.device.type == "meta"
    sites = all_sites(m)
    want = captured(family)
    got = activations(d, TEXTS, sites, tok=dt, stop_after=None)
    for k in want: torch.testing.assert_close(got[k], want[k], atol=1e-5, rtol=1e-5)
    changed = [s for s in sites if s.startswith(("head.1.", "expert.1.", "q_norm.1", "mlp_hidden.1"))][:4]
    v = torch.randn(anatomy(m).d_model, generator=torch.Generator().manual_seed(0))
    outs = []
    for mm, tt in [(m, t), (d, dt)]:
        with patch(mm, {s: 2 * want[s] for s in changed}), steer(mm, "block.0", v): outs.append(output(mm, TEXTS, tt))
    torch.testing.assert_close(outs[1], outs[0], atol=1e-5, rtol=1e-5)
    assert not torch.allclose(outs[0], output(m, TEXTS, t), atol=1e-4)
    from research_kit.probes.locate import attribution_patching, logit_lens   # gradients flow through the dispatch hooks
    metric = lambda o: o[:, -1, 1].float().sum()
    attr = [attribution_patching(mm, TEXTS, CORRUPT, metric, tok=tt, kinds=("head",), per_position=False)["effect"].to_torch() for mm, tt in [(m, t), (d, dt)]]
    torch.testing.assert_close(attr[1], attr[0], atol=1e-5, rtol=1e-4)
    if anatomy(m).unembed is not None:
        lens = [logit_lens(mm, tt, "abcab")["target_prob"].to_torch() for mm, tt in [(m, t), (d, dt)]]
        torch.testing.assert_close(lens[1], lens[0], atol=1e-6, rtol=1e-5)
