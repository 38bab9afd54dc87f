r"""The path angle, after Berard et al. (2020): the vector field along a segment of parameters.

Along the segment :math:`\theta(\alpha) = \theta_a + \alpha(\theta_b - \theta_a)` between
two parameter points (two checkpoints, or the start and end of training),
:func:`path_angle` gives the cosine between the game's vector field and the path's
direction,

.. math::

    \cos\angle(\alpha) = \frac{\langle \xi(\theta(\alpha)), \theta_b - \theta_a\rangle}
    {\|\xi(\theta(\alpha))\|\,\|\theta_b - \theta_a\|},

and :math:`\|\xi(\theta(\alpha))\|^2`, plus each player's cosine (its block of :math:`\xi`
against its block of the direction) and loss.  For a potential game the cosine is the
slope of the potential along the path; near a locally stable point with strong rotation,
Berard et al. see :math:`\|\xi\|^2` dip near :math:`\alpha = 1` while the cosine stays
small and changes sign: the field mostly turns around the point rather than pointing at
it.  :class:`PathAngleDisplay` plots it.  For a GAN checkpoint, the fixed-batch game
comes from :func:`analyses.checkpoint_game` (:mod:`analyses.training`).

References
----------
H. Berard, G. Gidel, A. Almahairi, P. Vincent, S. Lacoste-Julien.  A closer look at the
optimization landscapes of generative adversarial networks.  ICLR 2020.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from games import Game, flatten_params, unflatten_params, validate_params, vector_field

from .plots import _axes
from .spectra import _PureForward

__all__ = ["PathAngle", "PathAngleDisplay", "path_angle"]


@dataclass(frozen=True)
class PathAngle:
    r"""The vector field along the segment :math:`\theta(\alpha) = \theta_a + \alpha(\theta_b - \theta_a)`.

    Attributes
    ----------
    alphas : numpy.ndarray
        The points of the segment (0 is :math:`\theta_a`, 1 is :math:`\theta_b`).
    cosine : numpy.ndarray
        :math:`\cos\angle(\xi(\theta(\alpha)), \theta_b - \theta_a)`; NaN where
        :math:`\xi = 0`.
    field_norm_sq : numpy.ndarray
        :math:`\|\xi(\theta(\alpha))\|^2`.
    player_cosines : dict of str to numpy.ndarray
        Per player: the cosine between its block of :math:`\xi` and its block of the
        direction (NaN where either is 0).
    losses : dict of str to numpy.ndarray
        Each player's loss along the segment.
    players : tuple of str
    distance : float
        :math:`\|\theta_b - \theta_a\|`.
    """

    alphas: np.ndarray
    cosine: np.ndarray
    field_norm_sq: np.ndarray
    player_cosines: dict[str, np.ndarray]
    losses: dict[str, np.ndarray]
    players: tuple[str, ...]
    distance: float

    def to_dict(self) -> dict[str, Any]:
        """Plain lists (NaN as None), for JSON."""

        def plain(values: np.ndarray) -> list[float | None]:
            return [None if not math.isfinite(v) else float(v) for v in values]

        return {
            "alphas": plain(self.alphas),
            "cosine": plain(self.cosine),
            "field_norm_sq": plain(self.field_norm_sq),
            "player_cosines": {p: plain(v) for p, v in self.player_cosines.items()},
            "losses": {p: plain(v) for p, v in self.losses.items()},
            "players": list(self.players),
            "distance": self.distance,
        }


def _cosine(u: torch.Tensor, v: torch.Tensor) -> float:
    nu, nv = float(torch.linalg.vector_norm(u)), float(torch.linalg.vector_norm(v))
    if nu == 0.0 or nv == 0.0:
        return math.nan
    return float(torch.dot(u, v)) / (nu * nv)


def _default_alphas() -> np.ndarray:
    """-0.2, -0.15, ..., 1.2 (29 points, 0 and 1 exactly among them)."""
    return np.round(np.linspace(-0.2, 1.2, 29), 12)


def path_angle(
    game: Game,
    start: Sequence[torch.Tensor],
    end: Sequence[torch.Tensor],
    alphas: Iterable[float] | None = None,
) -> PathAngle:
    r"""Cosine between :math:`\xi` and the path direction, and :math:`\|\xi\|^2`, along a segment.

    Parameters
    ----------
    game : Game
        A deterministic game (for a GAN: a fixed-batch one, see :func:`checkpoint_game`).
    start, end : sequence of torch.Tensor
        :math:`\theta_a` and :math:`\theta_b` (params tuples; computed in float64).
    alphas : iterable of float, optional
        Points of the segment; default -0.2 to 1.2 in steps of 0.05.

    Returns
    -------
    PathAngle

    Raises
    ------
    ValueError
        If ``start`` or ``end`` does not fit the game, they coincide, or ``alphas`` is
        empty or not finite.

    Examples
    --------
    The x·y game's field :math:`\xi(x, y) = (y, -x)` is orthogonal to every line
    through the origin:

    >>> from games import Bilinear, as_params
    >>> game = Bilinear.xy()
    >>> result = path_angle(game, as_params(game, [[-1.0], [-2.0]]), as_params(game, [[1.0], [2.0]]),
    ...                     alphas=[0.0, 0.25, 1.0])
    >>> result.cosine.round(12).tolist(), result.field_norm_sq.tolist()
    ([0.0, 0.0, 0.0], [5.0, 1.25, 5.0])
    """
    a = flatten_params(validate_params(game, start, name="start")).detach().to(torch.float64)
    b = flatten_params(validate_params(game, end, name="end")).detach().to(torch.float64)
    a, b = a.cpu(), b.to(a.device)
    grid = _default_alphas() if alphas is None else np.asarray(list(alphas), dtype=float)
    if grid.ndim != 1 or grid.size == 0 or not np.all(np.isfinite(grid)):
        raise ValueError(f"alphas: expected a non-empty sequence of finite numbers, got {grid!r}")
    direction = b - a
    distance = float(torch.linalg.vector_norm(direction))
    if distance == 0.0:
        raise ValueError("start, end: the two points coincide (the path has no direction)")
    parts = unflatten_params(game, direction)
    cosine, norm_sq = [], []
    player_cosines: dict[str, list[float]] = {p: [] for p in game.players}
    losses: dict[str, list[float]] = {p: [] for p in game.players}
    with _PureForward(game):
        for alpha in grid:
            theta = a + float(alpha) * direction
            point = unflatten_params(game, theta)
            xi_parts = vector_field(game, point)
            with torch.no_grad():
                values = game.losses(point)
            xi = flatten_params(xi_parts)
            cosine.append(_cosine(xi, direction))
            norm_sq.append(float(torch.dot(xi, xi)))
            for player, g, d, loss in zip(game.players, xi_parts, parts, values):
                player_cosines[player].append(_cosine(g, d))
                losses[player].append(float(loss))
    return PathAngle(
        grid,
        np.array(cosine),
        np.array(norm_sq),
        {p: np.array(v) for p, v in player_cosines.items()},
        {p: np.array(v) for p, v in losses.items()},
        tuple(game.players),
        distance,
    )


@dataclass
class PathAngleDisplay:
    r"""The path-angle plot: :math:`\cos\angle(\xi, \theta_b - \theta_a)` and :math:`\|\xi\|^2` against :math:`\alpha`.

    The cosine (left axis, per-player cosines dashed) and :math:`\|\xi\|^2` (right axis,
    log scale) with the endpoints :math:`\alpha = 0, 1` marked.  Build with
    :meth:`from_path_angle` or :meth:`from_game`, draw with :meth:`plot`.
    """

    result: PathAngle
    labels: tuple[str, str] = ("start", "end")
    title: str = "path angle"

    @classmethod
    def from_path_angle(
        cls,
        result: PathAngle,
        *,
        labels: tuple[str, str] = ("start", "end"),
        title: str | None = None,
    ) -> PathAngleDisplay:
        if not isinstance(result, PathAngle):
            raise TypeError(f"result: expected an analyses.PathAngle, got {type(result).__name__}")
        return cls(result, labels, title or "path angle")

    @classmethod
    def from_game(
        cls,
        game: Game,
        start: Sequence[torch.Tensor],
        end: Sequence[torch.Tensor],
        alphas: Iterable[float] | None = None,
        *,
        labels: tuple[str, str] = ("start", "end"),
        title: str | None = None,
    ) -> PathAngleDisplay:
        return cls.from_path_angle(path_angle(game, start, end, alphas), labels=labels, title=title)

    def plot(
        self, ax: Any = None, *, players: bool = True, log_norm: bool = True
    ) -> PathAngleDisplay:
        """Draw on ``ax`` (a new figure if None); ``|xi|^2`` goes on a twin axis (``norm_ax_``)."""
        (ax,) = _axes(ax, figsize=(6.4, 4.4), layout="constrained")
        r = self.result
        self.ax_, self.figure_ = ax, ax.figure
        ax.axhline(0.0, color="0.6", linewidth=0.8)
        self.endpoints_ = [
            ax.axvline(x, color="0.3", linestyle=":", linewidth=1.0) for x in (0.0, 1.0)
        ]
        (self.cosine_line_,) = ax.plot(
            r.alphas, r.cosine, "o-", color="tab:blue", markersize=3, label="cos(xi, path)"
        )
        self.player_lines_ = {}
        if players:
            for player, color in zip(r.players, ("tab:cyan", "tab:purple", "tab:olive")):
                (self.player_lines_[player],) = ax.plot(
                    r.alphas,
                    r.player_cosines[player],
                    "--",
                    color=color,
                    linewidth=1.0,
                    label=f"cos, {player} block",
                )
        ax.set_ylim(-1.05, 1.05)
        ax.set_xlabel(f"alpha  (0: {self.labels[0]}, 1: {self.labels[1]})")
        ax.set_ylabel("cosine between xi and theta_b - theta_a")
        self.norm_ax_ = ax.twinx()
        (self.norm_line_,) = self.norm_ax_.plot(
            r.alphas, r.field_norm_sq, "s-", color="tab:red", markersize=3, label="|xi|^2"
        )
        if log_norm and np.all(r.field_norm_sq > 0):
            self.norm_ax_.set_yscale("log")
        self.norm_ax_.set_ylabel("|xi|^2", color="tab:red")
        for alpha, label in zip((0.0, 1.0), self.labels):
            ax.annotate(
                label,
                (alpha, 1.0),
                xytext=(2, -2),
                textcoords="offset points",
                fontsize=8,
                va="top",
                color="0.3",
            )
        handles = [self.cosine_line_, *self.player_lines_.values(), self.norm_line_]
        ax.legend(handles=handles, fontsize=8, loc="upper left", framealpha=0.9)
        ax.set_title(self.title)
        return self
