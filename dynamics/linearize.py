r"""Exact linearisation of any rule's step map, and the closed-form operators it must equal.

:func:`linearize` differentiates one step of a rule (``torch.func.jacrev`` through
``flat_step``) with respect to the parameters *and* the rule's buffers (momentum,
previous gradient, Adam's moments): the augmented state.  A fixed point of the dynamics
is locally stable iff the spectral radius of this matrix is below 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.func import jacrev

from games import Game, flatten_params, jacobian, sort_eigenvalues, validate_params

from ._base import RuleState, UpdateRule, expand_per_player

__all__ = ["Linearization", "closed_form_operator", "linearize", "spectral_radius"]


@dataclass(frozen=True)
class Linearization:
    """The Jacobian of one step of a rule at a point, over (params, buffers).

    Attributes
    ----------
    matrix : torch.Tensor
        Shape ``(n * (1 + buffers), n * (1 + buffers))``, float64.
    state_size : int
        Number of rows/columns (``n`` per block).
    buffers : int
        How many buffer blocks follow the parameters.
    """

    matrix: torch.Tensor
    state_size: int
    buffers: int

    def eigenvalues(self) -> np.ndarray:
        """All eigenvalues, as :func:`games.sort_eigenvalues` orders them (complex128 numpy,
        by decreasing modulus, then real, then imaginary part)."""
        return sort_eigenvalues(torch.linalg.eigvals(self.matrix))

    @property
    def spectral_radius(self) -> float:
        """The largest eigenvalue modulus: below 1 means locally linearly convergent."""
        return float(torch.linalg.eigvals(self.matrix).abs().max())


def linearize(
    rule: UpdateRule,
    game: Game,
    fixed_point: Sequence[torch.Tensor],
    state: RuleState | None = None,
    *,
    dtype: torch.dtype = torch.float64,
) -> Linearization:
    r"""The Jacobian of ``rule``'s step map at ``fixed_point``, by autodiff through the step.

    Parameters
    ----------
    rule : UpdateRule
    game : Game
    fixed_point : tuple of torch.Tensor
        Usually a point where :math:`\xi = 0`; any point works (the result is then the
        Jacobian of the step there).
    state : RuleState, optional
        The rule's state; default ``rule.init(game, fixed_point)`` (zero momentum,
        previous gradient = current one, ...).  Its ``t`` selects the step size of
        a schedule.
    dtype : torch.dtype
        Computation dtype (float64).

    Returns
    -------
    Linearization

    Examples
    --------
    >>> from games import Bilinear
    >>> from dynamics import SimultaneousGD, linearize
    >>> game = Bilinear.xy()
    >>> lin = linearize(SimultaneousGD(lr=0.1), game, game.equilibrium())
    >>> round(lin.spectral_radius, 6)   # sqrt(1 + 0.1^2)
    1.004988
    """
    if not isinstance(rule, UpdateRule):
        raise TypeError(f"rule: expected a dynamics.UpdateRule, got {type(rule).__name__}")
    params = tuple(
        p.detach().to(dtype) for p in validate_params(game, fixed_point, name="fixed_point")
    )
    if state is None:
        state = rule.init(game, params)
    theta = flatten_params(params)
    n = theta.numel()
    buffers = tuple(b.detach().to(dtype) for b in state.buffers)
    if any(b.shape != (n,) for b in buffers):
        raise ValueError(
            f"state: expected buffers of shape ({n},), got {[tuple(b.shape) for b in buffers]}"
        )
    z = torch.cat([theta, *buffers])
    count = state.t

    def step(zz: torch.Tensor) -> torch.Tensor:
        parts = torch.split(zz, n)
        new, new_buffers = rule.flat_step(game, parts[0], RuleState(count, tuple(parts[1:])))
        return torch.cat([new, *new_buffers])

    matrix = jacrev(step)(z)
    return Linearization(matrix.detach() + 0.0, n, len(buffers))


def spectral_radius(matrix: torch.Tensor | Linearization) -> float:
    """The largest eigenvalue modulus of a square matrix or a :class:`Linearization`."""
    if isinstance(matrix, Linearization):
        return matrix.spectral_radius
    if (
        not isinstance(matrix, torch.Tensor)
        or matrix.dim() != 2
        or matrix.shape[0] != matrix.shape[1]
    ):
        raise ValueError(
            f"matrix: expected a square 2-D tensor, got {getattr(matrix, 'shape', type(matrix).__name__)}"
        )
    return float(torch.linalg.eigvals(matrix).abs().max())


def closed_form_operator(
    rule: UpdateRule, game: Game, fixed_point: Sequence[torch.Tensor], *, count: int = 0
) -> torch.Tensor:
    r"""The textbook linearisation of a rule at a fixed point, in terms of the game Jacobian.

    ``D = diag(eta)``.  SimultaneousGD: :math:`I - DJ`; Extragradient: :math:`I - DJ + DJDJ`;
    ProximalPoint: :math:`(I + DJ)^{-1}`; Consensus: :math:`I - D(J + \gamma J^\top J)`;
    Momentum: :math:`\begin{pmatrix} I - DJ & B \\ -DJ & B \end{pmatrix}`;
    OptimisticGD: :math:`\begin{pmatrix} I - 2DJ & D \\ J & 0 \end{pmatrix}`;
    CGD (two players, :math:`\xi = 0`): :math:`I - D N^{-1}(J + \dots)` obtained here as
    :math:`I - \begin{pmatrix} M_x^{-1} & 0 \\ 0 & M_y^{-1}\end{pmatrix} D\begin{pmatrix} I & -\eta_y J_{xy} \\ -\eta_x J_{yx} & I\end{pmatrix}J`.
    Used by the tests against :func:`linearize`, an independent channel.
    """
    from .first_order import Extragradient, Momentum, OptimisticGD, ProximalPoint, SimultaneousGD
    from .jacobian_rules import CGD, Consensus

    params = tuple(
        p.detach().to(torch.float64) for p in validate_params(game, fixed_point, name="fixed_point")
    )
    J = jacobian(game, params).matrix
    n = J.shape[0]
    eye = torch.eye(n, dtype=torch.float64)
    etas = rule.step_sizes(game, count)
    D = torch.diag(expand_per_player(etas, game, J[0]))
    if isinstance(rule, SimultaneousGD):
        return eye - D @ J
    if isinstance(rule, Extragradient):
        return eye - D @ J + D @ J @ D @ J
    if isinstance(rule, ProximalPoint):
        return torch.linalg.inv(eye + D @ J)
    if isinstance(rule, Consensus):
        return eye - D @ (J + rule.gamma * J.T @ J)
    if isinstance(rule, Momentum):
        from ._base import per_player

        B = torch.diag(
            expand_per_player(per_player(rule.beta, len(game.sizes), "beta"), game, J[0])
        )
        return torch.cat([torch.cat([eye - D @ J, B], 1), torch.cat([-D @ J, B], 1)], 0)
    if isinstance(rule, OptimisticGD):
        return torch.cat(
            [torch.cat([eye - 2 * D @ J, D], 1), torch.cat([J, torch.zeros_like(J)], 1)], 0
        )
    if isinstance(rule, CGD):
        nx = game.sizes[0]
        ex, ey = etas
        Jxy, Jyx = J[:nx, nx:], J[nx:, :nx]
        Mx = torch.eye(nx, dtype=torch.float64) - ex * ey * Jxy @ Jyx
        My = torch.eye(n - nx, dtype=torch.float64) - ey * ex * Jyx @ Jxy
        mix = torch.cat(
            [
                torch.cat([torch.eye(nx, dtype=torch.float64), -ey * Jxy], 1),
                torch.cat([-ex * Jyx, torch.eye(n - nx, dtype=torch.float64)], 1),
            ],
            0,
        )
        inv = torch.block_diag(torch.linalg.inv(Mx), torch.linalg.inv(My))
        return eye - inv @ D @ mix @ J
    raise ValueError(f"rule: no closed-form operator is known for {type(rule).__name__}")
