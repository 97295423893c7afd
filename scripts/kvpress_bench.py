"""kvpress's own cache size and decode speed (run inside the kvpress environment; see scripts/kvpress_env.py).

    python scripts/kvpress_bench.py MODEL_FOLDER SPEC_JSON OUT_JSON

SPEC_JSON: {"ids": [token ids], "contexts": [...], "budgets": [...], "presses": [...], "steps": int, "rounds": int,
"prefill_threads": int}. For every context (the first `context` ids), kvpress prefills once per press and budget with the
press active (compression_ratio = 1 - (budget + 0.5) / context, so it keeps `budget` tokens per head, as in the parity
test) and once without a press; then each variant decodes `steps` greedy tokens on its own cache, on one thread,
`rounds` times interleaved (the cache is cropped back to its post-prefill length between rounds). Writes per variant
the cache bytes right after prefill and the median ms per decode step.
"""
import json
import statistics
import sys
import time

import torch
from kvpress import KnormPress, SnapKVPress, StreamingLLMPress
from transformers import AutoModelForCausalLM, DynamicCache

PRESSES = {"streaming_llm": lambda r: StreamingLLMPress(compression_ratio=r, n_sink=4),
           "key_norm": lambda r: KnormPress(compression_ratio=r),
           "snapkv": lambda r: SnapKVPress(compression_ratio=r, window_size=64, kernel_size=5)}


def cache_bytes(cache) -> int:
    return sum(l.keys.numel() * l.keys.element_size() + l.values.numel() * l.values.element_size() for l in cache.layers)


@torch.no_grad()
def main(folder, spec_file, out_file):
    spec = json.load(open(spec_file))
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    rows = []
    for ctx in spec["contexts"]:
        ids = torch.tensor([spec["ids"][:ctx]])
        variants = [("full", None)] + [(p, b) for b in spec["budgets"] for p in spec["presses"]]
        state = {}
        torch.set_num_threads(spec["prefill_threads"])
        for name, B in variants:
            cache = DynamicCache()
            if name == "full": out = model(input_ids=ids, past_key_values=cache, use_cache=True)
            else:
                with PRESSES[name](1 - (B + 0.5) / ctx)(model): out = model(input_ids=ids, past_key_values=cache, use_cache=True)
            state[(name, B)] = (out.logits[:, -1].argmax(-1, keepdim=True), cache, cache.get_seq_length(), cache_bytes(cache))
        torch.set_num_threads(1)
        times = {v: [] for v in variants}
        for _ in range(spec["rounds"]):
            for v in variants:
                nxt, cache, n0, _ = state[v]
                for s in range(spec["steps"] - 1):
                    t0 = time.perf_counter()
                    out = model(input_ids=nxt, past_key_values=cache, use_cache=True, position_ids=torch.tensor([[ctx + s]]))
                    times[v].append(time.perf_counter() - t0)
                    nxt = out.logits[:, -1].argmax(-1, keepdim=True)
                cache.crop(n0)
        for (name, B) in variants:
            _, _, n0, nbytes = state[(name, B)]
            rows.append(dict(context=ctx, method=name, budget=B, cache_tokens=n0, cache_bytes=nbytes,
                             ms_per_step=1e3 * statistics.median(times[(name, B)])))
        print(f"kvpress: context {ctx} done", file=sys.stderr, flush=True)
    json.dump({"rows": rows, "torch": torch.__version__}, open(out_file, "w"))


if __name__ == "__main__":
    main(*sys.argv[1:4])
