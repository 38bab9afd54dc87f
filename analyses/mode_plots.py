"""Display objects for mode coverage: samples against the modes, coverage over training."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .modes import (
    ModeCoverage,
    _as_float_array,
    _check_coverages,
    _coverage,
    _validate,
    mode_coverage,  # noqa: F401  (the doctests use it)
)
from .plots import _axes

__all__ = ["CoverageDisplay", "SamplesDisplay"]


@dataclass
class CoverageDisplay:
    """Modes covered and high-quality % against the training step (two y-axes).

    Attributes
    ----------
    steps : numpy.ndarray
    modes_covered : numpy.ndarray
    high_quality_percent : numpy.ndarray
    n_modes : int
    """

    steps: np.ndarray
    modes_covered: np.ndarray
    high_quality_percent: np.ndarray
    n_modes: int
    title: str = "mode coverage during training"

    @classmethod
    def from_coverages(
        cls,
        steps: Sequence[float] | np.ndarray,
        coverages: Sequence[ModeCoverage],
        *,
        title: str | None = None,
    ) -> CoverageDisplay:
        """One coverage per step, all with the same number of modes.

        Examples
        --------
        >>> modes = [[0.0, 0.0], [1.0, 0.0]]
        >>> covs = [mode_coverage(s, modes, 0.01) for s in ([[0.0, 0.0], [3.0, 0.0]], [[0.0, 0.0], [1.0, 0.0]])]
        >>> display = CoverageDisplay.from_coverages([0, 100], covs)
        >>> display.modes_covered.tolist(), display.high_quality_percent.tolist()
        ([1, 2], [50.0, 100.0])
        """
        t = _as_float_array(steps, "steps")
        runs = _check_coverages(coverages, "coverages")
        if not runs:
            raise ValueError("coverages: expected at least one ModeCoverage")
        if t.shape != (len(runs),):
            raise ValueError(
                f"steps: expected a 1-D array with one step per coverage ({len(runs)}), got shape {t.shape}"
            )
        n_modes = {r.n_modes for r in runs}
        if len(n_modes) != 1:
            raise ValueError(f"coverages: expected one number of modes, got {sorted(n_modes)}")
        return cls(
            t,
            np.array([r.modes_covered for r in runs], dtype=np.int64),
            np.array([r.high_quality_percent for r in runs], dtype=np.float64),
            runs[0].n_modes,
            title or "mode coverage during training",
        )

    def plot(self, ax: Any = None) -> CoverageDisplay:
        (ax,) = _axes(ax)
        self.ax_, self.figure_ = ax, ax.figure
        (self.line_modes_,) = ax.plot(
            self.steps,
            self.modes_covered,
            color="tab:blue",
            marker="o",
            markersize=3,
            label="modes covered",
        )
        ax.axhline(self.n_modes, color="tab:blue", linestyle="--", linewidth=0.8)
        ax.set_ylim(-0.5, self.n_modes + 0.5)
        ax.set_xlabel("training step")
        ax.set_ylabel(f"modes covered (of {self.n_modes}; dashed: all)")
        self.ax_hq_ = ax.twinx()
        (self.line_hq_,) = self.ax_hq_.plot(
            self.steps,
            self.high_quality_percent,
            color="tab:orange",
            marker="s",
            markersize=3,
            label="high-quality %",
        )
        self.ax_hq_.set_ylim(-2.0, 102.0)
        self.ax_hq_.set_ylabel("high-quality samples (%)")
        ax.legend(handles=[self.line_modes_, self.line_hq_], fontsize=8, loc="lower right")
        ax.set_title(self.title)
        return self


@dataclass
class SamplesDisplay:
    """2-D samples coloured high quality or not, with the modes and their threshold circles.

    Attributes
    ----------
    samples : numpy.ndarray
        ``(n, 2)``.
    modes : numpy.ndarray
        ``(K, 2)``.
    radii : numpy.ndarray
        ``(K,)``, ``threshold * std`` per mode.
    high_quality : numpy.ndarray
        ``(n,)`` bool.
    coverage : ModeCoverage
    """

    samples: np.ndarray
    modes: np.ndarray
    radii: np.ndarray
    high_quality: np.ndarray
    coverage: ModeCoverage
    title: str = "samples"

    @classmethod
    def from_samples(
        cls,
        samples: np.ndarray | torch.Tensor | Sequence[Sequence[float]],
        modes: np.ndarray | torch.Tensor | Sequence[Sequence[float]],
        std: float | np.ndarray | torch.Tensor | Sequence[float],
        *,
        threshold: float = 3.0,
        title: str | None = None,
    ) -> SamplesDisplay:
        """Classify the samples as :func:`mode_coverage` does (2-D only).

        Examples
        --------
        >>> display = SamplesDisplay.from_samples([[0.0, 0.0], [0.5, 0.0]], [[0.0, 0.0]], 0.1)
        >>> display.high_quality.tolist(), display.radii.tolist()
        ([True, False], [0.30000000000000004])
        """
        x, m, s, t = _validate(samples, modes, std, threshold)
        if m.shape[1] != 2:
            raise ValueError(f"modes: expected 2-D points (K, 2) to draw, got shape {m.shape}")
        coverage, high = _coverage(x, m, s, t)
        title = title or (
            f"samples: {coverage.high_quality_percent:.1f}% high quality, "
            f"{coverage.modes_covered}/{coverage.n_modes} modes covered"
        )
        return cls(x, m, t * s, high, coverage, title)

    def plot(self, ax: Any = None) -> SamplesDisplay:
        import matplotlib.patches as mpatches

        (ax,) = _axes(ax)
        self.ax_, self.figure_ = ax, ax.figure
        good, bad = self.samples[self.high_quality], self.samples[~self.high_quality]
        self.high_quality_points_ = ax.scatter(
            good[:, 0], good[:, 1], s=4, color="tab:blue", label="high quality"
        )
        self.other_points_ = ax.scatter(
            bad[:, 0], bad[:, 1], s=4, color="tab:red", label="not high quality"
        )
        self.circles_ = []
        for center, radius in zip(self.modes, self.radii):
            circle = mpatches.Circle(
                (float(center[0]), float(center[1])),
                float(radius),
                fill=False,
                color="black",
                linewidth=0.8,
            )
            ax.add_patch(circle)
            self.circles_.append(circle)
        self.modes_ = ax.scatter(
            self.modes[:, 0],
            self.modes[:, 1],
            marker="x",
            color="black",
            s=30,
            label="modes (circles: threshold x std)",
        )
        ax.set_xlabel("x[0]")
        ax.set_ylabel("x[1]")
        ax.set_aspect("equal", adjustable="datalim")
        ax.legend(fontsize=8)
        ax.set_title(self.title)
        return self
