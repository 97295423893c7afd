"Careless inputs to structured pruning beyond Llama: experts, channels of a mixture of experts, place-dependent blocks, scorers that need an LM."
from research_kit.pruning import expert_counts, head_importance, prune_channels, prune_experts, remove_blocks, slice_channels

from . import Case

TEXTS = ["the cat sat on the mat", "def f(x): return x + 1"]


def _moe(c): return c.tiny("qwen3_moe")[0]   # 2 layers of 4 experts, top_k 2, 32 channels per expert


def _make(*families):
    "A `prepare` that builds the tiny models a case uses before the inputs are hashed."
    return lambda c: [c.tiny(f) for f in families]


CASES = [
    Case("structured:prune_experts on a dense model", lambda c: prune_experts(c.tiny("llama")[0], {0: [0]}), ValueError, "model",
         ("mixture-of-experts",)),
    Case("structured:prune_experts leaving fewer than top_k", lambda c: prune_experts(_moe(c), {0: [0, 1, 2]}), ValueError, "experts[0]",
         ("top_k=2",), prepare=_make('qwen3_moe')),
    Case("structured:prune_experts expert out of range", lambda c: prune_experts(_moe(c), {1: [4]}), ValueError, "experts[1]", ("[0, 4)",),
         prepare=_make('qwen3_moe')),
    Case("structured:prune_experts a list, not {layer: experts}", lambda c: prune_experts(_moe(c), [0, 1]), TypeError, "experts",
         prepare=_make('qwen3_moe')),
    Case("structured:prune_experts layer out of range", lambda c: prune_experts(_moe(c), {2: [0]}), ValueError, "experts",
         prepare=_make('qwen3_moe')),
    Case("structured:expert_counts of a dense model", lambda c: expert_counts(c.tiny("gpt2")[0]), ValueError, "model", ("mixture-of-experts",)),
    Case("structured:prune_channels on a mixture of experts", lambda c: prune_channels(_moe(c), 0.5, "magnitude", progress=False),
         ValueError, "model", ("prune_experts",), prepare=_make('qwen3_moe')),
    Case("structured:slice_channels keeps none of a layer", lambda c: slice_channels(c.tiny("gpt_neox")[0], {0: []}), ValueError, "keep[0]",
         ("at least one",), prepare=_make('gpt_neox')),
    Case("structured:slice_channels expert channel out of range", lambda c: slice_channels(_moe(c), {0: [40]}), ValueError, "keep[0]",
         ("[0, 32)",), prepare=_make('qwen3_moe')),
    Case("structured:remove_blocks ModernBERT's first block", lambda c: remove_blocks(c.tiny("modernbert")[0], [0]), ValueError, "blocks",
         ("attn_norm",), prepare=_make('modernbert')),
    Case("structured:head_importance taylor on an encoder", lambda c: head_importance(c.tiny("bert")[0], c.tiny("bert")[1], TEXTS,
         scorer="taylor", progress=False), ValueError, "model", ("next-token loss",)),
]
