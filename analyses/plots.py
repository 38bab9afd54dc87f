r"""Plots as scikit-learn-style Display objects: compute once with ``from_...``, draw with ``.plot(ax=...)``.

No ``plt.show()`` here; every ``plot`` returns the Display with its artists kept
(``ax_``, ``figure_`` and the plot-specific handles), works headless (Agg), and labels
its axes with the convention used.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from dynamics import Trajectory, UpdateRule, run
from games import Game, flatten_params, jacobian, unflatten_params, validate_params

from ._batched import field_on_points as _field_on_points
from .regions import StabilityRegion

__all__ = [
    "EigenvalueDisplay",
    "PhasePortraitDisplay",
    "SpectralRadiusDisplay",
    "StabilityRegionDisplay",
    "TrajectoryNormDisplay",
]


def _axes(
    ax: Any,
    count: int = 1,
    *,
    figsize: tuple[float, float] | None = None,
    layout: str | None = None,
) -> list[Any]:
    """The ``count`` matplotlib Axes a Display draws on (every Display's ``plot(ax=...)``).

    ``ax`` as given (one Axes, or ``count`` of them in any array shape), or, when ``ax``
    is None, those of a new 1 x ``count`` figure (``figsize``, ``layout`` as for
    :func:`matplotlib.pyplot.subplots`).
    """
    if ax is None:
        import matplotlib.pyplot as plt

        _, created = plt.subplots(1, count, figsize=figsize, layout=layout)
        return list(np.atleast_1d(created))
    axes = list(np.ravel(np.asarray(ax, dtype=object))) if count > 1 else [ax]
    if len(axes) != count:
        raise ValueError(f"ax: expected {count} matplotlib Axes, got {len(axes)}")
    return axes


@dataclass
class PhasePortraitDisplay:
    r"""Streamlines of the flow :math:`\dot\theta = -\xi(\theta)` on a 2-D slice, with trajectories.

    Attributes
    ----------
    x, y : numpy.ndarray
        The grid axes (values of the two sliced coordinates).
    u, v : numpy.ndarray
        :math:`-\xi` along the two coordinates on the grid, shape ``(len(y), len(x))``.
    trajectories : dict of str to numpy.ndarray
        Named paths, each ``(T, 2)`` in the slice's coordinates.
    labels : (str, str)
    """

    x: np.ndarray
    y: np.ndarray
    u: np.ndarray
    v: np.ndarray
    trajectories: dict[str, np.ndarray] = field(default_factory=dict)
    labels: tuple[str, str] = ("theta_0", "theta_1")
    title: str = "phase portrait"

    @classmethod
    def from_game(
        cls,
        game: Game,
        xlim: tuple[float, float],
        ylim: tuple[float, float],
        *,
        coordinates: tuple[int, int] = (0, 1),
        base: Sequence[torch.Tensor] | None = None,
        resolution: int = 25,
        rules: Mapping[str, UpdateRule] | None = None,
        start: Sequence[float] | None = None,
        steps: int = 100,
        title: str | None = None,
        labels: tuple[str, str] | None = None,
        dtype: torch.dtype = torch.float64,
    ) -> PhasePortraitDisplay:
        """Evaluate the field on a grid over two flat coordinates (others fixed at ``base``)
        and run each rule in ``rules`` from ``start`` (in the slice's coordinates).

        The whole grid is one batched (``torch.func.vmap``) evaluation of the field, in
        ``dtype`` (float64 by default).
        ``labels`` names the two axes (default: ``player[index]`` of each coordinate)."""
        if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
            raise TypeError(
                f"dtype: expected a real floating torch dtype (torch.float64, torch.float32), "
                f"got {dtype!r}"
            )
        n = sum(game.sizes)
        i, j = coordinates
        if not (0 <= i < n and 0 <= j < n and i != j):
            raise ValueError(
                f"coordinates: expected two distinct flat indices below {n}, got {coordinates}"
            )
        theta0 = (
            torch.zeros(n, dtype=dtype)
            if base is None
            else flatten_params(validate_params(game, base, name="base")).detach().to(dtype)
        )
        x = np.linspace(*xlim, resolution)
        y = np.linspace(*ylim, resolution)
        xx, yy = np.meshgrid(x, y)
        points = theta0.repeat(xx.size, 1)
        points[:, i] = torch.as_tensor(xx.ravel(), dtype=dtype)
        points[:, j] = torch.as_tensor(yy.ravel(), dtype=dtype)
        xi = _field_on_points(game, points).detach().cpu().double().numpy()
        u, v = -xi[:, i].reshape(xx.shape), -xi[:, j].reshape(xx.shape)
        paths: dict[str, np.ndarray] = {}
        if rules:
            s = theta0.clone()
            if start is None:
                raise ValueError("start: needed to run the rules' trajectories")
            s[i], s[j] = float(start[0]), float(start[1])
            for name, rule in rules.items():
                traj = run(game, rule, unflatten_params(game, s), steps)
                paths[name] = traj.params[:, [i, j]].detach().cpu().double().numpy()
        names = [
            f"{game.players[game_index(game, k)]}[{k - sum(game.sizes[: game_index(game, k)])}]"
            for k in coordinates
        ]
        if labels is not None and (
            isinstance(labels, str)
            or len(labels) != 2
            or not all(isinstance(t, str) for t in labels)
        ):
            raise ValueError(f"labels: expected two axis names, got {labels!r}")
        return cls(
            x,
            y,
            u,
            v,
            paths,
            (labels[0], labels[1]) if labels is not None else (names[0], names[1]),
            title or f"phase portrait of {type(game).__name__}",
        )

    def plot(self, ax: Any = None, *, density: float = 1.0) -> PhasePortraitDisplay:
        (ax,) = _axes(ax)
        self.ax_, self.figure_ = ax, ax.figure
        self.streams_ = ax.streamplot(
            self.x, self.y, self.u, self.v, color="0.6", density=density, linewidth=0.8
        )
        self.lines_ = {}
        for name, path in self.trajectories.items():
            (line,) = ax.plot(path[:, 0], path[:, 1], marker=".", markersize=2, label=name)
            self.lines_[name] = line
        starts = {tuple(path[0]) for path in self.trajectories.values() if len(path)}
        self.starts_ = None
        if starts:
            sx, sy = zip(*starts)
            self.starts_ = ax.scatter(
                sx,
                sy,
                s=60,
                marker="o",
                facecolor="white",
                edgecolor="black",
                zorder=4,
                label="start",
            )
        if self.trajectories:
            # a fixed corner: "best" searches against every streamline arrow (seconds)
            ax.legend(fontsize=8, loc="upper right")
        ax.set_xlabel(self.labels[0])
        ax.set_ylabel(self.labels[1])
        ax.set_title(self.title + "\n(arrows: the flow −ξ)")
        return self


def game_index(game: Game, flat_index: int) -> int:
    """The player owning flat parameter ``flat_index``."""
    total = 0
    for player, size in enumerate(game.sizes):
        total += size
        if flat_index < total:
            return player
    raise ValueError(f"flat_index: {flat_index} out of range")


@dataclass
class EigenvalueDisplay:
    r"""Eigenvalues of :math:`J` in the complex plane, with simultaneous GD's stability region for a step.

    GD with step :math:`\eta` is stable iff every eigenvalue lies in the open disc
    :math:`|\lambda - 1/\eta| < 1/\eta`; the flow iff every eigenvalue has positive real part.
    """

    eigenvalues: np.ndarray
    lr: float | None = None
    title: str = "eigenvalues of J"

    @classmethod
    def from_game(
        cls,
        game: Game,
        point: Sequence[torch.Tensor],
        *,
        lr: float | None = None,
        title: str | None = None,
    ) -> EigenvalueDisplay:
        if lr is not None and not lr > 0:
            raise ValueError(f"lr: expected a positive step size, got {lr!r}")
        values = jacobian(game, point).eigenvalues()
        return cls(values, lr, title or f"eigenvalues of J: {type(game).__name__}")

    @property
    def gd_stable(self) -> bool | None:
        """Whether GD with ``lr`` is stable (None without ``lr``)."""
        if self.lr is None:
            return None
        return bool(np.all(np.abs(1 - self.lr * self.eigenvalues) < 1))

    def plot(self, ax: Any = None) -> EigenvalueDisplay:
        import matplotlib.patches as mpatches

        (ax,) = _axes(ax)
        self.ax_, self.figure_ = ax, ax.figure
        ax.axvline(0.0, color="0.5", linewidth=0.8)
        ax.axhline(0.0, color="0.5", linewidth=0.8)
        if self.lr is not None:
            self.region_ = mpatches.Circle(
                (1 / self.lr, 0.0),
                1 / self.lr,
                facecolor=(0.17, 0.63, 0.17, 0.10),
                edgecolor="tab:green",
                linewidth=1.0,
                label=f"GD stable, eta = {self.lr:g}",
            )
            ax.add_patch(self.region_)
        self.points_ = ax.scatter(
            self.eigenvalues.real,
            self.eigenvalues.imag,
            s=70,
            color="tab:red",
            edgecolor="black",
            linewidth=0.6,
            zorder=3,
            label="eigenvalues of J",
        )
        distinct = np.unique(np.round(self.eigenvalues, 6))
        if 0 < distinct.size <= 4:  # few values: write them next to their points
            for value in distinct:
                text = f"{value.real:.3g}" + (
                    f" {'+' if value.imag >= 0 else '−'} {abs(value.imag):.3g}i"
                    if abs(value.imag) > 1e-9
                    else ""
                )
                ax.annotate(
                    text,
                    (value.real, value.imag),
                    xytext=(8, 4),
                    textcoords="offset points",
                    fontsize=8,
                )
        if self.eigenvalues.size:
            # frame the eigenvalues (they carry the information), not the whole disc
            re, im = self.eigenvalues.real, self.eigenvalues.imag
            reach = max(float(np.abs(self.eigenvalues).max()), 0.25)
            xlo, xhi = min(re.min(), 0.0) - 0.6 * reach, max(re.max(), 0.0) + 1.2 * reach
            ylo, yhi = min(im.min(), 0.0) - 0.6 * reach, max(im.max(), 0.0) + 0.6 * reach
            half = max(xhi - xlo, yhi - ylo) / 2  # a square frame: every panel the same shape
            xc, yc = (xlo + xhi) / 2, (ylo + yhi) / 2
            ax.set_xlim(xc - half, xc + half)
            ax.set_ylim(yc - half, yc + half)
        ax.set_xlabel("Re(lambda)  (> 0: stable for the flow)")
        ax.set_ylabel("Im(lambda)  (rotation)")
        ax.set_title(self.title)
        ax.set_aspect("equal", adjustable="box")
        ax.legend(fontsize=8)
        return self


def _rho_colormap() -> Any:
    """Greens for ρ in [0, 1), oranges to reds for ρ in [1, 2]: a visible break at ρ = 1.

    On ``vmin=0, vmax=2`` a diverging map centred at 1 paints ρ = 0.99 and ρ = 1.01 the same
    pale colour; here the two sides of 1 differ in hue.
    """
    import matplotlib as mpl

    below = mpl.colormaps["Greens_r"](np.linspace(0.0, 0.7, 128))
    above = mpl.colormaps["OrRd"](np.linspace(0.3, 1.0, 128))
    return mpl.colors.ListedColormap(np.vstack([below, above]), name="gamedyn_rho")


@dataclass
class StabilityRegionDisplay:
    """A heatmap of the spectral radius over two hyper-parameters, with the boundary rho = 1."""

    region: StabilityRegion
    title: str = "stability region"

    @classmethod
    def from_region(
        cls, region: StabilityRegion, *, title: str | None = None
    ) -> StabilityRegionDisplay:
        if not isinstance(region, StabilityRegion):
            raise TypeError(
                f"region: expected an analyses.StabilityRegion, got {type(region).__name__}"
            )
        return cls(region, title or "spectral radius of the step map")

    def plot(
        self, ax: Any = None, *, log_axes: tuple[bool, bool] = (False, False)
    ) -> StabilityRegionDisplay:
        (ax,) = _axes(ax)
        self.ax_, self.figure_ = ax, ax.figure
        r = self.region
        rho = np.minimum(r.spectral_radius, 2.0)
        self.mesh_ = ax.pcolormesh(
            r.columns, r.rows, rho, shading="auto", cmap=_rho_colormap(), vmin=0.0, vmax=2.0
        )
        self.colorbar_ = ax.figure.colorbar(
            self.mesh_, ax=ax, label="spectral radius ρ (green < 1 ≤ red; clipped at 2)"
        )
        if (
            r.spectral_radius.shape[0] > 1
            and r.spectral_radius.shape[1] > 1
            and (rho < 1).any()
            and (rho > 1).any()
        ):
            self.contour_ = ax.contour(
                r.columns, r.rows, r.spectral_radius, levels=[1.0], colors="black"
            )
        ax.set_xlabel(r.names[1])
        ax.set_ylabel(r.names[0])
        if log_axes[1]:
            ax.set_xscale("log")
        if log_axes[0]:
            ax.set_yscale("log")
        ax.set_title(self.title + "\n(black line: ρ = 1)")
        return self


@dataclass
class SpectralRadiusDisplay:
    """Spectral radius against one hyper-parameter (step-size ratio, unroll depth, ...)."""

    values: np.ndarray
    spectral_radius: np.ndarray
    name: str
    title: str = "spectral radius"

    @classmethod
    def from_values(
        cls,
        values: Sequence[float] | np.ndarray,
        spectral_radius: Sequence[float] | np.ndarray,
        name: str,
        *,
        title: str | None = None,
    ) -> SpectralRadiusDisplay:
        v, rho = np.asarray(values, dtype=float), np.asarray(spectral_radius, dtype=float)
        if v.shape != rho.shape or v.ndim != 1:
            raise ValueError(
                f"values, spectral_radius: expected two 1-D arrays of one length, got {v.shape} and {rho.shape}"
            )
        return cls(v, rho, name, title or f"spectral radius against {name}")

    @classmethod
    def from_region(
        cls, region: StabilityRegion, *, row: int = 0, title: str | None = None
    ) -> SpectralRadiusDisplay:
        """One row of a region, against the column hyper-parameter."""
        return cls.from_values(
            region.columns, region.spectral_radius[row], region.names[1], title=title
        )

    def plot(self, ax: Any = None, *, log_x: bool = False) -> SpectralRadiusDisplay:
        (ax,) = _axes(ax)
        self.ax_, self.figure_ = ax, ax.figure
        (self.line_,) = ax.plot(self.values, self.spectral_radius, marker="o", markersize=3)
        ax.axhline(1.0, color="black", linestyle="--", linewidth=0.8)
        if log_x:
            ax.set_xscale("log")
        ax.set_xlabel(self.name)
        ax.set_ylabel("spectral radius rho (< 1: converges)")
        ax.set_title(self.title)
        return self


@dataclass
class TrajectoryNormDisplay:
    r"""Distance to a point, :math:`|\theta_t - \theta^*|`, against steps on a log axis, for several runs."""

    steps: dict[str, np.ndarray]
    norms: dict[str, np.ndarray]
    title: str = "distance to the fixed point"

    @classmethod
    def from_trajectories(
        cls,
        trajectories: Mapping[str, Trajectory],
        *,
        center: Sequence[torch.Tensor] | None = None,
        title: str | None = None,
    ) -> TrajectoryNormDisplay:
        if not trajectories:
            raise ValueError("trajectories: expected at least one named Trajectory")
        steps = {name: np.asarray(t.steps) for name, t in trajectories.items()}
        norms = {name: t.norms(center).numpy() for name, t in trajectories.items()}
        return cls(steps, norms, title or "distance to the fixed point")

    def plot(self, ax: Any = None) -> TrajectoryNormDisplay:
        (ax,) = _axes(ax)
        self.ax_, self.figure_ = ax, ax.figure
        self.lines_ = {}
        for name in self.steps:
            (line,) = ax.semilogy(
                self.steps[name], np.maximum(self.norms[name], 1e-300), label=name
            )
            self.lines_[name] = line
        ax.set_xlabel("step")
        ax.set_ylabel("|theta_t - theta*| (log scale)")
        ax.set_title(self.title)
        ax.legend(fontsize=8)
        return self
