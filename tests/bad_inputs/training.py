"Careless inputs to the training loops of losses.training: fit_lm (causal LMs) and fit_embedder (sentence encoders)."
from research_kit.losses import fit_embedder, fit_lm

from . import Case

NAN = float("nan")
TEXTS = ["the cat sat on the mat", "def f(x): return x + 1", "a fortune: you will write many tests"]


def _lm(c): return c.tiny("llama")


def _from_folder(c):
    "A tiny LM loaded from a saved folder (its config remembers the folder)."
    from research_kit.models import load
    return load(c.folder("base"))


def _toy_set():
    import polars as pl
    from research_kit.data import RetrievalSet
    return RetrievalSet("toy", queries=pl.DataFrame({"query_id": ["q0", "q1"], "text": ["a cat", "a dog"]}),
                        corpus=pl.DataFrame({"doc_id": ["d0", "d1"], "text": ["feline", "canine"]}),
                        qrels=pl.DataFrame({"query_id": ["q0", "q1"], "doc_id": ["d0", "d1"], "kind": ["gold", "gold"]}))


CASES = [
    Case("losses:fit_lm steps 0", lambda c: fit_lm(*_lm(c), TEXTS, steps=0, progress=False), ValueError, "steps"),
    Case("losses:fit_lm lr NaN", lambda c: fit_lm(*_lm(c), TEXTS, lr=NAN, progress=False), ValueError, "lr"),
    Case("losses:fit_lm lr 0", lambda c: fit_lm(*_lm(c), TEXTS, lr=0.0, progress=False), ValueError, "lr"),
    Case("losses:fit_lm empty texts", lambda c: fit_lm(*_lm(c), [], progress=False), ValueError, "texts"),
    Case("losses:fit_lm a blank text", lambda c: fit_lm(*_lm(c), ["fine", "  "], progress=False), ValueError, "texts"),
    Case("losses:fit_lm batch_size 2.5", lambda c: fit_lm(*_lm(c), TEXTS, batch_size=2.5, progress=False), TypeError, "batch_size"),
    Case("losses:fit_lm unknown schedule", lambda c: fit_lm(*_lm(c), TEXTS, schedule="cosine", progress=False), ValueError, "schedule"),
    Case("losses:fit_lm max_grad_norm -1", lambda c: fit_lm(*_lm(c), TEXTS, max_grad_norm=-1.0, progress=False), ValueError, "max_grad_norm"),
    Case("losses:fit_lm an encoder", lambda c: fit_lm(*c.tiny("bert"), TEXTS, progress=False), ValueError, "model"),
    Case("losses:fit_lm out is a user's folder", lambda c: fit_lm(*_lm(c), TEXTS, steps=1, out=c.root / "user_stuff", progress=False),
         ValueError, "out", ("notes.txt",), prepare=lambda c: c.user_folder()),
    Case("losses:fit_lm overwrite a user's folder", lambda c: fit_lm(*_lm(c), TEXTS, steps=1, out=c.root / "user_stuff", overwrite=True, progress=False),
         ValueError, "out", ("not ours to replace",), prepare=lambda c: c.user_folder()),
    Case("losses:fit_lm out inside the model's own folder", lambda c: fit_lm(*_from_folder(c), TEXTS, steps=1, out=c.folder("base") / "ft", progress=False),
         ValueError, "out", ("lies inside the input",)),
    Case("losses:fit_embedder out_dir is a user's folder",
         lambda c: fit_embedder(*c.tiny("bert"), _toy_set(), "lse_pair", steps=1, batch_size=2, out_dir=c.root / "user_stuff", progress=False),
         ValueError, "out_dir", ("notes.txt",), prepare=lambda c: c.user_folder()),
    Case("losses:fit_embedder steps 0", lambda c: fit_embedder(*c.tiny("bert"), _toy_set(), "lse_pair", steps=0, progress=False), ValueError, "steps"),
]
