r"""Jacobian-product rules: each step also applies :math:`J` (or :math:`J^\top`) to vectors.

Consensus optimisation, symplectic gradient adjustment, competitive gradient descent,
look-ahead and LOLA, all matrix-free: Jacobian-vector products by forward-mode AD
(``torch.func.jvp``), vector-Jacobian products by reverse mode (``torch.func.vjp``).
Rules of this module set :attr:`UpdateRule.needs_jvp`.  Notation as in
:mod:`dynamics.first_order`; CGD's linear solves use :func:`dynamics.conjugate_gradient`
(:mod:`dynamics.solvers`).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.func import jvp as _torch_jvp
from torch.func import vjp as func_vjp

from games import Game
from games.autodiff import quiet_jit_deprecation

from ._base import RuleState, StepSize, UpdateRule, per_player
from .solvers import conjugate_gradient

__all__ = ["CGD", "LOLA", "SGA", "Consensus", "LookAhead"]


def func_jvp(
    fn: Callable[[torch.Tensor], torch.Tensor],
    primals: tuple[torch.Tensor],
    tangents: tuple[torch.Tensor],
) -> tuple[torch.Tensor, torch.Tensor]:
    """``torch.func.jvp`` with the tangent cast back to the primal's dtype (forward-mode AD
    in torch 2.13 can promote tangents of 0-d scalars to float64)."""
    with quiet_jit_deprecation():
        result = _torch_jvp(fn, primals, tangents)
    return result[0], result[1].to(primals[0].dtype)


def _pair(
    result: tuple[object, ...],
) -> tuple[torch.Tensor, Callable[..., tuple[torch.Tensor, ...]]]:
    """(value, pullback) of ``torch.func.vjp`` (typed)."""
    return result[0], result[1]  # type: ignore[return-value]


class Consensus(UpdateRule):
    r"""Consensus optimisation (Mescheder et al., 2017).

    .. math:: \theta_{t+1} = \theta_t - D\left(\xi + \gamma J^\top\xi\right), \qquad J^\top\xi = \nabla\tfrac12|\xi|^2,

    with :math:`J^\top\xi` from one vector-Jacobian product (matrix-free).
    Linearisation at a fixed point: :math:`I - D(J + \gamma J^\top J)`.
    """

    needs_jvp = True

    def __init__(self, lr: StepSize, gamma: float = 1.0) -> None:
        super().__init__(lr)
        per_player(gamma, 1, "gamma", low=0.0)
        self.gamma = float(gamma)

    def flat_step(
        self, game: Game, theta: torch.Tensor, state: RuleState
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        xi, pullback = _pair(func_vjp(self.field(game), theta))
        (jt_xi,) = pullback(xi)
        return theta - self.eta(game, state.t, theta) * (xi + self.gamma * jt_xi), ()


class SGA(UpdateRule):
    r"""Symplectic gradient adjustment (Balduzzi et al., 2018; Letcher et al., 2019).

    .. math:: \theta_{t+1} = \theta_t - D(\xi + \lambda A^\top\xi), \qquad A^\top\xi = \tfrac12(J^\top\xi - J\xi),

    with one JVP and one VJP per step.  With ``align=True`` the sign of :math:`\lambda` follows
    the alignment rule :math:`\lambda = \lambda_0\,\mathrm{sign}\big(\tfrac1d\langle\xi,\nabla H\rangle
    \langle A^\top\xi, \nabla H\rangle + \epsilon\big)`, :math:`\nabla H = J^\top\xi`.
    """

    needs_jvp = True

    def __init__(
        self, lr: StepSize, lam: float = 1.0, align: bool = True, eps: float = 0.1
    ) -> None:
        super().__init__(lr)
        per_player(lam, 1, "lam", low=0.0)
        self.lam, self.align, self.eps = float(lam), bool(align), float(eps)

    def flat_step(
        self, game: Game, theta: torch.Tensor, state: RuleState
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        field = self.field(game)
        xi, pullback = _pair(func_vjp(field, theta))
        (jt_xi,) = pullback(xi)
        j_xi = func_jvp(field, (theta,), (xi,))[1]
        at_xi = 0.5 * (jt_xi - j_xi)
        lam = torch.as_tensor(self.lam, dtype=theta.dtype, device=theta.device)
        if self.align:
            d = theta.shape[-1]
            lam = lam * torch.sign((xi @ jt_xi) * (at_xi @ jt_xi) / d + self.eps)
        return theta - self.eta(game, state.t, theta) * (xi + lam * at_xi), ()


def _block_products(game: Game) -> tuple[Callable[[torch.Tensor, torch.Tensor], torch.Tensor], ...]:
    """Matrix-free J_xy w and J_yx v of a two-player game, by JVPs of the field."""
    field = UpdateRule.field(game)
    nx = game.sizes[0]

    def j_xy(theta: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        tangent = torch.cat([torch.zeros_like(theta[:nx]), w])
        return func_jvp(field, (theta,), (tangent,))[1][:nx]

    def j_yx(theta: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        tangent = torch.cat([v, torch.zeros_like(theta[nx:])])
        return func_jvp(field, (theta,), (tangent,))[1][nx:]

    def j_xy_t(theta: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        return func_vjp(field, theta)[1](torch.cat([u, torch.zeros_like(theta[nx:])]))[0][nx:]

    def j_yx_t(theta: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        return func_vjp(field, theta)[1](torch.cat([torch.zeros_like(theta[:nx]), u]))[0][:nx]

    return j_xy, j_yx, j_xy_t, j_yx_t


class CGD(UpdateRule):
    r"""Competitive gradient descent (Schäfer & Anandkumar, 2019), two players.

    .. math::
        \Delta x = -\eta_x (I - \eta_x\eta_y J_{xy}J_{yx})^{-1}(\xi_x - \eta_y J_{xy}\xi_y), \\
        \Delta y = -\eta_y (I - \eta_x\eta_y J_{yx}J_{xy})^{-1}(\xi_y - \eta_x J_{yx}\xi_x),

    with :math:`J_{xy} = \partial\xi_x/\partial y`, :math:`J_{yx} = \partial\xi_y/\partial x`
    applied by Jacobian-vector products and the systems solved by conjugate gradient on
    the normal equations (``solver='cgnr'``, any game) or plain conjugate gradient
    (``solver='cg'``, zero-sum games, where the matrix is symmetric positive definite);
    these never form a dense matrix.  ``solver='dense'`` builds the two off-diagonal
    blocks once per step (one batched forward-mode pass) and solves exactly with LU;
    ``solver='auto'`` (the default) is ``'dense'`` for games of at most
    :attr:`dense_max` parameters, where it is many times faster than a dozen separate
    Jacobian-vector products per step, and ``'cgnr'`` above.  On bilinear games CGD
    coincides with the proximal point method.  ``iterations`` CG steps are run (default
    ``min(size, 100)``: exact for players of up to 100 parameters).
    """

    needs_jvp = True
    dense_max = 256
    """``solver='auto'`` solves densely up to this many parameters (both players)."""

    def __init__(self, lr: StepSize, solver: str = "auto", iterations: int | None = None) -> None:
        super().__init__(lr)
        if solver not in ("auto", "dense", "cg", "cgnr"):
            raise ValueError(f"solver: expected 'auto', 'dense', 'cg' or 'cgnr', got {solver!r}")
        if iterations is not None and (
            isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 1
        ):
            raise ValueError(f"iterations: expected a positive int, got {iterations!r}")
        self.solver, self.iterations = solver, iterations

    def check_game(self, game: Game) -> None:
        super().check_game(game)
        if len(game.sizes) != 2:
            raise ValueError(f"game: CGD is defined for two players, got {len(game.sizes)}")

    def _solve(
        self,
        apply: Callable[[torch.Tensor], torch.Tensor],
        apply_t: Callable[[torch.Tensor], torch.Tensor],
        rhs: torch.Tensor,
    ) -> torch.Tensor:
        iterations = self.iterations or min(rhs.shape[-1], 100)

        def solve(b: torch.Tensor) -> torch.Tensor:
            if self.solver == "cg":
                return conjugate_gradient(apply, b, iterations)
            return conjugate_gradient(lambda v: apply_t(apply(v)), apply_t(b), iterations)

        # CG's coefficients are 0/0 at b = 0, where autodiff then sees a zero derivative
        # (a fixed point is exactly where linearize differentiates).  The solution is
        # linear in b, so solve(b) = solve(b + s) - solve(s) for a fixed s != 0, and both
        # solves are away from the degenerate point.
        shift = torch.ones_like(rhs)
        return solve(rhs + shift) - solve(shift)

    def flat_step(
        self, game: Game, theta: torch.Tensor, state: RuleState
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        ex, ey = self.step_sizes(game, state.t)
        nx = game.sizes[0]
        dense = self.solver == "dense" or (
            self.solver == "auto" and theta.numel() <= self.dense_max
        )
        if dense:
            return self._dense_step(game, theta, ex, ey), ()
        xi = self.field(game)(theta)
        xi_x, xi_y = xi[:nx], xi[nx:]
        j_xy, j_yx, j_xy_t, j_yx_t = _block_products(game)

        def mx(v: torch.Tensor) -> torch.Tensor:
            return v - ex * ey * j_xy(theta, j_yx(theta, v))

        def mx_t(v: torch.Tensor) -> torch.Tensor:
            return v - ex * ey * j_yx_t(theta, j_xy_t(theta, v))

        def my(v: torch.Tensor) -> torch.Tensor:
            return v - ex * ey * j_yx(theta, j_xy(theta, v))

        def my_t(v: torch.Tensor) -> torch.Tensor:
            return v - ex * ey * j_xy_t(theta, j_yx_t(theta, v))

        dx = -ex * self._solve(mx, mx_t, xi_x - ey * j_xy(theta, xi_y))
        dy = -ey * self._solve(my, my_t, xi_y - ex * j_yx(theta, xi_x))
        return theta + torch.cat([dx, dy]), ()

    def _dense_step(
        self, game: Game, theta: torch.Tensor, ex: torch.Tensor | float, ey: torch.Tensor | float
    ) -> torch.Tensor:
        """The same update with the off-diagonal blocks formed once and an exact solve."""
        nx, n = game.sizes[0], theta.numel()
        field = self.field(game)
        basis = torch.eye(n, dtype=theta.dtype, device=theta.device)
        # column k of J: one forward-mode pass per basis vector, batched by vmap; xi comes
        # out of the same pass
        xi_rows, columns = torch.func.vmap(
            lambda v: func_jvp(field, (theta,), (v,)), out_dims=(0, 1)
        )(basis)
        xi = xi_rows[0]
        xi_x, xi_y = xi[:nx], xi[nx:]
        j_xy, j_yx = columns[:nx, nx:], columns[nx:, :nx]
        eye_x = torch.eye(nx, dtype=theta.dtype, device=theta.device)
        eye_y = torch.eye(n - nx, dtype=theta.dtype, device=theta.device)
        dx = -ex * torch.linalg.solve(eye_x - ex * ey * (j_xy @ j_yx), xi_x - ey * (j_xy @ xi_y))
        dy = -ey * torch.linalg.solve(eye_y - ex * ey * (j_yx @ j_xy), xi_y - ex * (j_yx @ xi_x))
        return theta + torch.cat([dx, dy])


class LookAhead(UpdateRule):
    r"""Look-ahead (Zhang & Lesser, 2010; Letcher et al., 2019): each player anticipates the others' step.

    .. math:: \theta_{t+1} = \theta_t - D(\xi - \alpha H_o\xi),

    where :math:`H_o` is the off-diagonal block part of :math:`J`
    (:math:`(H_o\xi)_i = \sum_{j\ne i} J_{ij}\xi_j`), from one JVP per player.
    """

    needs_jvp = True

    def __init__(self, lr: StepSize, alpha: float = 0.1) -> None:
        super().__init__(lr)
        per_player(alpha, 1, "alpha", low=0.0)
        self.alpha = float(alpha)

    def _adjustment(self, game: Game, theta: torch.Tensor, xi: torch.Tensor) -> torch.Tensor:
        field = self.field(game)
        starts = [sum(game.sizes[:i]) for i in range(len(game.sizes))]
        own = torch.zeros_like(xi)
        for i, size in enumerate(game.sizes):
            lo, hi = starts[i], starts[i] + size
            tangent = torch.cat([torch.zeros_like(xi[:lo]), xi[lo:hi], torch.zeros_like(xi[hi:])])
            # J applied to player i's block alone: subtract its own (diagonal) part
            own = own + torch.cat(
                [
                    torch.zeros_like(xi[:lo]),
                    func_jvp(field, (theta,), (tangent,))[1][lo:hi],
                    torch.zeros_like(xi[hi:]),
                ]
            )
        full = func_jvp(field, (theta,), (xi,))[1]
        return full - own

    def flat_step(
        self, game: Game, theta: torch.Tensor, state: RuleState
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        xi = self.field(game)(theta)
        direction = xi - self.alpha * self._adjustment(game, theta, xi)
        return theta - self.eta(game, state.t, theta) * direction, ()


class LOLA(LookAhead):
    r"""Learning with opponent-learning awareness (Foerster et al., 2018), in the form of Letcher et al. (2019).

    .. math:: \theta_{t+1} = \theta_t - D\left(\xi - \alpha H_o\xi - \alpha\,\mathrm{diag}(H_o^\top\nabla L)\right),

    where the shaping term of player ``i`` is :math:`\sum_{j\ne i} J_{ji}^\top\nabla_{\theta_j}\ell_i`
    (how ``i`` changes ``j``'s step, times how that step changes ``i``'s loss): one VJP per
    player.  LOLA does not preserve fixed points of general-sum games (the shaping term
    need not vanish where :math:`\xi = 0`; Letcher et al. 2019's SOS corrects this): in
    zero-sum games it does.
    """

    preserves_fixed_points = False

    def flat_step(
        self, game: Game, theta: torch.Tensor, state: RuleState
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        field = self.field(game)
        xi, pullback = _pair(func_vjp(field, theta))
        sizes = list(game.sizes)
        starts = [sum(sizes[:i]) for i in range(len(sizes))]
        shaping = []
        for i, size in enumerate(sizes):
            lo, hi = starts[i], starts[i] + size
            # gradient of player i's loss with respect to everybody's parameters
            full_grad = torch.func.grad(
                lambda t, i=i: game.losses(tuple(torch.split(t, sizes)))[i]
            )(theta)
            cotangent = torch.cat(
                [full_grad[:lo], torch.zeros_like(full_grad[lo:hi]), full_grad[hi:]]
            )
            shaping.append(pullback(cotangent)[0][lo:hi])
        direction = (
            xi - self.alpha * self._adjustment(game, theta, xi) - self.alpha * torch.cat(shaping)
        )
        return theta - self.eta(game, state.t, theta) * direction, ()
