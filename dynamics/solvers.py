"""Linear solvers the rules use: matrix-free, branch-free, composable with ``torch.func``."""

from __future__ import annotations

from collections.abc import Callable

import torch

__all__ = ["conjugate_gradient"]


def _safe_divide(num: torch.Tensor, den: torch.Tensor) -> torch.Tensor:
    # branch-free: 0/0 -> 0 (converged CG), vmap-safe
    return num / torch.where(den == 0, torch.ones_like(den), den)


def conjugate_gradient(
    matvec: Callable[[torch.Tensor], torch.Tensor], rhs: torch.Tensor, iterations: int
) -> torch.Tensor:
    """Solve ``A x = rhs`` for symmetric positive definite ``A`` (matrix-free, fixed iterations).

    Branch-free, so it composes with ``vmap`` and differentiation; a converged residual
    stays converged (0/0 is taken as 0).
    """
    x = torch.zeros_like(rhs)
    r = rhs.clone()
    p = r.clone()
    rr = r @ r
    for _ in range(iterations):
        ap = matvec(p)
        alpha = _safe_divide(rr, p @ ap)
        x = x + alpha * p
        r = r - alpha * ap
        rr_new = r @ r
        p = r + _safe_divide(rr_new, rr) * p
        rr = rr_new
    return x
