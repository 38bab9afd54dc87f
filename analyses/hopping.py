"""Mode hopping: the sequence of dominant modes over training as a directed graph.

Mode hopping is the cat-and-mouse of mode collapse: the generator sits on one mode, the
discriminator pushes it away, it lands on another.  An evaluation is *concentrated* when
at least half of all its samples are nearest one mode, its *dominant mode*
(:class:`analyses.ModeCoverage`); :func:`dominant_modes` lists them (None where an
evaluation is not concentrated), :func:`mode_hopping_graph` turns the sequence into a
directed graph of transitions (a None breaks the chain) and :func:`hopping_cycles`
lists its cycles.  Only concentrated evaluations enter the graph.
"""

from __future__ import annotations

import itertools
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np
import torch

from .modes import (
    ModeCoverage,
    _as_float_array,
    _check_coverages,
    mode_coverage,  # noqa: F401  (the doctests use it)
)
from .plots import _axes

__all__ = [
    "ModeHoppingGraphDisplay",
    "dominant_modes",
    "hopping_cycles",
    "mode_hopping_graph",
]


def dominant_modes(coverages: Sequence[ModeCoverage]) -> list[int | None]:
    """The dominant mode of each coverage, e.g. of each checkpoint over training.

    None where an evaluation is not concentrated (no mode is nearest to at least half of
    all samples, by default; see :class:`analyses.ModeCoverage`).

    Examples
    --------
    >>> modes = [[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]
    >>> spread = [[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]  # a third of the samples on each
    >>> dominant_modes([mode_coverage(s, modes, 0.01) for s in ([[1.0, 0.0]], spread)])
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
    adds 1 to the ``weight`` of edge ``i -> j``; a ``None`` (an evaluation that is not
    concentrated) breaks the chain, so no edge crosses it. Node attributes: ``visits`` (how often the
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
        (ax,) = _axes(ax)
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
        ax.set_title(self.title + "\n(edge width: transitions; node size: visits)")
        return self
