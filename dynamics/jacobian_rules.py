r"""Jacobian-product rules: each step also applies :math:`J` (or :math:`J^\top`) to vectors.

Consensus optimisation, symplectic gradient adjustment, competitive gradient descent,
look-ahead and LOLA, all matrix-free, through :class:`games.FieldProducts`: in eager
training the field's graph is built once per step and every product is one backward
pass through it (vector-Jacobian products) or through the graph of
:math:`u \mapsto J^\top u` (Jacobian-vector products, the double-VJP trick); inside
:mod:`torch.func` transforms (``linearize``, ``run_batched``) the products are
``torch.func.vjp``/``torch.func.jvp``, so the step stays differentiable.  Rules of this
module set :attr:`UpdateRule.needs_jvp`.  Notation as in :mod:`dynamics.first_order`;
CGD's linear solves use :func:`dynamics.conjugate_gradient` (:mod:`dynamics.solvers`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from games import FieldProducts, Game, Params, flatten_params, unflatten_params
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
        result = torch.func.jvp(fn, primals, tangents)
    return result[0], result[1].to(primals[0].dtype)


def _block_mask(game: Game, i: int, like: torch.Tensor) -> torch.Tensor:
    """1 on player ``i``'s block, 0 elsewhere (flat, like ``like``)."""
    return torch.cat(
        [
            torch.full((size,), 1.0 if j == i else 0.0, dtype=like.dtype, device=like.device)
            for j, size in enumerate(game.sizes)
        ]
    )


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
        products = FieldProducts(game, theta)
        xi = products.xi
        jt_xi = products.vjp(xi)
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
        products = FieldProducts(game, theta, jvp=True)
        xi = products.xi
        jt_xi = products.vjp(xi)  # eager: also builds the graph J xi is taken from
        j_xi = products.jvp(xi)
        at_xi = 0.5 * (jt_xi - j_xi)
        lam = torch.as_tensor(self.lam, dtype=theta.dtype, device=theta.device)
        if self.align:
            d = theta.shape[-1]
            lam = lam * torch.sign((xi @ jt_xi) * (at_xi @ jt_xi) / d + self.eps)
        return theta - self.eta(game, state.t, theta) * (xi + lam * at_xi), ()


class CGD(UpdateRule):
    r"""Competitive gradient descent (Schäfer & Anandkumar, 2019), two players.

    .. math::
        \Delta x = -\eta_x (I - \eta_x\eta_y J_{xy}J_{yx})^{-1}(\xi_x - \eta_y J_{xy}\xi_y), \\
        \Delta y = -\eta_y (I - \eta_x\eta_y J_{yx}J_{xy})^{-1}(\xi_y - \eta_x J_{yx}\xi_x),

    with :math:`J_{xy} = \partial\xi_x/\partial y`, :math:`J_{yx} = \partial\xi_y/\partial x`
    applied matrix-free (:class:`games.FieldProducts`: the field's graph built once per
    step).  The two moves are the Nash equilibrium of the players' local bilinear game,
    so each is the other's best response, :math:`\Delta y = -\eta_y(\xi_y + J_{yx}\Delta x)`
    (and symmetrically): one linear system is solved, for the player with fewer
    parameters, and the other move follows from one more product (as in the CGDs
    package).  The system is solved by conjugate gradient on the normal equations
    (``solver='cgnr'``, any game) or by plain conjugate gradient (``solver='cg'``,
    zero-sum games, where the matrix is symmetric positive definite; the products then
    use :math:`J_{yx} = -J_{xy}^\top`, so that all are vector-Jacobian products, one
    backward pass each); these never form a dense matrix.  ``solver='dense'`` builds the
    two off-diagonal blocks once per step (one batched forward-mode pass) and solves
    exactly with LU; ``solver='auto'`` (the default) is ``'dense'`` for games of at most
    :attr:`dense_max` parameters and ``'cgnr'`` above.  On bilinear games CGD coincides
    with the proximal point method.

    In eager training, CG starts from the previous step's solution (carried in
    ``RuleState.extra``; its residual costs one product, not one iteration) and stops
    once the relative residual is at most ``tol``, or after ``iterations`` iterations
    (default ``min(size, 100)``: exact for players of up to 100 parameters).  Inside
    :mod:`torch.func` transforms (``linearize``, ``run_batched``) it runs the full
    ``iterations`` from zero, branch-free and differentiable.

    Parameters
    ----------
    lr : step size
    solver : {'auto', 'dense', 'cg', 'cgnr'}
    iterations : int, optional
        Most CG iterations per step.
    tol : float
        Relative-residual stopping rule of the eager solves (0: always ``iterations``).
    warm_start : bool
        Start each eager solve from the previous step's solution.

    Attributes
    ----------
    diagnostics : dict
        After each eager matrix-free step: ``player`` (whose system was solved),
        ``iterations``, ``residual`` (final relative residual of the system CG solved:
        the normal equations for ``'cgnr'``), ``products`` (Jacobian products in the
        step) and ``warm_start`` (whether a previous solution was used).
    """

    needs_jvp = True
    dense_max = 256
    """``solver='auto'`` solves densely up to this many parameters (both players)."""

    def __init__(
        self,
        lr: StepSize,
        solver: str = "auto",
        iterations: int | None = None,
        *,
        tol: float = 1e-10,
        warm_start: bool = True,
    ) -> None:
        super().__init__(lr)
        if solver not in ("auto", "dense", "cg", "cgnr"):
            raise ValueError(f"solver: expected 'auto', 'dense', 'cg' or 'cgnr', got {solver!r}")
        if iterations is not None and (
            isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 1
        ):
            raise ValueError(f"iterations: expected a positive int, got {iterations!r}")
        per_player(tol, 1, "tol", low=0.0)
        self.solver, self.iterations = solver, iterations
        self.tol, self.warm_start = float(tol), bool(warm_start)
        self.diagnostics: dict[str, Any] = {}

    def check_game(self, game: Game) -> None:
        super().check_game(game)
        if len(game.sizes) != 2:
            raise ValueError(f"game: CGD is defined for two players, got {len(game.sizes)}")

    def step(self, game: Game, params: Params, state: RuleState) -> tuple[Params, RuleState]:
        theta = flatten_params(params)
        new_theta, extra = self._update(game, theta, state)
        return unflatten_params(game, new_theta), RuleState(state.t + 1, (), extra)

    def flat_step(
        self, game: Game, theta: torch.Tensor, state: RuleState
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        return self._update(game, theta, state)[0], ()

    def _update(
        self, game: Game, theta: torch.Tensor, state: RuleState
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        """The new point and the solution to warm-start the next step from."""
        etas = self.step_sizes(game, state.t)
        dense = self.solver == "dense" or (
            self.solver == "auto" and theta.numel() <= self.dense_max
        )
        if dense:
            return self._dense_step(game, theta, etas[0], etas[1]), ()
        sizes = list(game.sizes)
        a = 0 if sizes[0] <= sizes[1] else 1  # solve for the smaller player
        b = 1 - a
        ea, eb = etas[a], etas[b]
        products = FieldProducts(game, theta, jvp=self.solver == "cgnr")
        xi = products.xi
        parts = list(torch.split(xi, sizes))

        def embed(v: torch.Tensor, player: int) -> torch.Tensor:
            zeros = [torch.zeros(size, dtype=xi.dtype, device=xi.device) for size in sizes]
            zeros[player] = v
            return torch.cat(zeros)

        def block(v: torch.Tensor, player: int) -> torch.Tensor:
            return torch.split(v, sizes)[player]

        # J_ij^T products are block_vjp's: one backward pass through xi_i's graph to
        # theta_j alone (the block of a full vjp, at about half its cost)
        def j_ab(w: torch.Tensor) -> torch.Tensor:  # J_ab w = d xi_a / d theta_b  w
            if self.solver == "cg":  # zero-sum: J_ab = -J_ba^T
                return -products.block_vjp(w, b, a)
            return block(products.jvp(embed(w, b)), a)

        def j_ba(v: torch.Tensor) -> torch.Tensor:
            if self.solver == "cg":
                return -products.block_vjp(v, a, b)
            return block(products.jvp(embed(v, a)), b)

        def j_ab_t(u: torch.Tensor) -> torch.Tensor:
            return products.block_vjp(u, a, b)

        def j_ba_t(u: torch.Tensor) -> torch.Tensor:
            return products.block_vjp(u, b, a)

        def m(v: torch.Tensor) -> torch.Tensor:
            return v - ea * eb * j_ab(j_ba(v))

        def m_t(v: torch.Tensor) -> torch.Tensor:
            return v - ea * eb * j_ba_t(j_ab_t(v))

        rhs = parts[a] - eb * j_ab(parts[b])
        iterations = self.iterations or min(sizes[a], 100)
        if self.solver == "cg":
            matvec, system_rhs = m, rhs
        else:
            matvec, system_rhs = (lambda v: m_t(m(v))), m_t(rhs)
        if products.reused:
            previous = state.extra[0] if self.warm_start and len(state.extra) == 1 else None
            if previous is not None and previous.shape != rhs.shape:
                previous = None
            info: dict[str, Any] = {}
            solution = conjugate_gradient(
                matvec,
                system_rhs,
                iterations,
                x0=None if previous is None else previous.to(rhs),
                tol=self.tol,
                info=info,
            )
        else:
            # CG's coefficients are 0/0 at rhs = 0, where autodiff then sees a zero
            # derivative (a fixed point is exactly where linearize differentiates).  The
            # solution is linear in rhs, so solve(rhs) = solve(rhs + s) - solve(s) for a
            # fixed s != 0, and both solves are away from the degenerate point.
            shift = torch.ones_like(system_rhs)
            solution = conjugate_gradient(
                matvec, system_rhs + shift, iterations
            ) - conjugate_gradient(matvec, shift, iterations)
        move_a = -ea * solution
        move_b = -eb * (parts[b] + j_ba(move_a))
        moves = [move_a, move_b] if a == 0 else [move_b, move_a]
        if not products.reused:
            return theta + torch.cat(moves), ()
        self.diagnostics = {
            "player": a,
            "iterations": info["iterations"],
            "residual": info["residual"],
            "products": products.products,
            "warm_start": previous is not None,
        }
        return theta + torch.cat(moves), (solution.detach(),)

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

    def _adjustment(self, game: Game, products: FieldProducts) -> torch.Tensor:
        r""":math:`H_o\xi`: :math:`J` applied to each player's block of :math:`\xi` alone (one
        product per player), summed over players, without each block's own rows."""
        xi = products.xi
        adjustment = torch.zeros_like(xi)
        for i in range(len(game.sizes)):
            mask = _block_mask(game, i, xi)
            adjustment = adjustment + (1 - mask) * products.jvp(mask * xi)
        return adjustment

    def flat_step(
        self, game: Game, theta: torch.Tensor, state: RuleState
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        products = FieldProducts(game, theta, jvp=True)
        direction = products.xi - self.alpha * self._adjustment(game, products)
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
        products = FieldProducts(game, theta, jvp=True)
        xi = products.xi
        sizes = list(game.sizes)
        starts = [sum(sizes[:i]) for i in range(len(sizes))]
        grads = _loss_gradients(game, theta, products.reused)
        shaping = []
        for i, size in enumerate(sizes):
            lo, hi = starts[i], starts[i] + size
            # gradient of player i's loss with respect to the others' parameters
            cotangent = (1 - _block_mask(game, i, xi)) * grads[i]
            shaping.append(products.vjp(cotangent)[lo:hi])
        direction = (
            xi - self.alpha * self._adjustment(game, products) - self.alpha * torch.cat(shaping)
        )
        return theta - self.eta(game, state.t, theta) * direction, ()


def _loss_gradients(game: Game, theta: torch.Tensor, eager: bool) -> list[torch.Tensor]:
    """The gradient of each player's loss with respect to all parameters: one forward
    pass and one backward pass per player when ``eager``, ``torch.func.grad`` otherwise."""
    sizes = list(game.sizes)
    if not eager:
        return [
            torch.func.grad(lambda t, i=i: game.losses(tuple(torch.split(t, sizes)))[i])(theta)
            for i in range(len(sizes))
        ]
    leaf = theta.detach().requires_grad_(True)
    with torch.enable_grad():
        losses = game.losses(tuple(torch.split(leaf, sizes)))
        out = []
        for i, loss in enumerate(losses):
            if not loss.requires_grad:
                out.append(torch.zeros_like(theta))
                continue
            (g,) = torch.autograd.grad(
                loss, leaf, retain_graph=i < len(sizes) - 1, allow_unused=True
            )
            out.append(torch.zeros_like(theta) if g is None else g)
    return out
