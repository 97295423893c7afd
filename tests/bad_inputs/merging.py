"""Careless inputs to merging: writes over a user's folder or an input, out-of-range or non-finite parameters (global,
per model, gradient entries, filtered values), unknown methods and parameters, mismatched models, bad YAML."""
import torch
from research_kit.merging import bags, merge, merge_config, merge_state_dicts, mos_merge, plam

from . import Case


def _two(c):
    "Two saved tiny Llama folders (prepared before hashing)."
    return [c.folder("ft1", seed=1), c.folder("ft2", seed=2)]


def _prep(c):
    _two(c); c.folder("base", seed=0)


def _mem(c):
    "A base and two fine-tunes in memory (registered: their hashes must not change)."
    return c.tiny("llama", 0)[0], [c.tiny("llama", 1)[0], c.tiny("llama", 2)[0]]


def _wide(c):
    "A tiny Llama folder with another MLP width (mismatched shapes)."
    p = c.root / "models" / "wide"
    if not p.exists():
        from research_kit.models import tiny
        m, t = tiny("llama", seed=3, intermediate_size=96)
        m.save_pretrained(p); t.save_pretrained(p)
    return p


def _ties(c, **kw):
    b, ms = _mem(c)
    return merge_state_dicts(ms, base=b, method="ties", **{"weight": [1., 1.], **kw})


def _slerp(c, **kw):
    b, ms = _mem(c)
    return merge_state_dicts(ms[:1], base=b, method="slerp", **kw)


CASES = [
    # writes that cannot destroy
    Case("merging:out is a user's folder", lambda c: merge(_two(c), method="linear", out=c.root / "user_stuff", progress=False),
         ValueError, "out", ("exists and holds", "notes.txt"), prepare=lambda c: (_prep(c), c.user_folder())),
    Case("merging:overwrite a user's folder", lambda c: merge(_two(c), method="linear", out=c.root / "user_stuff", overwrite=True, progress=False),
         ValueError, "out", ("not ours to replace",), prepare=lambda c: (_prep(c), c.user_folder())),
    Case("merging:out is an input folder", lambda c: merge(_two(c), method="linear", out=_two(c)[0], overwrite=True, progress=False),
         ValueError, "out", ("which is the input",), prepare=_prep),
    Case("merging:out inside an input", lambda c: merge(_two(c), method="linear", out=_two(c)[1] / "merged", progress=False),
         ValueError, "out", ("lies inside the input",), prepare=_prep),
    Case("merging:out holds the inputs", lambda c: merge(_two(c), method="linear", out=c.root / "models", overwrite=True, progress=False),
         ValueError, "out", ("contains the input",), prepare=_prep),
    Case("merging:out is the base", lambda c: merge(_two(c), base=c.folder("base"), method="ties", weight=[1., 1.], out=c.folder("base"), overwrite=True, progress=False),
         ValueError, "out", ("which is the input",), prepare=_prep),
    Case("merging:plam out inside an input", lambda c: plam(_two(c)[0], c.folder("base"), layers=["block.1"], out=c.folder("base") / "plam", progress=False),
         ValueError, "out", ("lies inside the input",), prepare=_prep),
    # parameters out of range, checked before any work
    Case("merging:ties density -0.1", lambda c: _ties(c, density=-0.1), ValueError, "density", ("(0, 1]", "-0.1")),
    Case("merging:ties density 1.5", lambda c: _ties(c, density=1.5), ValueError, "density", ("(0, 1]", "1.5")),
    Case("merging:ties density 0", lambda c: _ties(c, density=[0.5, 0.0]), ValueError, "density[1]", ("(0, 1]",)),
    Case("merging:ties density gradient entry 1.2", lambda c: _ties(c, density=[[0.5, 1.2], 0.7]), ValueError, "density[0][1]", ("(0, 1]", "1.2")),
    Case("merging:ties density on disk 1.5", lambda c: merge(_two(c), base=c.folder("base"), method="ties", weight=[1., 1.], density=1.5, out=c.root / "m", progress=False),
         ValueError, "density", ("(0, 1]",), prepare=_prep),
    Case("merging:slerp t 1.5", lambda c: _slerp(c, t=1.5), ValueError, "t", ("[0, 1]", "1.5")),
    Case("merging:slerp filtered t 2", lambda c: _slerp(c, t=[{"filter": "mlp", "value": 2.0}, {"value": 0.5}]), ValueError, "t[0].value", ("[0, 1]",)),
    Case("merging:slerp eps 0", lambda c: _slerp(c, t=0.5, eps=0.0), ValueError, "eps", ("(0, inf)",)),
    Case("merging:NaN weight", lambda c: merge_state_dicts(_mem(c)[1], method="linear", weight=[1.0, float("nan")]), ValueError, "weight[1]", ("nan",)),
    Case("merging:inf lambda", lambda c: _ties(c, **{"lambda": float("inf")}), ValueError, "lambda", ("inf",)),
    Case("merging:weights summing to 0", lambda c: merge_state_dicts(_mem(c)[1], method="linear", weight=[1.0, -1.0]), ValueError, "weight", ("sum is not 0",)),
    Case("merging:breadcrumbs gamma 2", lambda c: merge_state_dicts(_mem(c)[1], base=_mem(c)[0], method="breadcrumbs", weight=[1., 1.], density=0.5, gamma=2.0),
         ValueError, "gamma", ("[0, 1]",)),
    Case("merging:weight as a string", lambda c: merge_state_dicts(_mem(c)[1], method="linear", weight=[1.0, "0.5"]), TypeError, "weight[1]"),
    Case("merging:filter entry without value", lambda c: _slerp(c, t=[{"filter": "mlp"}, {"value": 0.5}]), TypeError, "t[0]", ("filter, value",)),
    Case("merging:negative seed", lambda c: _ties(c, seed=-1), ValueError, "seed"),
    Case("merging:chunk_mb 0", lambda c: merge(_two(c), method="linear", out=c.root / "m", chunk_mb=0, progress=False), ValueError, "chunk_mb", prepare=_prep),
    # methods, parameters and models that do not fit
    Case("merging:unknown method", lambda c: merge_state_dicts(_mem(c)[1], method="tiez"), ValueError, "method", ("'ties'",)),
    Case("merging:unknown parameter", lambda c: _ties(c, densty=0.5), ValueError, "densty"),
    Case("merging:ties without a base", lambda c: merge_state_dicts(_mem(c)[1], method="ties", weight=[1., 1.]), ValueError, "base"),
    Case("merging:slerp of two models", lambda c: merge_state_dicts(_mem(c)[1], base=_mem(c)[0], method="slerp", t=0.5), ValueError, "models", ("1 input models besides the base",)),
    Case("merging:mismatched shapes", lambda c: merge([_two(c)[0], _wide(c)], method="linear", out=c.root / "m", progress=False),
         ValueError, "models", ("mismatched architectures",), prepare=lambda c: (_prep(c), _wide(c))),
    Case("merging:one weight for three models", lambda c: merge(_two(c), method="linear", weight=[1., 2., 3.], out=c.root / "m", progress=False),
         ValueError, "weight", prepare=_prep),
    Case("merging:bad YAML", lambda c: merge_config("models: [a\nmerge_method: ties", c.root / "m"), ValueError, "config", ("valid YAML",)),
    Case("merging:YAML slices", lambda c: merge_config("slices: []\nmerge_method: passthrough", c.root / "m"), ValueError, "config", ("slices",)),
    Case("merging:YAML unknown method", lambda c: merge_config("models: [{model: a}]\nmerge_method: frankenmerge", c.root / "m"), ValueError, "method"),
    # the seed methods
    Case("merging:plam alpha 1.5", lambda c: plam(_mem(c)[1][0], _mem(c)[0], layers=["block.1"], alpha=1.5), ValueError, "alpha", ("[0, 1]",)),
    Case("merging:mos beta -0.1", lambda c: mos_merge([c._mem["mos_a"], c._mem["mos_b"]], beta=-0.1), ValueError, "beta", ("[0, 1]",),
         prepare=lambda c: (c.keep("mos_a", {"w": torch.ones(2)}), c.keep("mos_b", {"w": torch.zeros(2)}))),
    Case("merging:dim3 designated 5", lambda c: merge_state_dicts(_mem(c)[1], base=_mem(c)[0], method="dim3", designated=5), ValueError, "designated"),
    Case("merging:bags ratio 0", lambda c: bags(10, [0.5, 0.0]), ValueError, "ratios[1]", ("(0, 1]",)),
]
