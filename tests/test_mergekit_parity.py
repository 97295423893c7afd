"""Parity with mergekit 0.1.5 (slow): the same YAML gives the same tensors, to 1e-6, for linear, task arithmetic,
TIES, DARE (linear and TIES, seeded), breadcrumbs, SLERP and Model Stock, each config with a layer gradient (a list
value) and a filter (self_attn / mlp).

Inputs are tiny Llama models saved as Hugging Face folders: a base and three "fine-tunes" (the base plus seeded
Gaussian noise of 2%, 30% and 60% of each tensor's std, so SLERP takes its spherical branch on most tensors and
its linear branch on some). Three sets: the default tiny model (every tensor under 65,536 entries, where TIES
trims with mergekit's own full sort), a wider one (tensors of 131,072 entries and more, where TIES uses our
linear-time top-k), and the wider one saved in bfloat16, whose task vectors hold so many equal magnitudes that ties
straddle TIES's cut: there `argsort_ties=True` lets mergekit's own sort choose among them (by default we keep the
lower indices, which differ from mergekit's unstable sort on such tensors).

DARE's random draws: mergekit seeds torch's global generator once (`--random-seed`) and draws one
`torch.bernoulli` mask per model and tensor, in the checkpoint's tensor order. `draws="mergekit"` does the same
with one generator of ours (on one worker), so the masks and the outputs agree. The other methods run with the
engine's defaults (two tensors at a time, written out of order).

mergekit runs through its Python API (`run_merge`, CPU) in this process; it is a dev requirement only.
Run: `.venv/bin/python -m pytest -q --runslow tests/test_mergekit_parity.py`."""
import json
from pathlib import Path

import pytest
import torch

pytestmark = pytest.mark.slow

SEED = 7

CONFIGS = {
 "linear": """models:
  - model: {m1}
    parameters: {{weight: [1.0, 0.5]}}
  - model: {m2}
    parameters: {{weight: [{{filter: self_attn, value: 0.3}}, {{value: 1.0}}]}}
merge_method: linear
parameters: {{normalize: true}}
dtype: float32
""",
 "task_arithmetic": """models:
  - model: {m0}
  - model: {m1}
    parameters: {{weight: [0.2, 1.0]}}
  - model: {m2}
    parameters: {{weight: [{{filter: mlp, value: 0.8}}, {{value: 0.5}}]}}
  - model: {m3}
    parameters: {{weight: 0.3}}
merge_method: task_arithmetic
base_model: {m0}
parameters: {{lambda: 0.9}}
dtype: float32
""",
 "ties": """models:
  - model: {m0}
  - model: {m1}
    parameters: {{weight: 1.0, density: [0.3, 0.9]}}
  - model: {m2}
    parameters: {{weight: [{{filter: self_attn, value: 0.7}}, {{value: 1.0}}], density: [{{filter: mlp, value: 0.5}}, {{value: 0.7}}]}}
  - model: {m3}
    parameters: {{weight: 0.8, density: 0.6}}
merge_method: ties
base_model: {m0}
parameters: {{normalize: true}}
dtype: float32
""",
 "dare_ties": """models:
  - model: {m0}
  - model: {m1}
    parameters: {{weight: 1.0, density: [0.4, 0.8]}}
  - model: {m2}
    parameters: {{weight: [{{filter: mlp, value: 0.6}}, {{value: 1.0}}], density: [{{filter: self_attn, value: 0.5}}, {{value: 0.7}}]}}
  - model: {m3}
    parameters: {{weight: 0.5, density: 0.6}}
merge_method: dare_ties
base_model: {m0}
dtype: float32
""",
 "dare_linear": """models:
  - model: {m0}
  - model: {m1}
    parameters: {{weight: [0.5, 1.0], density: 0.5}}
  - model: {m2}
    parameters: {{weight: 0.5, density: [{{filter: mlp, value: 0.3}}, {{value: [0.9, 0.6]}}]}}
merge_method: dare_linear
base_model: {m0}
dtype: float32
""",
 "breadcrumbs": """models:
  - model: {m0}
  - model: {m1}
    parameters: {{weight: 1.0, density: [0.6, 0.9], gamma: 0.02}}
  - model: {m2}
    parameters: {{weight: [{{filter: mlp, value: 0.5}}, {{value: 1.0}}], density: 0.8, gamma: [{{filter: self_attn, value: 0.05}}, {{value: 0.01}}]}}
merge_method: breadcrumbs
base_model: {m0}
dtype: float32
""",
 "slerp": """models:
  - model: {m0}
  - model: {m2}
merge_method: slerp
base_model: {m0}
parameters:
  t: [{{filter: self_attn, value: [0.0, 0.5, 0.3, 0.7, 1.0]}}, {{filter: mlp, value: [1.0, 0.5, 0.7, 0.3, 0.0]}}, {{value: 0.5}}]
dtype: float32
""",
 "model_stock": """models:
  - model: {m0}
  - model: {m1}
  - model: {m2}
  - model: {m3}
merge_method: model_stock
base_model: {m0}
parameters:
  filter_wise: [{{filter: mlp, value: true}}, {{value: false}}]
dtype: float32
""",
}


def _models(root: Path, dtype: torch.dtype = torch.float32, **cfg) -> dict[str, Path]:
    "A tiny Llama base and three seeded perturbations of it (2%, 30%, 60% of each tensor's std), saved as folders."
    from research_kit.models import tiny
    base, tok = tiny("llama", seed=0, num_hidden_layers=4, **cfg)
    sd = base.state_dict()
    out = {}
    for i, scale in enumerate([0.0, 0.02, 0.3, 0.6]):
        p = root / f"m{i}"
        m, _ = tiny("llama", seed=0, num_hidden_layers=4, **cfg)
        g = torch.Generator().manual_seed(100 + i)
        m.load_state_dict({k: v + scale * v.std().clamp(min=1e-3) * torch.randn(v.shape, generator=g) for k, v in sd.items()})
        m.to(dtype).save_pretrained(p); tok.save_pretrained(p)
        out[f"m{i}"] = p
    return out


def _mergekit(yml: Path, out: Path) -> None:
    import yaml
    from mergekit.config import MergeConfiguration
    from mergekit.merge import run_merge
    from mergekit.options import MergeOptions
    cfg = MergeConfiguration.model_validate(yaml.safe_load(yml.read_text()))
    run_merge(cfg, str(out), options=MergeOptions(random_seed=SEED, quiet=True, lazy_unpickle=False, copy_tokenizer=False))


def _compare(a: Path, b: Path) -> tuple[float, list[str]]:
    "Largest |a - b| over the tensors both hold, and the names only one side holds."
    from research_kit.merging import Checkpoint
    A, B = Checkpoint(a), Checkpoint(b)
    worst = 0.0
    for n in A.names():
        if n in B: worst = max(worst, float((A.read(n).double() - B.read(n).double()).abs().max()))
    return worst, sorted(set(A.names()) ^ set(B.names()))


@pytest.fixture(scope="module", params=["tiny", "wide", "wide_bf16"])
def models(request, tmp_path_factory):
    root = tmp_path_factory.mktemp(request.param)
    cfg = {} if request.param == "tiny" else dict(hidden_size=256, intermediate_size=512, num_attention_heads=4, num_key_value_heads=2)
    return root, _models(root, torch.bfloat16 if request.param.endswith("bf16") else torch.float32, **cfg)


@pytest.mark.parametrize("method", list(CONFIGS))
def test_same_tensors_as_mergekit(method, models):
    from research_kit.merging import merge_config
    root, ms = models
    yml = root / f"{method}.yml"
    yml.write_text(CONFIGS[method].format(**ms))
    _mergekit(yml, root / f"mergekit_{method}")
    opts = {"argsort_ties": True} if method == "ties" and root.name.startswith("wide_bf16") else {}
    if method.startswith("dare"): opts["draws"] = "mergekit"   # one stream in tensor order (and one worker); else the parallel default
    merge_config(yml, root / f"ours_{method}", progress=False, seed=SEED, **opts)
    worst, one_side = _compare(root / f"ours_{method}", root / f"mergekit_{method}")
    print(json.dumps({"models": root.name, "method": method, "max_abs_diff": worst}))
    assert not one_side, one_side
    assert worst <= 1e-6, (method, worst)
