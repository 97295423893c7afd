"Careless inputs to probes (hooks, locate, steering, the causal test): each refused where it enters, naming the argument."
import torch

from research_kit.models import anatomy
from research_kit.probes import (ablate, activations, capture, contrast_vectors, forward, head_scores, heads_by_layer, knockout_test,
                                 layer_states, logit_lens, logodds, mask_heads, mask_tokens, patch, patching_sweep, plateau, probe_layers,
                                 project_out, retrieval_scores, steer, steering_sweep, token_mask_curve, top_sites)

from . import Case


def _lm(c):
    "The tiny Llama and its tokenizer (registered, so a case that changed its weights would fail)."
    return c.tiny("llama")


def _d(c) -> int: return anatomy(_lm(c)[0]).d_model


def _nan(c): return torch.full((_d(c),), float("nan"))


def _ko(c, units=((1, 0),), **kw):
    "knockout_test on the tiny Llama with a harmless metric (never reached by a refused call)."
    return knockout_test(_lm(c)[0], list(units), kw.pop("metric", lambda m: 0.0), progress=False, **kw)


def _with(cm_factory, run):
    "Enter a context manager and run `run` inside it (for errors raised while the model runs)."
    def call(c):
        with torch.no_grad(), cm_factory(c): run(c)
    return call


def _table():
    import polars as pl
    return pl.DataFrame({"site": ["head.0.1", "head.1.2"], "layer": [0, 1], "head": [1, 2], "induction": [0.4, 0.9]})


def _curve():
    import polars as pl
    return pl.DataFrame({"layer": [0, 1, 2], "nll": [3.0, 2.0, 2.0], "delta": [1.0, 0.0, 0.0]})


CASES = [
    # steering: non-finite vectors and strengths used to give all-NaN logits
    Case("probes:steer NaN vector", lambda c: steer(_lm(c)[0], "block.1", _nan(c)), ValueError, "vector", ("finite",)),
    Case("probes:steer alpha nan", lambda c: steer(_lm(c)[0], "block.1", torch.ones(_d(c)), alpha=float("nan")), ValueError, "alpha"),
    Case("probes:steer alpha inf", lambda c: steer(_lm(c)[0], "block.1", torch.ones(_d(c)), alpha=float("inf")), ValueError, "alpha"),
    Case("probes:steer alpha a string", lambda c: steer(_lm(c)[0], "block.1", torch.ones(_d(c)), alpha="2"), TypeError, "alpha"),
    Case("probes:steering_sweep nan in alphas", lambda c: steering_sweep(*_lm(c), ["abc"], ["q"], ["r"], torch.ones(_d(c)), "block.1", alphas=[0, float("nan")]),
         ValueError, "alphas"),
    Case("probes:steering_sweep inf vector", lambda c: steering_sweep(*_lm(c), ["abc"], ["q"], ["r"], torch.full((_d(c),), float("inf")), "block.1"),
         ValueError, "vector"),
    Case("probes:project_out NaN direction", lambda c: project_out(_lm(c)[0], "block.1", _nan(c)), ValueError, "direction"),
    Case("probes:patch inf values", lambda c: patch(_lm(c)[0], {"block.1": torch.full((_d(c),), float("inf"))}), ValueError, "values"),
    # empty prompts used to crash inside transformers ("cannot reshape tensor of 0 elements")
    Case("probes:activations empty prompt", lambda c: activations(_lm(c)[0], "", "block.0", tok=_lm(c)[1]), ValueError, "inputs", ("empty",)),
    Case("probes:forward empty prompt in a batch", lambda c: forward(_lm(c)[0], ["fine", ""], _lm(c)[1]), ValueError, "inputs", ("index 1",)),
    Case("probes:logit_lens empty prompt", lambda c: logit_lens(*_lm(c), ""), ValueError, "prompt"),
    Case("probes:logodds empty prompt", lambda c: logodds(*_lm(c), [""], ["q"], ["r"]), ValueError, "prompts"),
    Case("probes:contrast_vectors empty prompt", lambda c: contrast_vectors(*_lm(c), ["abc", ""], ["abd", "xyz"]), ValueError, "positive", ("empty",)),
    Case("probes:contrast_vectors no pairs", lambda c: contrast_vectors(*_lm(c), [], []), ValueError, "positive", ("at least one",)),
    Case("probes:contrast_vectors unpaired", lambda c: contrast_vectors(*_lm(c), ["abc", "xyz"], ["abd"]), ValueError, "negative"),
    Case("probes:layer_states empty text", lambda c: layer_states(*_lm(c), ["fine", ""]), ValueError, "texts", ("index 1",)),
    Case("probes:patching_sweep empty clean prompt", lambda c: patching_sweep(_lm(c)[0], "", "abc", lambda x: x.sum(), tok=_lm(c)[1]), ValueError, "clean"),
    Case("probes:retrieval_scores empty prompt", lambda c: retrieval_scores(*_lm(c), [{"prompt": "", "answer": " x", "needle": (0, 1)}]), ValueError, "tasks"),
    # sites, layers and heads the model does not have
    Case("probes:capture unknown site", lambda c: capture(_lm(c)[0], "blok.1"), ValueError, "sites"),
    Case("probes:capture head out of range", lambda c: capture(_lm(c)[0], "head.1.99"), ValueError, "sites"),
    Case("probes:steer layer out of range", lambda c: steer(_lm(c)[0], "block.40", torch.ones(_d(c))), ValueError, "site"),
    Case("probes:mask_heads head out of range", lambda c: mask_heads(_lm(c)[0], [(1, 99)]), ValueError, "heads"),
    Case("probes:heads_by_layer not a head", lambda c: heads_by_layer(["block.3"]), ValueError, "sites"),
    # numeric ranges
    Case("probes:position past the end", _with(lambda c: capture(_lm(c)[0], "block.0", positions=[40]), lambda c: forward(_lm(c)[0], "abc", _lm(c)[1])),
         ValueError, "positions"),
    Case("probes:positions not ints", lambda c: capture(_lm(c)[0], "block.0", positions=[0.5]), TypeError, "positions"),
    Case("probes:logit_lens k 0", lambda c: logit_lens(*_lm(c), "abc", k=0), ValueError, "k"),
    Case("probes:head_scores n 0", lambda c: head_scores(*_lm(c), n=0), ValueError, "n"),
    Case("probes:top_sites threshold nan", lambda c: top_sites(_table(), "induction", threshold=float("nan")), ValueError, "threshold"),
    Case("probes:probe_layers test_size 1.5", lambda c: probe_layers(torch.randn(2, 10, 4), [0, 1] * 5, test_size=1.5), ValueError, "test_size"),
    Case("probes:token_mask_curve batch_size 0", lambda c: token_mask_curve(*_lm(c), ["abc"], ["d"], batch_size=0), ValueError, "batch_size"),
    Case("probes:plateau tol inf", lambda c: plateau(_curve(), tol=float("inf")), ValueError, "tol"),
    Case("probes:mask_tokens from_layer past the last block", lambda c: mask_tokens(_lm(c)[0], [0], from_layer=99), ValueError, "from_layer"),
    Case("probes:ablate unknown kind", lambda c: ablate(_lm(c)[0], "mlp.0", "median"), ValueError, "how"),
    # the causal test
    Case("probes:knockout_test uniform on an mlp site", lambda c: _ko(c, ["mlp.1"], ablation="uniform"), ValueError, "ablation", ("head sites only",)),
    Case("probes:knockout_test n_random 0", lambda c: _ko(c, n_random=0), ValueError, "n_random"),
    Case("probes:knockout_test mean without inputs", lambda c: _ko(c, ablation="mean"), ValueError, "inputs"),
    Case("probes:knockout_test no units", lambda c: _ko(c, []), ValueError, "units"),
    Case("probes:knockout_test head out of range", lambda c: _ko(c, [(1, 99)]), ValueError, "units"),
    Case("probes:knockout_test metric not callable", lambda c: _ko(c, metric=0.5), TypeError, "metric"),
    Case("probes:knockout_test pool too small", lambda c: _ko(c, ["head.1.*"], pool=["head.1.0"]), ValueError, "pool"),
]
