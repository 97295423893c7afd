"Careless inputs to pruning: importance tables, head sets (GQA), ratios and fractions, blocks, budgets, and writes."
import polars as pl
import torch

from research_kit.models import save_model
from research_kit.pruning import (ChunkFT, KeyNorm, QuerySelector, adaptive_sparsity, fast_block_select, head_importance,
                                  head_knockout, keep_count, prune_channels, prune_heads, recover_lm, remove_blocks, save_chunks,
                                  select_heads, top_heads)
from research_kit.core import bootstrap_ci
from research_kit.pruning import SnapKV, StreamingLLM, FASA, cache_bytes, greedy, needle_task

from . import Case

NAN, INF = float("nan"), float("inf")
TEXTS = ["the cat sat on the mat", "def f(x): return x + 1"]


def _m(c): return c.tiny("llama")[0]   # 2 layers of 4 query heads in 2 KV groups (GQA), 128 MLP channels


def _imp(c): return head_importance(_m(c), scorer="magnitude", progress=False)


def _probes_table(c):
    from research_kit.probes import head_scores
    m, t = c.tiny("llama")
    return head_scores(m, t, n=4, batch=1)


CASES = [
    Case("pruning:select_heads on probes.head_scores' table", lambda c: select_heads(_m(c), _probes_table(c), 0.5),
         ValueError, "scores", ("head_importance", "importance")),
    Case("pruning:select_heads on a list", lambda c: select_heads(_m(c), [0.1, 0.2], 0.5), TypeError, "scores"),
    Case("pruning:select_heads ratio 1.5", lambda c: select_heads(_m(c), _imp(c), 1.5), ValueError, "ratio", ("[0, 1)",)),
    Case("pruning:select_heads ratio NaN", lambda c: select_heads(_m(c), _imp(c), NAN), ValueError, "ratio"),
    Case("pruning:select_heads ratio -0.1 for one layer", lambda c: select_heads(_m(c), _imp(c), {0: -0.1}), ValueError, "ratio[0]"),
    Case("pruning:prune_heads GQA heads in strict mode", lambda c: prune_heads(_m(c), [(0, 0)]),
         ValueError, "heads[0]", ("kv_groups='round'",)),
    Case("pruning:prune_heads round would remove every group", lambda c: prune_heads(_m(c), {0: [0, 2]}, kv_groups="round"),
         ValueError, "heads[0]", ("fewer than all 2 KV groups",)),
    Case("pruning:prune_heads unknown kv_groups", lambda c: prune_heads(_m(c), {0: [0, 1]}, kv_groups="nearest"), ValueError, "kv_groups"),
    Case("pruning:prune_heads head out of range", lambda c: prune_heads(_m(c), {0: [4]}), ValueError, "heads[0]"),
    Case("pruning:prune_heads table without a head column", lambda c: prune_heads(_m(c), pl.DataFrame({"layer": [0]})), ValueError, "heads"),
    Case("pruning:prune_heads a bare int", lambda c: prune_heads(_m(c), 3), TypeError, "heads"),
    Case("pruning:prune_channels keep 1.5", lambda c: prune_channels(_m(c), 1.5, "magnitude", progress=False), ValueError, "keep"),
    Case("pruning:prune_channels keep NaN", lambda c: prune_channels(_m(c), NAN, "magnitude", progress=False), ValueError, "keep"),
    Case("pruning:prune_channels steps 0", lambda c: prune_channels(_m(c), 0.5, "magnitude", steps=0, progress=False), ValueError, "steps"),
    Case("pruning:prune_channels with head scores", lambda c: prune_channels(_m(c), 0.5, "magnitude", scores=_imp(c), progress=False),
         ValueError, "scores", ("channel_importance",)),
    Case("pruning:remove_blocks every block", lambda c: remove_blocks(_m(c), [0, 1]), ValueError, "blocks", ("at least one",)),
    Case("pruning:remove_blocks block out of range", lambda c: remove_blocks(_m(c), [7]), ValueError, "blocks"),
    Case("pruning:fast_block_select every block", lambda c: fast_block_select(pl.DataFrame({"block": [0, 1, 2], "importance": [.1, .2, .3]}), 3),
         ValueError, "n_remove"),
    Case("pruning:adaptive_sparsity target 1.0", lambda c: adaptive_sparsity([0.1, 0.5], 1.0), ValueError, "target"),
    Case("pruning:adaptive_sparsity amplitude inf", lambda c: adaptive_sparsity([0.1, 0.5], 0.3, amplitude=INF), ValueError, "amplitude"),
    Case("pruning:top_heads k 0", lambda c: top_heads(_imp(c), 0), ValueError, "k"),
    Case("pruning:head_knockout one random draw", lambda c: head_knockout(_m(c), _imp(c), 2, lambda m: 0.0, n_random=1, progress=False),
         ValueError, "n_random"),
    Case("pruning:head_knockout k larger than the table", lambda c: head_knockout(_m(c), _imp(c), 99, lambda m: 0.0, progress=False),
         ValueError, "k"),
    Case("pruning:KeyNorm budget 0", lambda c: KeyNorm(_m(c), budget=0), ValueError, "budget"),
    Case("pruning:StreamingLLM on an encoder", lambda c: StreamingLLM(c.tiny("bert")[0], budget=8), ValueError, "model", ("causal LM",)),
    Case("pruning:StreamingLLM sinks = budget", lambda c: StreamingLLM(_m(c), budget=4, sinks=4), ValueError, "sinks"),
    Case("pruning:SnapKV even kernel", lambda c: SnapKV(_m(c), budget=8, kernel=4), ValueError, "kernel", ("odd",)),
    Case("pruning:KeyNorm unknown head_budget", lambda c: KeyNorm(_m(c), budget=8, head_budget="per_layer"), ValueError, "head_budget"),
    Case("pruning:KeyNorm alpha 1.5", lambda c: KeyNorm(_m(c), budget=8, head_budget="adaptive", alpha=1.5), ValueError, "alpha"),
    Case("pruning:KeyNorm every 0", lambda c: KeyNorm(_m(c), budget=8, every=0), ValueError, "every"),
    Case("pruning:FASA on learned positions", lambda c: FASA(c.tiny("gpt2")[0], 8, torch.zeros(2, 4, 2, dtype=torch.long)), ValueError, "model", ("rotary",)),
    Case("pruning:cache_bytes of a list", lambda c: cache_bytes([torch.zeros(2)]), TypeError, "cache"),
    Case("pruning:greedy press a string", lambda c: greedy(_m(c), c.tiny("llama")[1], "hi", press="snapkv"), TypeError, "press"),
    Case("pruning:needle_task needles 0", lambda c: needle_task(c.tiny("llama")[1], n=1, context_tokens=64, needles=0), ValueError, "needles"),
    Case("core:bootstrap_ci no scores", lambda c: bootstrap_ci([]), ValueError, "x"),
    Case("pruning:keep_count fraction NaN", lambda c: keep_count(NAN, 384), ValueError, "fraction"),
    Case("pruning:recover_lm lr NaN", lambda c: recover_lm(_m(c), c.tiny("llama")[1], TEXTS, lr=NAN, progress=False), ValueError, "lr"),
    Case("pruning:ChunkFT lr -1", lambda c: ChunkFT(_m(c), lr=-1.0), ValueError, "lr"),
    Case("pruning:save_chunks over a user's folder", lambda c: save_chunks(torch.zeros(2, 4, 2, dtype=torch.long), c.root / "user_stuff"),
         ValueError, "path", ("notes.txt",), prepare=lambda c: c.user_folder()),
    Case("pruning:save_chunks overwrite a user's folder", lambda c: save_chunks(torch.zeros(2, 4, 2, dtype=torch.long), c.root / "user_stuff", overwrite=True),
         ValueError, "path", ("not ours to replace",), prepare=lambda c: c.user_folder()),
    Case("pruning:QuerySelector.save over a user's folder", lambda c: QuerySelector(8, 4).save(c.root / "user_stuff"),
         ValueError, "path", prepare=lambda c: c.user_folder()),
    Case("pruning:save a pruned model over a user's folder",
         lambda c: save_model(prune_heads(_m(c), {0: [0, 1]}), c.tiny("llama")[1], c.root / "user_stuff", overwrite=True),
         ValueError, "out", ("not ours to replace",), prepare=lambda c: c.user_folder()),
    Case("pruning:save a pruned model into its input folder",
         lambda c: save_model(prune_heads(_m(c), {0: [0, 1]}), c.tiny("llama")[1], c.folder("base") / "pruned", inputs=[c.folder("base")]),
         ValueError, "out", ("lies inside the input",)),
]
