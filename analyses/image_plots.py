"""Display objects for generated images: a grid of samples and the mode histogram.

The image counterparts of :class:`analyses.SamplesDisplay` for
:func:`gan_models.digits` and :func:`gan_models.stacked_digits` (whose modes are digit
labels, counted by :func:`analyses.digit_coverage`, not points in the plane).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .plots import _axes

__all__ = ["ImageGridDisplay", "ModeHistogramDisplay"]


def _images(samples: Any, channels: int, side: int) -> np.ndarray:
    """``samples`` as ``(n, side, side, channels)`` floats, checked."""
    if isinstance(channels, bool) or not isinstance(channels, int) or channels not in (1, 3):
        raise ValueError(f"channels: expected 1 (grey) or 3 (colour), got {channels!r}")
    if isinstance(side, bool) or not isinstance(side, int) or side < 1:
        raise ValueError(f"side: expected an int >= 1, got {side!r}")
    if isinstance(samples, torch.Tensor):
        samples = samples.detach().cpu().to(torch.float64).numpy()
    x = np.asarray(samples, dtype=np.float64)
    pixels = channels * side * side
    if x.ndim == 2 and x.shape[1] == pixels:
        x = x.reshape(-1, channels, side, side)
    if x.ndim != 4 or x.shape[1:] != (channels, side, side) or x.shape[0] == 0:
        raise ValueError(
            f"samples: expected a non-empty (n, {pixels}) or (n, {channels}, {side}, {side}) "
            f"array, got shape {x.shape}"
        )
    if not np.all(np.isfinite(x)):
        raise ValueError("samples: expected finite values, got NaN or Inf")
    return x.transpose(0, 2, 3, 1)


@dataclass
class ImageGridDisplay:
    """A grid of images, tiled into one picture with a one-pixel border.

    Images live in the data's range ``[-1, 1]`` (:func:`gan_models.digits`); values
    outside it are clipped for display only.  One channel is drawn in grey (white
    strokes on black, like the data), three channels as RGB: the three stacked digits of
    :func:`gan_models.stacked_digits` overlap in red, green and blue.

    Attributes
    ----------
    mosaic : numpy.ndarray
        ``(H, W)`` or ``(H, W, 3)`` in ``[0, 1]``: the tiled images.
    rows, cols : int
    shown : int
        How many images the grid holds (``min(n, rows * cols)``).
    """

    mosaic: np.ndarray
    rows: int
    cols: int
    shown: int
    title: str = "samples"

    @classmethod
    def from_samples(
        cls,
        samples: Any,
        *,
        channels: int = 1,
        side: int = 8,
        rows: int = 8,
        cols: int = 8,
        title: str | None = None,
    ) -> ImageGridDisplay:
        """Tile the first ``rows * cols`` images of ``samples``.

        Parameters
        ----------
        samples : array_like or torch.Tensor
            ``(n, channels * side**2)`` (flat, as the generators return them) or
            ``(n, channels, side, side)``.
        channels : {1, 3}
        side : int
            Image height and width in pixels (8 for the UCI digits).
        rows, cols : int
            The grid's shape; missing images (``n < rows * cols``) stay black.

        Examples
        --------
        >>> grid = ImageGridDisplay.from_samples(-np.ones((3, 4)), side=2, rows=1, cols=2)
        >>> grid.mosaic.shape, grid.shown, float(grid.mosaic.max())
        ((4, 7), 2, 0.5)
        """
        for name, value in (("rows", rows), ("cols", cols)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}: expected an int >= 1, got {value!r}")
        x = (np.clip(_images(samples, channels, side), -1.0, 1.0) + 1.0) / 2.0
        shown = min(len(x), rows * cols)
        step = side + 1
        shape = (rows * step + 1, cols * step + 1) + ((3,) if channels == 3 else ())
        mosaic = np.full(shape, 0.5)  # grey borders between the images
        for i in range(rows * cols):
            r, c = divmod(i, cols)
            cell = x[i] if i < shown else np.zeros((side, side, channels))
            block = cell[..., 0] if channels == 1 else cell
            mosaic[1 + r * step : 1 + r * step + side, 1 + c * step : 1 + c * step + side] = block
        return cls(mosaic, rows, cols, shown, title or f"{shown} samples")

    def plot(self, ax: Any = None) -> ImageGridDisplay:
        (ax,) = _axes(ax)
        self.ax_, self.figure_ = ax, ax.figure
        kwargs = {"cmap": "gray"} if self.mosaic.ndim == 2 else {}
        self.image_ = ax.imshow(self.mosaic, vmin=0.0, vmax=1.0, interpolation="nearest", **kwargs)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(self.title)
        return self


@dataclass
class ModeHistogramDisplay:
    """How the samples spread over the modes: counts per mode, most frequent first.

    For stacked digits (1,000 modes) the bars are sorted by count, so a collapse reads
    as a steep head and a long run of empty modes, and a uniform spread as a flat line
    at the dashed uniform count.

    Attributes
    ----------
    counts : numpy.ndarray
        Samples per mode, in label order.
    order : numpy.ndarray
        The labels sorted by decreasing count.
    modes_hit : int
        Modes with at least one sample (all samples, not only high-quality ones).
    reverse_kl : float
        ``KL(p || uniform)`` of the histogram (0 for a uniform spread, ``log K`` for one
        mode), as :func:`analyses.digit_coverage` computes it.
    """

    counts: np.ndarray
    order: np.ndarray
    modes_hit: int
    reverse_kl: float
    title: str = "samples per mode"

    @classmethod
    def from_histogram(
        cls, counts: Sequence[int] | np.ndarray, *, title: str | None = None
    ) -> ModeHistogramDisplay:
        """From the counts per mode (e.g. ``digit_coverage(...)["histogram"]``).

        Examples
        --------
        >>> d = ModeHistogramDisplay.from_histogram([0, 6, 2, 0])
        >>> d.order.tolist()[:2], d.modes_hit, round(d.reverse_kl, 4)
        ([1, 2], 2, 0.824)
        """
        c = np.asarray(counts)
        if (
            c.ndim != 1
            or c.size < 2
            or not np.issubdtype(c.dtype, np.number)
            or np.any(c < 0)
            or not np.all(np.isfinite(c))
            or np.any(c != np.round(c))
            or c.sum() == 0
        ):
            raise ValueError(
                "counts: expected a 1-D array of two or more non-negative whole counts, "
                f"not all zero; got {np.asarray(counts)!r:.80}"
            )
        c = c.astype(np.int64)
        p = c / c.sum()
        nz = p > 0
        kl = float(np.sum(p[nz] * np.log(p[nz] * c.size)))
        order = np.argsort(-c, kind="stable")
        hit = int(nz.sum())
        return cls(c, order, hit, kl, title or f"{hit} of {c.size} modes hit, reverse KL {kl:.3f}")

    def plot(self, ax: Any = None) -> ModeHistogramDisplay:
        (ax,) = _axes(ax)
        self.ax_, self.figure_ = ax, ax.figure
        sorted_counts = self.counts[self.order]
        ranks = np.arange(1, self.counts.size + 1)
        if self.counts.size <= 30:
            self.bars_ = ax.bar(ranks, sorted_counts, color="tab:blue", width=0.8)
            ax.set_xticks(ranks, [str(int(label)) for label in self.order], fontsize=7)
            ax.set_xlabel("mode (label), most frequent first")
        else:
            self.bars_ = ax.fill_between(ranks, sorted_counts, step="mid", color="tab:blue")
            ax.set_xlim(0.5, self.counts.size + 0.5)
            ax.set_xlabel("modes ranked by count")
        uniform = self.counts.sum() / self.counts.size
        self.uniform_ = ax.axhline(
            uniform, color="black", linestyle="--", linewidth=0.8, label="uniform"
        )
        ax.set_ylabel("samples")
        ax.legend(fontsize=8)
        ax.set_title(self.title)
        return self
