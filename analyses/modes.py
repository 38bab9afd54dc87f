r"""Mode coverage of a generator on a mixture of Gaussians, and mode hopping over training.

The benchmark metric of VEEGAN (Srivastava et al. 2017) and PacGAN (Lin et al. 2018):
for modes :math:`\mu_1, \dots, \mu_K` with standard deviations :math:`\sigma_k`, a sample
:math:`x` has nearest mode :math:`k(x) = \arg\min_k \lVert x - \mu_k \rVert_2` and is
*high quality* iff :math:`\lVert x - \mu_{k(x)} \rVert_2 \le t\,\sigma_{k(x)}` (threshold
:math:`t = 3`; the boundary counts). A mode is *covered* iff it is the nearest mode of at
least one high-quality sample. With :math:`c_k` the number of high-quality samples whose
nearest mode is :math:`k` and :math:`q_k = c_k / \sum_j c_j`, the reverse KL to the
uniform histogram is

.. math::

    \mathrm{KL}(q \,\Vert\, u) = \sum_k q_k \log(K q_k) = \log K - H(q)
    \quad (0 \log 0 = 0;\ +\infty \text{ without a high-quality sample}),

in nats. Papers report the mean ± standard error over seeded runs (:func:`summarize`,
:func:`format_table`).

Mode hopping is the cat-and-mouse of mode collapse: the generator sits on one mode, the
discriminator pushes it away, it lands on another. :func:`mode_hopping_graph` turns the
sequence of dominant modes over training into a directed graph of transitions and
:func:`hopping_cycles` lists its cycles. The Display objects follow
:mod:`analyses.plots`: compute with ``from_...``, draw with ``.plot(ax=...)``.
"""

from __future__ import annotations

import itertools
import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np
import torch

__all__ = [
    "CoverageDisplay",
    "ModeCoverage",
    "ModeHoppingGraphDisplay",
    "SamplesDisplay",
    "coverage_evaluator",
    "dominant_modes",
    "format_table",
    "hopping_cycles",
    "mode_coverage",
    "mode_hopping_graph",
    "summarize",
]

# Rows of samples per block of the (n, K, d) difference tensor, to bound memory.
_CHUNK = 65536


def _axes(ax: Any) -> Any:
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots()
    return ax


def _as_float_array(value: Any, name: str) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    array = np.asarray(value)
    if array.dtype == object or not (
        np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.bool_)
    ):
        raise TypeError(f"{name}: expected real numbers, got dtype {array.dtype}")
    if np.issubdtype(array.dtype, np.complexfloating):
        raise TypeError(f"{name}: expected real numbers, got dtype {array.dtype}")
    array = array.astype(np.float64)
    bad = int(np.count_nonzero(~np.isfinite(array)))
    if bad:
        raise ValueError(f"{name}: expected finite values, got {bad} NaN or infinite entries")
    return array


def _positive_number(value: Any, name: str) -> float:
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a positive finite number, got {value!r}")
    number = float(value)
    if not (math.isfinite(number) and number > 0):
        raise ValueError(f"{name}: expected a positive finite number, got {number!r}")
    return number


def _validate(
    samples: Any, modes: Any, std: Any, threshold: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    m = _as_float_array(modes, "modes")
    if m.ndim != 2 or m.shape[0] < 1 or m.shape[1] < 1:
        raise ValueError(f"modes: expected a 2-D array (K, d) with K >= 1, got shape {m.shape}")
    k, d = m.shape
    x = _as_float_array(samples, "samples")
    if x.ndim != 2 or x.shape[1] != d:
        raise ValueError(
            f"samples: expected a 2-D array (n, d) matching modes' d={d}, got shape {x.shape}"
        )
    if x.shape[0] == 0:
        raise ValueError(f"samples: expected at least one sample, got shape {x.shape}")
    s = _as_float_array(std, "std")
    if s.ndim == 0:
        s = np.full(k, float(s))
    elif s.shape != (k,):
        raise ValueError(
            f"std: expected a positive float or an array of K={k} positive values, got shape {s.shape}"
        )
    if not np.all(s > 0):
        raise ValueError(f"std: expected positive values, got minimum {float(s.min())!r}")
    return x, m, s, _positive_number(threshold, "threshold")


def _assign(
    samples: np.ndarray, modes: np.ndarray, std: np.ndarray, threshold: float
) -> tuple[np.ndarray, np.ndarray]:
    """Nearest mode per sample (ties: the lowest index) and the high-quality mask."""
    nearest = np.empty(samples.shape[0], dtype=np.int64)
    distance = np.empty(samples.shape[0])
    for start in range(0, samples.shape[0], _CHUNK):
        block = samples[start : start + _CHUNK]
        # Direct differences, not |x|^2 - 2 x.m + |m|^2: exact distances keep the boundary exact.
        dist = np.sqrt(((block[:, None, :] - modes[None, :, :]) ** 2).sum(axis=-1))
        index = dist.argmin(axis=1)
        nearest[start : start + _CHUNK] = index
        distance[start : start + _CHUNK] = dist[np.arange(block.shape[0]), index]
    return nearest, distance <= threshold * std[nearest]


def _reverse_kl(counts: np.ndarray) -> float:
    total = int(counts.sum())
    if total == 0:
        return math.inf
    k = counts.size
    present = counts[counts > 0]
    # K c_k / total is formed from integers, so a uniform histogram gives log(1.0) = 0 exactly.
    value = float(np.sum(present / total * np.log(present * k / total)))
    return max(value, 0.0)


@dataclass(frozen=True, eq=False)
class ModeCoverage:
    """The mode-coverage metrics of one set of samples.

    Attributes
    ----------
    modes_covered : int
        Modes that are the nearest mode of at least one high-quality sample.
    n_modes : int
        K, the number of modes.
    n_samples : int
        n, the number of samples.
    high_quality : float
        Fraction in [0, 1] of samples within ``threshold * std`` of their nearest mode.
    counts : numpy.ndarray
        ``(K,)`` int, high-quality samples per mode.
    nearest : numpy.ndarray
        ``(n,)`` int, the nearest mode of every sample (high quality or not).
    reverse_kl : float
        KL(q || uniform) in nats of the high-quality histogram ``q = counts / counts.sum()``;
        ``inf`` when no sample is high quality.
    dominant_mode : int or None
        The mode with the most high-quality samples (lowest index on ties), None if none.
    """

    modes_covered: int
    n_modes: int
    n_samples: int
    high_quality: float
    counts: np.ndarray
    nearest: np.ndarray
    reverse_kl: float
    dominant_mode: int | None

    @property
    def high_quality_percent(self) -> float:
        """``100 * high_quality``."""
        return 100.0 * self.high_quality

    def as_dict(self) -> dict[str, Any]:
        """Plain Python ints, floats and lists for JSON logging (``nearest`` left out).

        ``reverse_kl`` stays ``float('inf')`` when no sample is high quality.
        """
        return {
            "modes_covered": int(self.modes_covered),
            "n_modes": int(self.n_modes),
            "n_samples": int(self.n_samples),
            "high_quality": float(self.high_quality),
            "high_quality_percent": float(self.high_quality_percent),
            "reverse_kl": float(self.reverse_kl),
            "dominant_mode": None if self.dominant_mode is None else int(self.dominant_mode),
            "counts": [int(c) for c in self.counts],
        }


def mode_coverage(
    samples: np.ndarray | torch.Tensor | Sequence[Sequence[float]],
    modes: np.ndarray | torch.Tensor | Sequence[Sequence[float]],
    std: float | np.ndarray | torch.Tensor | Sequence[float],
    *,
    threshold: float = 3.0,
) -> ModeCoverage:
    r"""Modes covered, high-quality fraction and reverse KL of samples from a Gaussian mixture.

    A sample is high quality iff its Euclidean distance to its nearest mode is at most
    ``threshold * std`` of that mode; a distance of exactly ``threshold * std`` counts (the
    comparison is ``<=`` in float64, with no tolerance). The nearest mode is Euclidean even
    when ``std`` differs per mode. Ties between equally near modes go to the lowest index.

    Parameters
    ----------
    samples : array_like or torch.Tensor, shape (n, d)
        Generated samples, n >= 1.
    modes : array_like or torch.Tensor, shape (K, d)
        The mixture's means.
    std : float or array_like, shape (K,)
        The mixture's standard deviation, one for all modes or one per mode; positive.
    threshold : float, default 3.0
        High quality means within ``threshold`` standard deviations.

    Returns
    -------
    ModeCoverage

    Raises
    ------
    ValueError, TypeError
        On shapes that do not match, non-finite values, or a non-positive ``std`` or
        ``threshold``; the message names the argument.

    Examples
    --------
    >>> modes = [[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]]
    >>> samples = [[1.0, 0.0], [1.02, 0.0], [0.0, 1.0], [0.0, 0.0]]
    >>> cov = mode_coverage(samples, modes, 0.01)
    >>> cov.modes_covered, cov.high_quality, cov.counts.tolist(), cov.dominant_mode
    (2, 0.75, [2, 1, 0, 0], 0)
    >>> round(cov.reverse_kl, 5)  # log 4 - H(2/3, 1/3)
    0.74978
    """
    return _coverage(*_validate(samples, modes, std, threshold))[0]


def coverage_evaluator(
    data: Any, *, threshold: float = 3.0
) -> Callable[[np.ndarray | torch.Tensor], dict[str, Any]]:
    """A trainer evaluation function: ``samples -> mode_coverage(...).as_dict()``.

    Parameters
    ----------
    data : object with ``modes`` and ``std``
        The data distribution (e.g. :func:`gan_models.ring`).
    threshold : float
        High quality within ``threshold * std`` of the nearest mode.

    Examples
    --------
    >>> from gan_models import ring
    >>> from analyses import coverage_evaluator
    >>> data = ring()
    >>> evaluate = coverage_evaluator(data)
    >>> evaluate(data.modes[:3])["modes_covered"]
    3
    """
    modes, std = getattr(data, "modes", None), getattr(data, "std", None)
    if modes is None or std is None:
        raise TypeError(
            f"data: expected an object with 'modes' and 'std' (e.g. gan_models.ring()), "
            f"got {type(data).__name__}"
        )
    modes_np = _as_float_array(modes, "data.modes")
    std_value = std if isinstance(std, (int, float)) else _as_float_array(std, "data.std")

    def evaluate(samples: np.ndarray | torch.Tensor) -> dict[str, Any]:
        return mode_coverage(samples, modes_np, std_value, threshold=threshold).as_dict()

    return evaluate


def _coverage(
    x: np.ndarray, m: np.ndarray, s: np.ndarray, t: float
) -> tuple[ModeCoverage, np.ndarray]:
    nearest, high = _assign(x, m, s, t)
    k = m.shape[0]
    counts = np.bincount(nearest[high], minlength=k).astype(np.int64)
    nearest.setflags(write=False)
    counts.setflags(write=False)
    coverage = ModeCoverage(
        modes_covered=int(np.count_nonzero(counts)),
        n_modes=k,
        n_samples=x.shape[0],
        high_quality=float(np.count_nonzero(high)) / x.shape[0],
        counts=counts,
        nearest=nearest,
        reverse_kl=_reverse_kl(counts),
        dominant_mode=int(counts.argmax()) if counts.any() else None,
    )
    return coverage, high


def _check_coverages(results: Any, name: str) -> list[ModeCoverage]:
    items = list(results)
    for i, item in enumerate(items):
        if not isinstance(item, ModeCoverage):
            raise TypeError(
                f"{name}: expected ModeCoverage items, got {type(item).__name__} at {i}"
            )
    return items


def _mean_se(values: list[float]) -> dict[str, float]:
    array = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(array)):
        return {"mean": math.inf, "se": math.nan}
    mean = float(array.mean())
    se = float(array.std(ddof=1) / math.sqrt(array.size)) if array.size > 1 else 0.0
    return {"mean": mean, "se": se}


def summarize(results: Sequence[ModeCoverage]) -> dict[str, Any]:
    r"""Mean and standard error over seeded runs, as papers report them.

    The standard error is ``std(ddof=1) / sqrt(n)`` (0.0 for a single run). A run without
    high-quality samples has infinite reverse KL; then the reverse KL's mean is ``inf``
    and its standard error ``nan``.

    Parameters
    ----------
    results : sequence of ModeCoverage
        One per seeded run, all with the same number of modes.

    Returns
    -------
    dict
        ``{"n_runs": int, "n_modes": int, "modes_covered": {"mean", "se"},
        "high_quality_percent": {"mean", "se"}, "reverse_kl": {"mean", "se"}}`` with
        plain floats.

    Examples
    --------
    >>> modes = [[0.0, 0.0], [1.0, 0.0]]
    >>> runs = [mode_coverage(s, modes, 0.01) for s in ([[0.0, 0.0]], [[0.0, 0.0], [1.0, 0.0]])]
    >>> summary = summarize(runs)
    >>> summary["modes_covered"]
    {'mean': 1.5, 'se': 0.5}
    """
    runs = _check_coverages(results, "results")
    if not runs:
        raise ValueError("results: expected at least one ModeCoverage")
    n_modes = {r.n_modes for r in runs}
    if len(n_modes) != 1:
        raise ValueError(f"results: expected runs with one number of modes, got {sorted(n_modes)}")
    return {
        "n_runs": len(runs),
        "n_modes": runs[0].n_modes,
        "modes_covered": _mean_se([float(r.modes_covered) for r in runs]),
        "high_quality_percent": _mean_se([r.high_quality_percent for r in runs]),
        "reverse_kl": _mean_se([r.reverse_kl for r in runs]),
    }


def _cell(stat: Mapping[str, float], digits: int) -> str:
    if not math.isfinite(stat["mean"]):
        return "inf"
    return f"{stat['mean']:.{digits}f} ± {stat['se']:.{digits}f}"


def format_table(rows: Mapping[str, Sequence[ModeCoverage]]) -> str:
    """A markdown table of mean ± standard error per configuration.

    Modes with 2 decimals, high-quality % with 1, reverse KL (nats) with 3; an infinite
    reverse KL prints ``inf``.

    Parameters
    ----------
    rows : mapping of str to sequence of ModeCoverage
        Configuration name to its seeded runs, in table order.

    Returns
    -------
    str

    Examples
    --------
    >>> modes = [[0.0, 0.0], [1.0, 0.0]]
    >>> runs = [mode_coverage([[0.0, 0.0], [1.0, 0.0]], modes, 0.01)] * 2
    >>> print(format_table({"GAN": runs}))
    | configuration | modes | high-quality % | reverse KL |
    |---|---|---|---|
    | GAN | 2.00 ± 0.00 | 100.0 ± 0.0 | 0.000 ± 0.000 |
    """
    if not isinstance(rows, Mapping):
        raise TypeError(
            f"rows: expected a mapping of configuration name to ModeCoverage runs, got {type(rows).__name__}"
        )
    lines = ["| configuration | modes | high-quality % | reverse KL |", "|---|---|---|---|"]
    for name, runs in rows.items():
        try:
            summary = summarize(runs)
        except (TypeError, ValueError) as error:
            raise type(error)(f"rows[{name!r}]: {error}") from error
        label = str(name).replace("|", "\\|")
        lines.append(
            f"| {label} | {_cell(summary['modes_covered'], 2)} | "
            f"{_cell(summary['high_quality_percent'], 1)} | {_cell(summary['reverse_kl'], 3)} |"
        )
    return "\n".join(lines)


def dominant_modes(coverages: Sequence[ModeCoverage]) -> list[int | None]:
    """The dominant mode of each coverage, e.g. of each checkpoint over training.

    Examples
    --------
    >>> modes = [[0.0, 0.0], [1.0, 0.0]]
    >>> dominant_modes([mode_coverage(s, modes, 0.01) for s in ([[1.0, 0.0]], [[5.0, 5.0]])])
    [1, None]
    """
    return [c.dominant_mode for c in _check_coverages(coverages, "coverages")]


def _check_dominant(dominant: Any, n_modes: int | None) -> list[int | None]:
    if isinstance(dominant, (str, bytes)) or not isinstance(dominant, Sequence | np.ndarray):
        raise TypeError(
            f"dominant: expected a sequence of mode indices or None, got {type(dominant).__name__}"
        )
    checked: list[int | None] = []
    for i, entry in enumerate(dominant):
        if entry is None:
            checked.append(None)
            continue
        if isinstance(entry, (bool, np.bool_)) or not isinstance(entry, numbers.Integral):
            raise TypeError(
                f"dominant: expected mode indices (int) or None, got {entry!r} at position {i}"
            )
        index = int(entry)
        if index < 0 or (n_modes is not None and index >= n_modes):
            bound = "" if n_modes is None else f" below n_modes={n_modes}"
            raise ValueError(
                f"dominant: expected non-negative mode indices{bound}, got {index} at position {i}"
            )
        checked.append(index)
    return checked


def mode_hopping_graph(dominant: Sequence[int | None], n_modes: int | None = None) -> nx.DiGraph:
    """The directed graph of changes of the dominant mode over training.

    Nodes are mode indices: all of ``0 .. n_modes - 1`` when ``n_modes`` is given, else
    those that occur. Each consecutive pair ``(i, j)`` of the sequence with ``i != j``
    adds 1 to the ``weight`` of edge ``i -> j``; a ``None`` (no high-quality sample)
    breaks the chain, so no edge crosses it. Node attributes: ``visits`` (how often the
    mode is dominant) and ``stays`` (consecutive pairs ``(i, i)``, which are not edges).

    Parameters
    ----------
    dominant : sequence of int or None
        The dominant mode per checkpoint, e.g. from :func:`dominant_modes`.
    n_modes : int, optional
        K; then every entry must be below K.

    Returns
    -------
    networkx.DiGraph

    Examples
    --------
    >>> graph = mode_hopping_graph([0, 1, 0, 0, None, 1], n_modes=3)
    >>> sorted(graph.edges(data="weight"))
    [(0, 1, 1), (1, 0, 1)]
    >>> [(node, graph.nodes[node]["visits"], graph.nodes[node]["stays"]) for node in graph]
    [(0, 3, 1), (1, 2, 0), (2, 0, 0)]
    """
    if n_modes is not None:
        if isinstance(n_modes, bool) or not isinstance(n_modes, numbers.Integral) or n_modes < 1:
            raise ValueError(f"n_modes: expected a positive int or None, got {n_modes!r}")
        n_modes = int(n_modes)
    sequence = _check_dominant(dominant, n_modes)
    present = {entry for entry in sequence if entry is not None}
    nodes = range(n_modes) if n_modes is not None else sorted(present)
    graph = nx.DiGraph()
    for node in nodes:
        graph.add_node(node, visits=0, stays=0)
    for entry in sequence:
        if entry is not None:
            graph.nodes[entry]["visits"] += 1
    for a, b in itertools.pairwise(sequence):
        if a is None or b is None:
            continue
        if a == b:
            graph.nodes[a]["stays"] += 1
        elif graph.has_edge(a, b):
            graph[a][b]["weight"] += 1
        else:
            graph.add_edge(a, b, weight=1)
    return graph


def hopping_cycles(graph: nx.DiGraph) -> list[list[int]]:
    """The simple directed cycles of a mode-hopping graph.

    Each cycle starts at its smallest node; cycles are sorted by length, then
    lexicographically. Self-loops (if a graph has them) are cycles of length 1.

    Examples
    --------
    >>> hopping_cycles(mode_hopping_graph([2, 1, 0, 2, 0, 2]))
    [[0, 2], [0, 2, 1]]
    """
    if not isinstance(graph, nx.DiGraph):
        raise TypeError(f"graph: expected a networkx.DiGraph, got {type(graph).__name__}")
    cycles = []
    for cycle in nx.simple_cycles(graph):
        start = cycle.index(min(cycle))
        cycles.append(cycle[start:] + cycle[:start])
    return sorted(cycles, key=lambda c: (len(c), c))


@dataclass
class ModeHoppingGraphDisplay:
    """The mode-hopping graph drawn over the modes' positions (or on a circle).

    Attributes
    ----------
    graph : networkx.DiGraph
        From :func:`mode_hopping_graph`.
    positions : dict of int to (float, float)
        Where each node is drawn: the 2-D mode coordinates, else a circular layout.
    cycles : list of list of int
        From :func:`hopping_cycles`.
    on_modes : bool
        Whether ``positions`` are the modes' coordinates.
    """

    graph: nx.DiGraph
    positions: dict[int, tuple[float, float]]
    cycles: list[list[int]]
    on_modes: bool = False
    title: str = "mode hopping"

    @classmethod
    def from_dominant_modes(
        cls,
        dominant: Sequence[int | None],
        modes: np.ndarray | torch.Tensor | Sequence[Sequence[float]] | None = None,
        *,
        title: str | None = None,
    ) -> ModeHoppingGraphDisplay:
        """Build the graph; with ``modes`` (K x 2), every mode is a node at its coordinates.

        Examples
        --------
        >>> display = ModeHoppingGraphDisplay.from_dominant_modes([0, 1, 0], [[1, 0], [-1, 0]])
        >>> display.positions, display.cycles
        ({0: (1.0, 0.0), 1: (-1.0, 0.0)}, [[0, 1]])
        """
        if modes is None:
            graph = mode_hopping_graph(dominant)
            layout = nx.circular_layout(sorted(graph.nodes)) if graph.number_of_nodes() else {}
            positions = {int(node): (float(xy[0]), float(xy[1])) for node, xy in layout.items()}
        else:
            m = _as_float_array(modes, "modes")
            if m.ndim != 2 or m.shape[0] < 1 or m.shape[1] != 2:
                raise ValueError(
                    f"modes: expected a 2-D array (K, 2) of mode coordinates, got shape {m.shape}"
                )
            graph = mode_hopping_graph(dominant, n_modes=m.shape[0])
            positions = {k: (float(m[k, 0]), float(m[k, 1])) for k in range(m.shape[0])}
        return cls(
            graph,
            positions,
            hopping_cycles(graph),
            modes is not None,
            title or "mode hopping: changes of the dominant mode",
        )

    @property
    def edge_widths(self) -> dict[tuple[int, int], float]:
        """Line width per edge: 1 + 3 * weight / max weight."""
        weights = {(a, b): w for a, b, w in self.graph.edges(data="weight")}
        top = max(weights.values(), default=1)
        return {edge: 1.0 + 3.0 * w / top for edge, w in weights.items()}

    def plot(self, ax: Any = None) -> ModeHoppingGraphDisplay:
        ax = _axes(ax)
        self.ax_, self.figure_ = ax, ax.figure
        nodes = list(self.graph.nodes)
        self.nodes_ = self.edges_ = None
        self.labels_: dict[int, Any] = {}
        if nodes:
            visits = np.array([self.graph.nodes[n]["visits"] for n in nodes], dtype=float)
            sizes = 200 + 600 * visits / max(visits.max(), 1.0)
            self.nodes_ = nx.draw_networkx_nodes(
                self.graph,
                self.positions,
                nodelist=nodes,
                node_size=sizes,
                node_color="tab:blue",
                alpha=0.8,
                ax=ax,
            )
            self.labels_ = nx.draw_networkx_labels(
                self.graph, self.positions, font_color="white", ax=ax
            )
            widths = self.edge_widths
            edges = list(widths)
            if edges:
                # Curved arrows so that i -> j and j -> i stay apart.
                self.edges_ = nx.draw_networkx_edges(
                    self.graph,
                    self.positions,
                    edgelist=edges,
                    width=[widths[e] for e in edges],
                    arrows=True,
                    arrowsize=15,
                    connectionstyle="arc3,rad=0.15",
                    node_size=sizes.mean(),
                    ax=ax,
                )
        if self.on_modes:
            ax.tick_params(bottom=True, left=True, labelbottom=True, labelleft=True)
            ax.set_xlabel("x[0] (mode position)")
            ax.set_ylabel("x[1] (mode position)")
            ax.set_aspect("equal", adjustable="datalim")
        else:
            ax.set_xlabel("modes on a circle (layout only)")
            ax.set_ylabel("")
        ax.set_title(self.title + " (edge width: transitions; node size: visits)")
        return self


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
        ax = _axes(ax)
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

        ax = _axes(ax)
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
