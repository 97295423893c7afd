"""MI-PRUN's paper reading in `pruning.blocks`: the kNN (KSG) estimator, the exact run-additive optimum, the best-swap
Fast-Block-Select and the `BLOCK_SELECTORS` registry (the abstract reading stays selectable under its own name)."""
import itertools, math

import polars as pl
import pytest
import torch

from research_kit.models import anatomy, tiny
from research_kit.pruning import (BLOCK_SELECTORS, MI_ESTIMATORS, MIObjective, block_states, exhaustive_block_select, knn_mi,
                                  optimal_block_select, runs, select_blocks, swap_block_select)


def test_knn_mi_tracks_the_gaussian_closed_form():
    g = torch.Generator().manual_seed(1)
    x, noise = torch.randn(1500, 3, generator=g), torch.randn(1500, 3, generator=g)
    est = []
    for rho in (0.3, 0.6, 0.9):
        e, true = knn_mi(x, rho * x + math.sqrt(1 - rho ** 2) * noise), -1.5 * math.log(1 - rho ** 2)
        assert 0.7 * true - 0.03 < e <= true + 0.05, (rho, e, true)
        est.append(e)
    assert est == sorted(est)
    assert abs(knn_mi(x, torch.randn(1500, 3, generator=g))) < 0.05


def test_knn_mi_respects_the_data_processing_inequality():
    g = torch.Generator().manual_seed(2)
    x = torch.randn(1500, 3, generator=g)
    y = x + 0.7 * torch.randn(1500, 3, generator=g)
    z = y + 0.7 * torch.randn(1500, 3, generator=g)
    assert knn_mi(x, z) < min(knn_mi(x, y), knn_mi(y, z))


@pytest.mark.parametrize("n", [1, 2, 4, 7])
def test_dynamic_programme_equals_exhaustive_search(n):
    g = torch.Generator().manual_seed(n)
    table = torch.randn(9, 9, generator=g)
    rv = lambda f, l: float(table[f, l])
    ex, jex = exhaustive_block_select(lambda P: sum(rv(f, l) for f, l in runs(P)), 9, n)
    dp, jdp = optimal_block_select(rv, 9, n)
    assert abs(jdp - jex) < 1e-9 and len(dp) == n == len(set(dp))
    assert abs(sum(rv(f, l) for f, l in runs(dp)) - jdp) < 1e-9


def test_swap_search_reaches_the_optimum_on_a_run_penalised_objective():
    g = torch.Generator().manual_seed(5)
    red = torch.rand(11, generator=g).tolist()
    scores = pl.DataFrame({"block": list(range(11)), "importance": [-v for v in red]})
    rv = lambda f, l: sum(red[f:l + 1]) * (0.7 if l > f else 1.0)
    obj = lambda P: sum(rv(f, l) for f, l in runs(P))
    for n in (1, 3, 5):
        _, jopt = optimal_block_select(rv, 11, n)
        assert abs(obj(swap_block_select(scores, n, obj)) - jopt) < 1e-9


def test_registry_and_selection_on_a_tiny_model():
    assert {"block_influence", "mi_prun", "mi_prun_abstract"} <= set(BLOCK_SELECTORS.names())
    assert "ksg" in MI_ESTIMATORS.names() and "identity" in MI_ESTIMATORS.names()
    m, tok = tiny("llama", num_hidden_layers=4)
    a = anatomy(m)
    with torch.no_grad(): a.o(1).weight.zero_(); a.mlp_out(1).weight.zero_()   # block 1 is the identity
    st = block_states(m, tok, ["the cat sat on the mat", "a second text, longer than the first one", "and a third"], progress=False)
    for meth in BLOCK_SELECTORS.names():
        sel = select_blocks(None, None, 2, meth, states=st)
        assert len(sel) == 2 and len(set(sel)) == 2 and all(0 <= b < 4 for b in sel), (meth, sel)
    assert select_blocks(None, None, 1, "mi_prun", states=st) == [1]
    obj = MIObjective(st, estimator="ksg")
    assert abs(obj([0, 1]) - obj.run_value(0, 1)) < 1e-12 and obj.segment(1, 1) >= max(obj.segment(0, 0), obj.segment(2, 2))
    with pytest.raises(ValueError, match="method"): select_blocks(None, None, 1, "MI-PRUN", states=st)
    with pytest.raises(ValueError, match="model"): select_blocks(None, None, 1, "mi_prun")
    with pytest.raises(ValueError, match="n_remove"): select_blocks(None, None, 4, "mi_prun", states=st)
