"Careless inputs to the loss functions (scores, masks, temperatures, preference and policy losses, geometry)."
import torch
import torch.nn.functional as F

from research_kit.losses import (ISogCLR, align_loss, clipped_surrogate, dpo_loss, group_advantages, hard_info_nce,
                                 info_nce, kl_distill, log_z_penalty, margin_mse, robust_gcl, sample_weights, simple_loss,
                                 uniform_loss)

from . import Case

S = torch.randn(4, 6, generator=torch.Generator().manual_seed(0))
P = torch.zeros(4, 6, dtype=torch.bool); P[:, 0] = True
LP = torch.randn(4, generator=torch.Generator().manual_seed(1))
NAN, INF = float("nan"), float("inf")
U = F.normalize(torch.randn(5, 3, generator=torch.Generator().manual_seed(2)), dim=-1)


def _keep(c):
    "Register the shared tensors as inputs whose content must not change."
    for k, v in {"S": S, "P": P, "LP": LP, "U": U}.items(): c.keep(f"losses-{k}", v)


CASES = [Case(f"losses:{i}", f, e, a, prepare=_keep) for i, f, e, a in [
    ("info_nce tau nan", lambda c: info_nce(S, P, tau=NAN), ValueError, "tau"),
    ("info_nce tau 0", lambda c: info_nce(S, P, tau=0.0), ValueError, "tau"),
    ("info_nce NaN scores", lambda c: info_nce(S * NAN, P), ValueError, "scores"),
    ("info_nce a row without a positive", lambda c: info_nce(S, torch.zeros_like(P)), ValueError, "pos_mask"),
    ("info_nce mask of another shape", lambda c: info_nce(S, P[:, :3]), ValueError, "pos_mask"),
    ("info_nce unknown reduction", lambda c: info_nce(S, P, reduction="avg"), ValueError, "reduction"),
    ("hard_info_nce alpha 1.5", lambda c: hard_info_nce(S, P, alpha=1.5), ValueError, "alpha"),
    ("simple_loss lam nan", lambda c: simple_loss(S, P, lam=NAN), ValueError, "lam"),
    ("robust_gcl rho inf", lambda c: robust_gcl(S, P, rho=INF), ValueError, "rho"),
    ("ISogCLR beta 0", lambda c: ISogCLR(10, beta=0.0), ValueError, "beta"),
    ("ISogCLR no samples", lambda c: ISogCLR(0), ValueError, "n_samples"),
    ("dpo beta inf", lambda c: dpo_loss(LP, LP, LP, LP, beta=INF), ValueError, "beta"),
    ("dpo label_smoothing 0.7", lambda c: dpo_loss(LP, LP, LP, LP, kind="cdpo", label_smoothing=0.7), ValueError, "label_smoothing"),
    ("dpo unknown kind", lambda c: dpo_loss(LP, LP, LP, LP, kind="kto"), ValueError, "kind"),
    ("dpo mismatched shapes", lambda c: dpo_loss(LP, LP[:3], LP, LP), ValueError, "policy_rejected"),
    ("log_z_penalty negative weight", lambda c: log_z_penalty(S, weight=-1.0), ValueError, "weight"),
    ("uniform_loss t 0", lambda c: uniform_loss(U, t=0.0), ValueError, "t"),
    ("uniform_loss one embedding", lambda c: uniform_loss(U[:1]), ValueError, "x"),
    ("align_loss alpha nan", lambda c: align_loss(U, U, alpha=NAN), ValueError, "alpha"),
]]
