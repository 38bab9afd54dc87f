r"""Stability regions: the spectral radius of a rule's step map over a grid of two
hyper-parameters, and the two-timescale study.

For simultaneous GD the step map's Jacobian is :math:`I - DJ` everywhere, and for
extragradient, the proximal point method and consensus optimisation it is a polynomial or
rational function of :math:`J` *at a fixed point or on a game with an affine field*: one
eigendecomposition of :math:`J` then gives a whole row of the grid.  Anywhere else their
linearisations involve :math:`J` at other points (extragradient's look-ahead point, the
proximal step's end point) or second derivatives of :math:`\xi` (consensus'
:math:`\nabla(J^\top\xi)`), and :func:`stability_region` linearises every grid point
exactly with :func:`dynamics.linearize` instead: it never returns the fast answer where
it does not hold.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from dynamics import UpdateRule, linearize
from dynamics.registry import make_rule
from games import Game, flatten_params, jacobian, validate_params, vector_field

__all__ = [
    "FIELD_TOL",
    "StabilityRegion",
    "analytic_axes",
    "stability_region",
    "two_timescale",
]

FIELD_TOL = 1e-12
r"""Below this :math:`|\xi(\text{point})|` a point counts as a fixed point for the
eigendecompose-once path of :func:`stability_region` (on a game without an affine field)."""


@dataclass(frozen=True)
class StabilityRegion:
    r"""Spectral radius of a rule's step map over a grid of two hyper-parameters.

    Attributes
    ----------
    names : (str, str)
        The hyper-parameters on the rows and columns.
    rows, columns : numpy.ndarray
        Their values.
    spectral_radius : numpy.ndarray
        Shape ``(len(rows), len(columns))``.
    method : str
        ``'eigendecomposition'`` (one eigendecomposition of :math:`J` per column) or
        ``'linearize'`` (:func:`dynamics.linearize` at every grid point).
    """

    names: tuple[str, str]
    rows: np.ndarray
    columns: np.ndarray
    spectral_radius: np.ndarray
    method: str = field(default="eigendecomposition")

    @property
    def stable(self) -> np.ndarray:
        """Where the spectral radius is below 1."""
        return self.spectral_radius < 1.0

    @property
    def rate(self) -> np.ndarray:
        r"""The linear convergence rate :math:`-\log\rho` (negative where it diverges)."""
        with np.errstate(divide="ignore"):
            return -np.log(self.spectral_radius)


_ANALYTIC = ("gd", "extragradient", "proximal", "consensus")


def _mapped(rule: str, mu: np.ndarray, eta: np.ndarray) -> np.ndarray:
    """Spectral radius of the rule's operator from the eigenvalues mu of D J / eta."""
    z = eta[:, None] * mu[None, :]
    if rule in ("gd", "consensus"):
        ops = 1 - z
    elif rule == "extragradient":
        ops = 1 - z + z**2
    else:  # proximal
        ops = 1 / (1 + z)
    return np.abs(ops).max(axis=1)


def analytic_axes(
    rule: str,
    game: Game,
    point: Sequence[torch.Tensor],
    *,
    ratio: float = 1.0,
    field_norm: float | None = None,
) -> tuple[str, str] | None:
    r"""The axes on which :func:`stability_region`'s eigendecompose-once path is exact.

    :func:`stability_region` with a rule *name* takes the step map to be a function of
    :math:`J` at ``point`` alone.  That is the rule's linearisation for ``'gd'``
    anywhere (:math:`I - DJ`), but for ``'extragradient'``, ``'proximal'`` and
    ``'consensus'`` only at a fixed point (:math:`|\xi| <` :data:`FIELD_TOL`) or on a
    game with an affine field (``game.affine_field()``): elsewhere their linearisations
    involve :math:`J` at other points or second derivatives of :math:`\xi`.
    :class:`dynamics.ProximalPoint` iterates a fixed-point map on non-affine games, so
    ``'proximal'`` needs an affine game; ``'consensus'`` has one step size (its axes are
    ``lr`` and ``gamma``), so it needs ``ratio == 1``.

    Parameters
    ----------
    rule : str
        The rule's name in the eigendecompose-once path
        (:attr:`dynamics.registry.RuleEntry.analytic`).
    game, point
        The game (two players, but for consensus) and the point of the linearisation.
    ratio : float
        The rule's fixed step-size ratio (discriminator step / generator step).
    field_norm : float, optional
        :math:`|\xi|` at ``point`` when already known (else computed).

    Returns
    -------
    (str, str) or None
        ``('lr', 'ratio')`` (``('lr', 'gamma')`` for consensus): any grid over a subset of
        these axes is exact; ``None``: linearise every grid point instead
        (:func:`dynamics.linearize`), as :func:`stability_region` then does.

    Examples
    --------
    >>> from games import DiracGAN
    >>> game = DiracGAN(regularizer="r1", gamma=1.0)
    >>> analytic_axes("extragradient", game, game.equilibrium())
    ('lr', 'ratio')
    >>> analytic_axes("extragradient", game, (torch.ones(1), torch.ones(1))) is None  # not fixed
    True
    """
    if rule not in _ANALYTIC:
        raise ValueError(f"rule: expected one of {_ANALYTIC}, got {rule!r}")
    if len(game.sizes) != 2 and rule != "consensus":
        return None  # the ratio axis needs two players
    affine = hasattr(game, "affine_field")
    if rule != "gd" and not affine:
        if field_norm is None:
            field_norm = float(torch.linalg.vector_norm(flatten_params(vector_field(game, point))))
        if not field_norm < FIELD_TOL:
            return None
    if rule == "proximal" and not affine:
        return None
    if rule == "consensus":
        return ("lr", "gamma") if ratio == 1.0 else None
    return ("lr", "ratio")


def _grid(
    axes: dict[str, Sequence[float] | np.ndarray],
) -> tuple[str, np.ndarray, str, np.ndarray]:
    if len(axes) != 2:
        raise ValueError(
            f"axes: expected exactly two hyper-parameter axes as keywords, got {sorted(axes)}"
        )
    (name_a, values_a), (name_b, values_b) = axes.items()
    a, b = np.asarray(values_a, dtype=float), np.asarray(values_b, dtype=float)
    for name, values in ((name_a, a), (name_b, b)):
        if values.ndim != 1 or values.size == 0 or not np.all(np.isfinite(values)):
            raise ValueError(f"{name}: expected a non-empty 1-D sequence of finite numbers")
    return name_a, a, name_b, b


def _named_factory(rule: str) -> Callable[..., UpdateRule]:
    """The rule called ``rule`` as a factory of the named path's axes, for linearize."""

    def make(lr: float, ratio: float = 1.0, gamma: float = 1.0) -> UpdateRule:
        step = lr if ratio == 1.0 else [lr, lr * ratio]
        if rule == "consensus":
            return make_rule(rule, step, gamma=gamma)
        return make_rule(rule, step)

    return make


def _linearized(
    game: Game,
    point: Sequence[torch.Tensor],
    factory: Callable[..., UpdateRule],
    name_a: str,
    values_a: np.ndarray,
    name_b: str,
    values_b: np.ndarray,
) -> np.ndarray:
    radius = np.empty((values_a.size, values_b.size))
    for i, a in enumerate(values_a):
        for j, b in enumerate(values_b):
            rule = factory(**{name_a: float(a), name_b: float(b)})
            if not isinstance(rule, UpdateRule):
                raise TypeError(
                    f"rule: expected the factory to return a dynamics.UpdateRule, got "
                    f"{type(rule).__name__}"
                )
            radius[i, j] = linearize(rule, game, point).spectral_radius
    return radius


def stability_region(
    game: Game,
    point: Sequence[torch.Tensor],
    rule: str | Callable[..., UpdateRule],
    **axes: Sequence[float] | np.ndarray,
) -> StabilityRegion:
    r"""The spectral radius of ``rule``'s step map at ``point`` over a grid of two hyper-parameters.

    ``rule`` is a name in ``('gd', 'extragradient', 'proximal', 'consensus')`` with the
    axes ``lr`` and ``ratio`` (the discriminator's step is ``ratio * lr``, two players)
    for gd/extragradient/proximal, ``lr`` and ``gamma`` for consensus; or a factory
    ``rule(**hyper) -> UpdateRule`` of any two keyword axes (e.g. ``lambda lr, beta:
    Alternating(Momentum(lr, beta=beta))``), every grid point linearised with
    :func:`dynamics.linearize`.

    A named rule takes the fast path where it is exact (:func:`analytic_axes`): the step
    map is then a polynomial or rational function of :math:`J` (:math:`I - \eta J`,
    :math:`I - \eta J + \eta^2 J^2`, :math:`(I + \eta J)^{-1}`,
    :math:`I - \eta(J + \gamma J^\top J)`), so one eigendecomposition per value of the
    other axis gives a whole row.  Elsewhere — extragradient, proximal or consensus away
    from a fixed point of a game without an affine field — every grid point is linearised
    with :func:`dynamics.linearize` instead (the same rule, built by
    :func:`dynamics.registry.make_rule`); the result's ``method`` says which path was
    taken.

    Parameters
    ----------
    game : Game
    point : tuple of torch.Tensor
    rule : str or callable
    **axes : 1-D sequences of float
        Exactly two: the hyper-parameters and their values.

    Returns
    -------
    StabilityRegion

    Examples
    --------
    >>> import numpy as np
    >>> from games import DiracGAN, as_params
    >>> from analyses import stability_region
    >>> game = DiracGAN(regularizer="r1", gamma=1.0)
    >>> region = stability_region(game, game.equilibrium(), "gd", lr=[1.0, 5.0], ratio=[1.0])
    >>> region.stable[:, 0].tolist(), region.method
    ([True, False], 'eigendecomposition')

    Away from the equilibrium, extragradient is linearised point by point:

    >>> away = as_params(game, [[0.8], [-0.6]])
    >>> region = stability_region(game, away, "extragradient", lr=[0.9], ratio=[1.0])
    >>> round(float(region.spectral_radius[0, 0]), 3), region.method
    (0.943, 'linearize')
    """
    point = validate_params(game, point, name="point")
    name_a, values_a, name_b, values_b = _grid(dict(axes))
    if not isinstance(rule, str):
        if not callable(rule):
            raise TypeError(f"rule: expected a rule name or a factory, got {type(rule).__name__}")
        radius = _linearized(game, point, rule, name_a, values_a, name_b, values_b)
        return StabilityRegion((name_a, name_b), values_a, values_b, radius, "linearize")
    if rule not in _ANALYTIC:
        raise ValueError(
            f"rule: expected one of {_ANALYTIC} or a factory returning an UpdateRule, got {rule!r}"
        )
    expected = {"lr", "gamma"} if rule == "consensus" else {"lr", "ratio"}
    if {name_a, name_b} != expected:
        raise ValueError(
            f"axes: rule {rule!r} takes the axes {sorted(expected)}, got {[name_a, name_b]}"
        )
    lr = values_a if name_a == "lr" else values_b
    other = values_b if name_a == "lr" else values_a
    if np.any(lr < 0):
        raise ValueError("lr: expected step sizes >= 0")
    if rule != "consensus":
        if len(game.sizes) != 2:
            raise ValueError("ratio: the step-size ratio axis needs a two-player game")
        if np.any(other < 0):
            raise ValueError("ratio: expected ratios >= 0")
    if analytic_axes(rule, game, point) is None:  # the fast path would not be exact here
        radius = _linearized(game, point, _named_factory(rule), name_a, values_a, name_b, values_b)
        return StabilityRegion((name_a, name_b), values_a, values_b, radius, "linearize")
    J = jacobian(game, point).matrix.detach().cpu().to(torch.float64).numpy()
    radius = np.empty((lr.size, other.size))
    for j, value in enumerate(other):
        if rule == "consensus":
            mu = np.linalg.eigvals(J + value * J.T @ J)
        else:
            scale = np.concatenate([np.ones(game.sizes[0]), np.full(game.sizes[1], value)])
            mu = np.linalg.eigvals(scale[:, None] * J)
        radius[:, j] = _mapped(rule, mu, lr)
    if name_a != "lr":
        radius = radius.T
    return StabilityRegion((name_a, name_b), values_a, values_b, radius, "eigendecomposition")


def two_timescale(
    game: Game,
    point: Sequence[torch.Tensor],
    lr: Sequence[float] | np.ndarray,
    ratio: Sequence[float] | np.ndarray,
    *,
    rule: str = "gd",
) -> StabilityRegion:
    r"""Two-timescale study: spectral radius over the generator's step ``lr`` and the ratio :math:`\eta_D/\eta_G`.

    One eigendecomposition of :math:`\mathrm{diag}(1, r)J` per ratio ``r`` (two players)
    where that is exact (see :func:`stability_region`), else every grid point linearised.
    """
    if rule not in ("gd", "extragradient", "proximal"):
        raise ValueError(f"rule: expected 'gd', 'extragradient' or 'proximal', got {rule!r}")
    return stability_region(game, point, rule, lr=lr, ratio=ratio)
