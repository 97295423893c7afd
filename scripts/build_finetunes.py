"""Build the SmolLM2-135M fine-tunes that the merging tutorials merge: one per (domain, seed), cached, built once.

    python scripts/build_finetunes.py            # or: make finetunes

Each fine-tune is a plain causal-LM fine-tune (`losses.fit_lm`) of the embedded SmolLM2-135M on one corpus domain's
calibration split, saved with `models.save_model` (an atomic folder that `from_pretrained` loads) under
`core.cache_dir("finetunes", "<domain>-seed<k>")` (default ~/.cache/research_kit/finetunes/<domain>-seed<k>/).
Beside each folder, `<domain>-seed<k>.json` (written with `core.atomic_file`) records the settings, the training
loss history, the wall time and the mean next-token loss on the first `--check-n` eval chunks of its own domain
before and after: the build fails if a fine-tune did not lower it. Folders that already exist are kept (a rerun
builds only what is missing); `--overwrite` rebuilds folders research_kit wrote.
"""
from __future__ import annotations
import argparse, json, math, sys, time
from pathlib import Path

DOMAINS = ("python-docs", "fortunes")
SETTINGS = dict(steps=20, batch_size=4, max_length=64, lr=1e-4, schedule="linear", max_grad_norm=1.0)


def folder(domain: str, # a corpus domain (`data.CORPUS_DOMAINS`)
           seed: int, # the training seed, in [0, inf)
          ) -> Path:
    "Where the fine-tune of `domain` with `seed` is cached."
    from research_kit.core import cache_dir
    return cache_dir("finetunes", f"{domain}-seed{seed}")


def held_out_loss(model, # a causal LM
                  tok, # its tokenizer
                  texts, # held-out strings
                  max_length: int, # tokens kept per text, in [2, inf)
                 ) -> float:
    "Mean next-token loss (nats) over the tokens of `texts`, each truncated to `max_length` tokens."
    import torch
    tok.padding_side = "right"
    with torch.no_grad():
        enc = tok(list(texts), return_tensors="pt", truncation=True, max_length=max_length, padding=True)
        logp = model(**enc).logits[:, :-1].float().log_softmax(-1)
        tgt, keep = enc["input_ids"][:, 1:], enc["attention_mask"][:, 1:].bool()
        return float(-logp.gather(-1, tgt[..., None])[..., 0][keep].mean())


def build(domains=DOMAINS, # corpus domains to fine-tune on (each in `data.CORPUS_DOMAINS`)
          seeds=(0, 1, 2), # training seeds, each in [0, inf)
          check_n: int = 16, # eval chunks of the own domain for the before/after check, in [1, 100]
          overwrite: bool = False, # rebuild folders research_kit wrote (False: keep what exists)
          threads: int = 1, # torch intra-op threads, in [1, inf)
          **settings, # `losses.fit_lm` arguments replacing SETTINGS (steps, batch_size, max_length, lr, ...)
         ) -> dict:
    "Build every missing (domain, seed) fine-tune; return {name: folder}."
    import torch
    from research_kit.core import atomic_file, check, check_choice, check_number
    from research_kit.data import corpus, CORPUS_DOMAINS
    from research_kit.losses import fit_lm
    from research_kit.models import load, save_model
    for d in domains: check_choice(d, list(CORPUS_DOMAINS), "domains")
    for s in seeds: check_number(s, "seeds", 0, None, integer=True)
    check_number(check_n, "check_n", 1, 100, integer=True)
    check_number(threads, "threads", 1, None, integer=True)
    cfg = {**SETTINGS, **settings}
    torch.set_num_threads(threads)
    out, base_loss = {}, {}
    for d in domains:
        check_texts = corpus(d, "eval", n=check_n)["text"].to_list()
        for s in seeds:
            dest = folder(d, s)
            out[f"{d}-seed{s}"] = dest
            if dest.exists() and not overwrite:
                print(f"{dest.name}: cached"); continue
            model, tok = load("smollm2-135m", attn="sdpa", device="cpu")
            if d not in base_loss: base_loss[d] = held_out_loss(model, tok, check_texts, cfg["max_length"])
            t0 = time.time()
            h = fit_lm(model, tok, corpus(d, "calibration"), seed=s, progress=False, **cfg)
            secs = time.time() - t0
            model.eval()
            after = held_out_loss(model, tok, check_texts, cfg["max_length"])
            check(after < base_loss[d], "lr", f"settings under which the fine-tune lowers its own domain's held-out loss "
                  f"({d}, seed {s}: {base_loss[d]:.3f} -> {after:.3f})", cfg["lr"])
            save_model(model, tok, dest, overwrite=overwrite, what=f"SmolLM2-135M fine-tuned on {d} (seed {s})")
            rec = dict(domain=d, seed=s, settings=cfg, seconds=round(secs, 1), train_loss=h["loss"].to_list(),
                       held_out=dict(n_chunks=check_n, before=base_loss[d], after=after))
            atomic_file(dest.with_name(dest.name + ".json"), json.dumps(rec, indent=1).encode(), overwrite=True)
            k = min(5, len(rec["train_loss"])); first, last = sum(rec["train_loss"][:k]) / k, sum(rec["train_loss"][-k:]) / k
            print(f"{dest.name}: train loss {first:.3f} -> {last:.3f} (mean of first/last {k} steps), held-out {d} loss "
                  f"{base_loss[d]:.3f} -> {after:.3f} in {secs:.0f} s", flush=True)
            del model
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--domains", nargs="+", default=list(DOMAINS), help="corpus domains (default: %(default)s)")
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2], help="training seeds (default: %(default)s)")
    p.add_argument("--steps", type=int, default=SETTINGS["steps"])
    p.add_argument("--batch-size", type=int, default=SETTINGS["batch_size"])
    p.add_argument("--max-length", type=int, default=SETTINGS["max_length"])
    p.add_argument("--lr", type=float, default=SETTINGS["lr"])
    p.add_argument("--check-n", type=int, default=16, help="eval chunks of the own domain for the before/after check")
    p.add_argument("--threads", type=int, default=1, help="torch intra-op threads (1 on a shared machine)")
    p.add_argument("--overwrite", action="store_true", help="rebuild folders research_kit wrote")
    a = p.parse_args(argv)
    t0 = time.time()
    build(a.domains, a.seeds, a.check_n, a.overwrite, a.threads, steps=a.steps, batch_size=a.batch_size,
          max_length=a.max_length, lr=a.lr)
    print(f"built in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
