r"""Stability: fixed points and their classification, step-size bounds, unroll depth.

Conventions: a fixed point is locally asymptotically stable for the flow
:math:`\dot\theta = -\xi` iff every eigenvalue of :math:`J` has positive real part;
simultaneous GD with steps :math:`D` is stable iff :math:`\rho(I - DJ) < 1`; for an
eigenvalue :math:`\lambda` with :math:`\mathrm{Re}\,\lambda > 0` and one step size
:math:`\eta`, :math:`|1 - \eta\lambda| < 1 \iff \eta < 2\,\mathrm{Re}\,\lambda / |\lambda|^2`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from dynamics import Extragradient, ProximalPoint, linearize
from games import (
    Game,
    flatten_params,
    jacobian,
    sort_eigenvalues,
    unflatten_params,
    unrolled,
    validate_params,
    vector_field,
)

from ._batched import field_and_jacobian_on_points, field_on_points
from .regions import FIELD_TOL, StabilityRegion, _mapped

__all__ = [
    "TOL",
    "Classification",
    "UnrollDepthStudy",
    "classify",
    "find_fixed_points",
    "max_stable_step",
    "r1_gd_step_bound",
    "step_size_bounds",
    "unroll_depth",
]

TOL = 1e-9
"""The default tolerance of sign decisions: a real part of an eigenvalue of :math:`J`
(or a spectral radius minus 1) within ``TOL`` of 0 is marginal, it decides nothing."""


def step_size_bounds(eigenvalues: Sequence[complex] | np.ndarray) -> np.ndarray:
    r"""Per eigenvalue, the largest stable GD step :math:`2\,\mathrm{Re}\,\lambda/|\lambda|^2` (0 when :math:`\mathrm{Re}\,\lambda \le 0`)."""
    values = np.asarray(eigenvalues, dtype=complex)
    modulus = np.abs(values)
    safe = np.where(modulus > 0, modulus, 1)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # (Re λ/|λ|)/|λ| rather than Re λ/|λ|²: |λ|² overflows for |λ| > 1.3e154
        bounds = np.where((values.real > 0) & (modulus > 0), 2 * (values.real / safe) / safe, 0.0)
    return bounds


def max_stable_step(eigenvalues: Sequence[complex] | np.ndarray) -> float:
    """The largest step size for which simultaneous GD is stable (0 if none is); a
    ValueError for no eigenvalues (none decides no step size)."""
    values = np.asarray(eigenvalues, dtype=complex)
    if values.size == 0:
        raise ValueError("eigenvalues: expected at least one eigenvalue, got none")
    return float(step_size_bounds(values).min())


def r1_gd_step_bound(gamma: np.ndarray | Sequence[float] | float, slope: float = 0.5) -> np.ndarray:
    r"""Closed-form largest stable simultaneous-GD step of the R1 Dirac-GAN.

    At the equilibrium :math:`J = \begin{pmatrix}0 & c\\ -c & \gamma\end{pmatrix}` with
    :math:`c = f'(0)` (``slope``, 1/2 for the standard loss), so
    :math:`\lambda = (\gamma \pm \sqrt{\gamma^2 - 4c^2})/2` and GD is stable iff
    :math:`\eta < \min_\lambda 2\,\mathrm{Re}\,\lambda/|\lambda|^2`: :math:`\gamma/c^2`
    while :math:`\gamma < 2c` (complex pair, :math:`|\lambda| = c`), else
    :math:`2/\lambda_+`.  The report's Dirac-GAN study compares it with the boundary
    of the numerically computed stability region.

    Parameters
    ----------
    gamma : float or array_like
        R1 (or R2) weights :math:`\gamma \ge 0`.
    slope : float
        :math:`c = f'(0)`: 1/2 for the standard and non-saturating losses, 1 for WGAN.

    Returns
    -------
    numpy.ndarray
        The bound per ``gamma``, of ``gamma``'s shape (0-d for a scalar).

    Examples
    --------
    >>> r1_gd_step_bound([0.5, 1.0, 2.0]).round(4).tolist()
    [2.0, 4.0, 1.0718]
    """
    g = np.asarray(gamma, dtype=float)
    disc = g**2 - 4 * slope**2
    with np.errstate(invalid="ignore", divide="ignore"):
        complex_pair = g / slope**2
        real_pair = 2.0 / ((g + np.sqrt(np.maximum(disc, 0.0))) / 2)
    return np.where(disc < 0, complex_pair, real_pair)


@dataclass(frozen=True)
class Classification:
    """What kind of fixed point a point is, and the numbers behind the verdict.

    Attributes
    ----------
    kind : str
        ``'stable Nash'``, ``'stable, not Nash'`` (Berard et al.'s locally stable
        stationary point that is not a Nash equilibrium), ``'saddle'`` (real parts of
        both signs), ``'unstable'`` (all real parts negative), or ``'marginal'`` (some real
        part within ``tol`` of 0 and none negative: neither the flow nor GD converges
        locally).
    flow_stable : bool
        Every eigenvalue of J has real part > tol.
    nash : bool
        Every player's own Hessian has smallest eigenvalue > tol (differential Nash).
    eigenvalues : numpy.ndarray
    hessian_min_eigenvalues : tuple of float
        Smallest eigenvalue of each player's own Hessian.
    max_gd_step : float
        Largest stable step of simultaneous GD (0: no step size works).
    field_norm : float
        :math:`|\\xi|` at the point (a fixed point has ~0).
    tol : float
        The tolerance used for every sign decision.
    """

    kind: str
    flow_stable: bool
    nash: bool
    eigenvalues: np.ndarray
    hessian_min_eigenvalues: tuple[float, ...]
    max_gd_step: float
    field_norm: float
    tol: float


def classify(game: Game, point: Sequence[torch.Tensor], *, tol: float = TOL) -> Classification:
    """Classify a (fixed) point from the dense Jacobian and each player's Hessian.

    Examples
    --------
    >>> from games import DiracGAN
    >>> from analyses import classify
    >>> game = DiracGAN(regularizer="r1", gamma=1.0)
    >>> classify(game, game.equilibrium()).kind
    'stable, not Nash'
    """
    if not tol >= 0:
        raise ValueError(f"tol: expected a number >= 0, got {tol!r}")
    point = validate_params(game, point, name="point")
    J = jacobian(game, point)
    values = J.eigenvalues()  # a ValueError if J or they are not finite
    hessian_min = tuple(
        float(torch.linalg.eigvalsh(0.5 * J.hessian(i) + 0.5 * J.hessian(i).T).min())
        for i in range(len(game.sizes))
    )
    flow_stable = bool(np.all(values.real > tol))
    nash = all(h > tol for h in hessian_min)
    if flow_stable:
        kind = "stable Nash" if nash else "stable, not Nash"
    elif np.any(values.real > tol) and np.any(values.real < -tol):
        kind = "saddle"
    elif np.all(values.real < -tol):
        kind = "unstable"
    elif np.any(values.real < -tol):
        kind = "saddle"
    else:
        kind = "marginal"
    field_norm = float(torch.linalg.vector_norm(flatten_params(vector_field(game, point))))
    # the GD step bound only where the flow is stable at this tolerance (real parts within
    # tol of 0 would otherwise give a spurious positive bound)
    gd_step = max_stable_step(values) if flow_stable else 0.0
    return Classification(kind, flow_stable, nash, values, hessian_min, gd_step, field_norm, tol)


def find_fixed_points(
    game: Game,
    starts: torch.Tensor,
    *,
    max_iter: int = 100,
    tol: float = 1e-10,
    damping: float = 1e-3,
    merge_tol: float = 1e-6,
) -> list[tuple[torch.Tensor, ...]]:
    r"""Stationary points of the field from many starts (Levenberg–Marquardt on :math:`\tfrac12|\xi|^2`).

    Each iteration solves :math:`(J^\top J + \mu I)\delta = -J^\top\xi` with the dense
    Jacobian (small games), adapting :math:`\mu` per start.  All starts iterate together:
    the field and the Jacobians at every start still iterating are one batched
    (``torch.func.vmap``) call, not a Python loop over starts (a game whose field cannot
    be batched is evaluated start by start, with the same result).  Converged points
    (:math:`|\xi| <` ``tol``) are merged, in the order of ``starts``, when closer than
    ``merge_tol``.

    Parameters
    ----------
    starts : torch.Tensor
        Shape ``(S, n)``: flat starting points.

    Returns
    -------
    list of params tuples
        The distinct fixed points found.
    """
    n = sum(game.sizes)
    if not isinstance(starts, torch.Tensor) or starts.dim() != 2 or starts.shape[1] != n:
        raise ValueError(
            f"starts: expected a (S, {n}) tensor of flat points, got {getattr(starts, 'shape', type(starts).__name__)}"
        )
    points = starts.detach().to(torch.float64)
    # every start's iterations in one batched call; chunks bound the (S, n, n) Jacobians
    chunk = max(1, _JACOBIAN_ELEMENTS // (n * n))
    finals = [
        _levenberg_marquardt(game, points[k : k + chunk], max_iter, tol, damping)
        for k in range(0, len(points), chunk)
    ]
    found: list[torch.Tensor] = []
    for theta, converged in finals:
        for k in range(len(theta)):
            if bool(converged[k]) and not any(
                float(torch.linalg.vector_norm(theta[k] - f)) < merge_tol for f in found
            ):
                found.append(theta[k])
    return [unflatten_params(game, f.clone()) for f in found]


_JACOBIAN_ELEMENTS = 2**22
"""At most this many Jacobian entries (32 MiB in float64) per batch of starts."""


def _levenberg_marquardt(
    game: Game, starts: torch.Tensor, max_iter: int, tol: float, damping: float
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Levenberg–Marquardt from every row of ``starts`` at once: ``(final points, converged)``.

    Each start follows exactly the iterations it would follow alone (its own damping
    :math:`\mu`, accepted or rejected steps, stopping at convergence or a non-finite
    trial); the field and the Jacobians of all starts still iterating are evaluated in one
    batched call (:func:`analyses._batched.field_and_jacobian_on_points`).
    """
    theta = starts.clone()
    m, n = theta.shape
    mu = torch.full((m,), float(damping), dtype=theta.dtype, device=theta.device)
    active = torch.ones(m, dtype=torch.bool, device=theta.device)
    eye = torch.eye(n, dtype=theta.dtype, device=theta.device)
    for _ in range(max_iter):
        rows = active.nonzero().flatten()
        if rows.numel() == 0:
            break
        xi, J = field_and_jacobian_on_points(game, theta[rows])
        done = torch.linalg.vector_norm(xi, dim=1) < tol
        active[rows[done]] = False
        rows, xi, J = rows[~done], xi[~done], J[~done]
        norm = torch.linalg.vector_norm(xi, dim=1)
        if rows.numel() == 0:
            break
        Jt = J.transpose(1, 2)
        step = torch.linalg.solve(
            Jt @ J + mu[rows, None, None] * eye, -(Jt @ xi.unsqueeze(-1))
        ).squeeze(-1)
        trial = theta[rows] + step
        finite = torch.isfinite(trial).all(dim=1)
        active[rows[~finite]] = False
        rows, trial, norm = rows[finite], trial[finite], norm[finite]
        if rows.numel() == 0:
            continue
        better = torch.linalg.vector_norm(field_on_points(game, trial).detach(), dim=1) < norm
        theta[rows[better]] = trial[better]
        mu[rows[better]] = torch.clamp(mu[rows[better]] / 10, min=1e-12)
        mu[rows[~better]] *= 10
    final = torch.linalg.vector_norm(field_on_points(game, theta).detach(), dim=1)
    return theta, final < tol


def _fixed(game: Game, point: Sequence[torch.Tensor]) -> bool:
    """|xi(point)| below the fixed-point tolerance of the eigendecompose-once paths."""
    norm = float(torch.linalg.vector_norm(flatten_params(vector_field(game, point))))
    return norm < FIELD_TOL


@dataclass(frozen=True)
class UnrollDepthStudy:
    r"""Eigenvalues and stability of an unrolled game as functions of depth and inner step.

    Attributes
    ----------
    depths : numpy.ndarray
        Unroll depths ``K``.
    inner_lrs : numpy.ndarray
        Inner (discriminator) step sizes.
    lrs : numpy.ndarray
        Outer step sizes of the rule.
    eigenvalues : numpy.ndarray
        Shape ``(len(depths), len(inner_lrs), n)``: the unrolled game's Jacobian
        eigenvalues, by decreasing modulus (:func:`games.sort_eigenvalues`).
    spectral_radius : numpy.ndarray
        Shape ``(len(depths), len(inner_lrs), len(lrs))``: of the rule's step map.
    rule : str
        ``'gd'``, ``'extragradient'`` or ``'proximal'``.
    first_order : bool
        Whether the unrolling was first order.
    """

    depths: np.ndarray
    inner_lrs: np.ndarray
    lrs: np.ndarray
    eigenvalues: np.ndarray
    spectral_radius: np.ndarray
    rule: str
    first_order: bool

    @property
    def flow_stable(self) -> np.ndarray:
        r"""Shape ``(depths, inner_lrs)``: all :math:`\mathrm{Re}\,\lambda > 0` (continuous time)."""
        return np.asarray((self.eigenvalues.real > 0).all(axis=-1))

    @property
    def max_stable_step(self) -> np.ndarray:
        r"""Shape ``(depths, inner_lrs)``: the largest stable simultaneous-GD step
        :math:`\min_\lambda 2\,\mathrm{Re}\,\lambda/|\lambda|^2`."""
        return np.array([[max_stable_step(values) for values in row] for row in self.eigenvalues])

    @property
    def best_spectral_radius(self) -> np.ndarray:
        """Shape ``(depths, inner_lrs)``: the smallest spectral radius over ``lrs``."""
        return self.spectral_radius.min(axis=-1)

    @property
    def rate(self) -> np.ndarray:
        r"""The convergence rate :math:`-\log\rho` (negative where the rule diverges)."""
        with np.errstate(divide="ignore"):
            return -np.log(self.spectral_radius)

    def region(self, lr_index: int = 0) -> StabilityRegion:
        """The (depth x inner step) map at outer step ``lrs[lr_index]``, for heatmaps."""
        return StabilityRegion(
            ("unroll depth K", "inner step"),
            self.depths.astype(float),
            self.inner_lrs,
            self.spectral_radius[:, :, lr_index],
            "eigendecomposition",
        )


def unroll_depth(
    game: Game,
    point: Sequence[torch.Tensor],
    depths: Sequence[int],
    *,
    inner_lr: float | Sequence[float] | np.ndarray,
    lr: float | Sequence[float] | np.ndarray,
    rule: str = "gd",
    first_order: bool = False,
    inner: str = "sgd",
) -> UnrollDepthStudy:
    r"""Unroll-depth study: the spectrum of :func:`games.unrolled` games and a rule's
    spectral radius on them, over unroll depths ``K`` and inner step sizes.

    For each ``(K, inner_lr)`` the unrolled game's Jacobian at ``point`` is
    eigendecomposed once and the rule's step map :math:`I - \eta J` (gd),
    :math:`I - \eta J + \eta^2 J^2` (extragradient) or :math:`(I + \eta J)^{-1}`
    (proximal) is mapped over all outer steps ``lr``.  The last two are the rules'
    linearisations only where the unrolled game's field vanishes
    (:math:`|\xi| <` :data:`analyses.regions.FIELD_TOL`); at any other point the rule
    (:class:`dynamics.Extragradient`, :class:`dynamics.ProximalPoint`) is linearised
    exactly with :func:`dynamics.linearize` for every outer step instead.

    Parameters
    ----------
    game : Game
        Any game :func:`games.unrolled` accepts (player 0 the generator, 1 the
        discriminator).
    point : tuple of torch.Tensor
        Usually a fixed point of the base game (where the inner steps stand still, so
        it is a fixed point of every unrolled game too).
    depths : sequence of int
        Unroll depths ``K >= 0``.
    inner_lr : float or sequence of float
        Inner step sizes.
    lr : float or sequence of float
        Outer step sizes of ``rule``.
    rule : {"gd", "extragradient", "proximal"}
    first_order : bool
        First-order unrolling (see :func:`games.unrolled`).
    inner : {"sgd", "adam"}
        The inner rule.

    Returns
    -------
    UnrollDepthStudy

    Examples
    --------
    Unrolling the x·y game: :math:`\lambda = K\eta \pm \sqrt{K^2\eta^2 - 1}`, so any
    ``K >= 1`` makes the flow stable.

    >>> from games import Bilinear, as_params
    >>> from analyses import unroll_depth
    >>> game = Bilinear.xy()
    >>> study = unroll_depth(game, as_params(game, [[0.0], [0.0]]), [0, 1, 4],
    ...                      inner_lr=0.25, lr=0.5)
    >>> study.flow_stable[:, 0].tolist()
    [False, True, True]
    >>> study.spectral_radius[:, 0, 0].round(4).tolist()
    [1.118, 1.0, 0.5]
    """
    point = validate_params(game, point, name="point")
    ks = np.asarray(list(depths))
    if (
        ks.ndim != 1
        or ks.size == 0
        or not all(
            isinstance(k, (int, np.integer)) and not isinstance(k, bool) and k >= 0 for k in depths
        )
    ):
        raise ValueError(
            f"depths: expected a non-empty sequence of ints >= 0, got {list(depths)!r}"
        )
    inner_lrs = np.atleast_1d(np.asarray(inner_lr, dtype=float))
    lrs = np.atleast_1d(np.asarray(lr, dtype=float))
    for name, values in (("inner_lr", inner_lrs), ("lr", lrs)):
        if (
            values.ndim != 1
            or values.size == 0
            or not np.all(np.isfinite(values))
            or np.any(values < 0)
        ):
            raise ValueError(f"{name}: expected step sizes >= 0 (a float or a 1-D sequence)")
    if rule not in ("gd", "extragradient", "proximal"):
        raise ValueError(f"rule: expected 'gd', 'extragradient' or 'proximal', got {rule!r}")
    n = sum(game.sizes)
    eigenvalues = np.empty((ks.size, inner_lrs.size, n), dtype=complex)
    radius = np.empty((ks.size, inner_lrs.size, lrs.size))
    for a, k in enumerate(ks):
        for b, eta in enumerate(inner_lrs):
            unrolled_game = unrolled(
                game, int(k), lr=float(eta), inner=inner, first_order=first_order
            )
            mu = np.linalg.eigvals(jacobian(unrolled_game, point).matrix.cpu().numpy())
            eigenvalues[a, b] = sort_eigenvalues(mu)
            if rule == "gd" or _fixed(unrolled_game, point):
                radius[a, b] = _mapped(rule, mu, lrs)
            else:  # away from a fixed point: the exact linearisation per outer step
                make = Extragradient if rule == "extragradient" else ProximalPoint
                radius[a, b] = [
                    linearize(make(float(step)), unrolled_game, point).spectral_radius
                    for step in lrs
                ]
    return UnrollDepthStudy(ks, inner_lrs, lrs, eigenvalues, radius, rule, first_order)
