"""A model bigger than its memory: SmolLM2 dispatched by accelerate with CPU and disk offload gives the plain model's
captures (head sites and attention patterns included), patches and steering; widgets draw on it.

`load("smollm2-135m", device_map="auto", max_memory={"cpu": "150MB"})` keeps the first blocks in memory and offloads
the rest to disk: their weights sit on the meta device outside each module's forward (accelerate's hook loads them
inside and drops them after), so anything that reads weights from a hook (the head site) goes through
`probes.hooks.param_of`. A forward pass costs seconds here, so each test runs as few as it can."""
import pytest
import torch

from research_kit.models import anatomy, load
from research_kit.probes import activations, capture, forward, patch, steer

TEXTS = ["The Eiffel Tower is in the city of", "Water boils at"]
OTHER = ["The Colosseum is found in the city of", "Iron melts at"]
SITES = ["block_in.0", "block.*", "head.0.*", "head.20.*", "attn_out.20", "attn_pattern.5", "attn_pattern.29", "z.25", "q.25", "k.25",
         "mlp_hidden.27", "mlp.27", "final_norm", "unembed"]
PATCHED = ["head.25.2", "block.12", "mlp.28"]


pytestmark = pytest.mark.usefixtures("one_thread")   # tests/conftest.py


@pytest.fixture(scope="module")
def models():
    plain, tok = load("smollm2-135m")
    dispatched, _ = load("smollm2-135m", device_map="auto", max_memory={"cpu": "150MB"})
    return plain, dispatched, tok


@pytest.fixture(scope="module")
def vector(models):
    return torch.randn(anatomy(models[0]).d_model, generator=torch.Generator().manual_seed(0))


@pytest.fixture(scope="module")
def plain_runs(models, vector):
    "The plain model's references: captures, another run's values at PATCHED, and the patched + steered logits."
    p, _, tok = models
    acts = activations(p, TEXTS, SITES, tok=tok, stop_after=None)
    src = activations(p, OTHER, PATCHED, tok=tok, stop_after=None)
    with torch.no_grad(), patch(p, src, positions=[-1]), steer(p, "block.15", vector, alpha=4.0):
        changed = forward(p, TEXTS, tok).logits
    return acts, src, changed


def _close(x, y):
    torch.testing.assert_close(x, y, atol=1e-5, rtol=1e-5)


def test_really_offloaded(models):
    "The dispatched model keeps some blocks on disk: their weights are on the meta device outside forward."
    _, d, _ = models
    assert "disk" in set(d.hf_device_map.values()), d.hf_device_map
    a = anatomy(d)
    assert a.o(29).weight.device.type == "meta" and a.mlp_out(29).weight.device.type == "meta"


def test_captures_equal(models, plain_runs, vector):
    "Every captured site (blocks, heads, patterns, q/k/z, MLP hidden, logits) equals the plain model's, under a steer with alpha=0."
    _, d, tok = models
    want = plain_runs[0]
    with torch.no_grad(), steer(d, "block.15", vector, alpha=0.0), capture(d, SITES) as got: forward(d, TEXTS, tok)
    assert set(got) == set(want) and len(got) > 40
    for k in want: _close(got[k], want[k])
    a = anatomy(d)   # the heads read the offloaded output projection's weight and still sum to attn_out
    _close(sum(got[f"head.20.{h}"] for h in range(a.n_heads)), got["attn_out.20"])
    early = activations(d, TEXTS, ["block.3"], tok=tok)   # early stop inside a dispatched model
    _close(early["block.3"], want["block.3"])


def test_patch_and_steer_equal(models, plain_runs, vector):
    "Patching a head, a block and an MLP with another run's values while steering gives the plain model's logits."
    _, d, tok = models
    acts, src, want = plain_runs
    assert not torch.allclose(want, acts["unembed"], atol=1e-3)   # the patches and the steer change the output
    with torch.no_grad(), patch(d, src, positions=[-1]), steer(d, "block.15", vector, alpha=4.0):
        got = forward(d, TEXTS, tok).logits
    _close(got, want)


def test_widget_on_dispatched(models, plain_runs):
    "viz.attention reads the same attentions from the dispatched model (as the plain model's captures) and draws them."
    from research_kit.viz import AttentionWidget, attention_data
    _, d, tok = models
    got = attention_data(d, TEXTS[1], tok)
    n = len(got["tokens"])   # TEXTS[1] is the shorter, left-padded row of the plain batch: its real tokens are the last n
    for i in (5, 29): _close(got["attentions"][i][0], plain_runs[0][f"attn_pattern.{i}"][1, :, -n:, -n:])
    assert AttentionWidget(got["attentions"], got["tokens"], view="rollout").figure().data


@pytest.mark.parametrize("what", ["head_importance", "channel_importance"])
def test_pruning_calibration_on_dispatched(models, what):
    "Pruning's calibration (wanda: activations on calibration text, weights read from the offload map) gives the plain model's importances; taylor, which needs weight gradients, is refused by name."
    import research_kit.pruning as pruning
    p, d, tok = models
    fn = getattr(pruning, what)
    texts = ["The cat sat on the mat and looked at the dog."]
    got = fn(d, tok, texts, scorer="wanda", max_length=8, progress=False)["importance"].to_torch()
    want = fn(p, tok, texts, scorer="wanda", max_length=8, progress=False)["importance"].to_torch()
    _close(got, want)
    with pytest.raises(ValueError, match="taylor"): fn(d, tok, texts, scorer="taylor", max_length=8, progress=False)
