"""Linear solvers the rules use: matrix-free, branch-free, composable with ``torch.func``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

__all__ = ["conjugate_gradient"]


def _safe_divide(num: torch.Tensor, den: torch.Tensor) -> torch.Tensor:
    # branch-free: 0/0 -> 0 (converged CG), vmap-safe
    return num / torch.where(den == 0, torch.ones_like(den), den)


def conjugate_gradient(
    matvec: Callable[[torch.Tensor], torch.Tensor],
    rhs: torch.Tensor,
    iterations: int,
    *,
    x0: torch.Tensor | None = None,
    tol: float = 0.0,
    info: dict[str, Any] | None = None,
) -> torch.Tensor:
    """Solve ``A x = rhs`` for symmetric positive definite ``A`` (matrix-free).

    Parameters
    ----------
    matvec : callable
        ``v -> A v``.
    rhs : torch.Tensor
        The right-hand side (flat).
    iterations : int
        At most this many CG iterations (one ``matvec`` each).  A warm start ``x0``
        costs one more ``matvec`` (its residual ``rhs - A x0``), not one iteration less.
    x0 : torch.Tensor, optional
        Starting point (default zero).
    tol : float
        Stop once the relative residual ``|rhs - A x| / |rhs|`` is at most ``tol``
        (a data-dependent test: eager code only).  With the default 0 the loop is
        branch-free (fixed iterations), so it composes with ``vmap`` and
        differentiation; a converged residual stays converged (0/0 is taken as 0).
    info : dict, optional
        Filled with ``iterations`` (taken), ``products`` (``matvec`` calls) and
        ``residual`` (the final relative residual, from CG's recurrence); pass it in
        eager code only (it reads values).

    Returns
    -------
    torch.Tensor
        The approximate solution.
    """
    products = 0
    if x0 is None:
        x = torch.zeros_like(rhs)
        r = rhs.clone()
    else:
        x = x0
        r = rhs - matvec(x0)
        products += 1
    p = r.clone()
    rr = r @ r
    bb = rhs @ rhs
    threshold = float(tol) ** 2 * float(bb) if tol > 0 else None
    taken = 0
    for _ in range(iterations):
        if threshold is not None and float(rr) <= threshold:
            break
        ap = matvec(p)
        products += 1
        taken += 1
        alpha = _safe_divide(rr, p @ ap)
        x = x + alpha * p
        r = r - alpha * ap
        rr_new = r @ r
        p = r + _safe_divide(rr_new, rr) * p
        rr = rr_new
    if info is not None:
        info["iterations"] = taken
        info["products"] = products
        info["residual"] = float(torch.sqrt(_safe_divide(rr, bb)).detach())
    return x
