"""Careless inputs across the four verbs and the widgets: each must raise a clear error (the right type, a message that
names the argument), leave no file behind and change no input (files hashed, in-memory models and tensors hashed).

The table is split by verb into `tests/bad_inputs/<verb>.py` (each a list `CASES` of `Case`); this file runs them all."""
import hashlib, importlib, pkgutil
from pathlib import Path

import pytest
import torch

from bad_inputs import CASES, Case, Ctx


def _tree(root: Path) -> dict[str, str]:
    "Every path under `root` with the sha256 of its content (folders as 'dir')."
    out = {}
    for p in sorted(root.rglob("*")):
        out[str(p.relative_to(root))] = "dir" if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest()
    return out


@pytest.fixture(scope="module")
def ctx(tmp_path_factory):
    c = Ctx(tmp_path_factory.mktemp("bad_inputs"))
    c.build_defaults()   # before any hash is taken: inputs a case reaches for are there already
    return c


def test_the_table_is_large_enough():
    assert len(CASES) >= 60, len(CASES)
    assert len({c.id for c in CASES}) == len(CASES), "case ids must be unique"
    verbs = {c.id.split(":")[0] for c in CASES}
    assert {"merging", "probes", "pruning", "losses", "viz"} <= verbs, verbs


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, ctx: Ctx):
    case.prepare(ctx)
    before_files, before_mem = _tree(ctx.root), ctx.memory_hashes()
    with pytest.raises(case.exc) as e:
        case.call(ctx)
    msg = str(e.value)
    assert case.arg in msg, f"the message does not name {case.arg!r}: {msg}"
    for s in case.says: assert s in msg, f"the message does not say {s!r}: {msg}"
    assert _tree(ctx.root) == before_files, "files were written, changed or removed"
    assert ctx.memory_hashes() == before_mem, "an input in memory was modified"
