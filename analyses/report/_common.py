"""What every study of the report shares: its section, the output context, number formats.

A study module (:mod:`~analyses.report.xy`, :mod:`~analyses.report.dirac`, ...) has
``KEY``, ``TITLE``, ``INTRO`` and three steps: ``compute(ctx)`` runs the analysis and
returns a :class:`Computed` (the numbers that go to ``summary.json``, the table and what
only the figures need), ``figures(ctx, section, computed)`` draws and saves the figures,
and ``study(ctx, section)`` does both in order (see :func:`fill`).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "Computed",
    "Context",
    "Figure",
    "Section",
    "dirac_game",
    "fill",
    "fmt",
    "write_atomic",
]


def write_atomic(path: Path, write: Callable[[str], None]) -> None:
    """Write ``path`` through a unique temporary file in its folder and ``os.replace``.

    ``write(name)`` writes the content to the temporary file ``name``, which is created
    with ``O_EXCL`` (never a planted link); ``os.replace`` then replaces ``path`` itself
    (a link there is replaced, not followed).  A reader never sees a half-written file,
    and a failed write leaves the old file and no temporary file.
    """
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(name)
        os.replace(name, path)
    except BaseException:
        if os.path.lexists(name):
            os.unlink(name)
        raise


@dataclass
class Figure:
    """One saved figure: its file stem (``figures/<name>.png``, and ``.svg`` when
    ``vector``) and caption."""

    name: str
    caption: str
    vector: bool = True


@dataclass
class Section:
    """One study as the page and ``summary.json`` show it."""

    key: str
    title: str
    intro: str
    figures: list[Figure] = field(default_factory=list)
    numbers: dict[str, Any] = field(default_factory=dict)
    table: list[tuple[str, ...]] = field(default_factory=list)
    table_header: tuple[str, ...] = ()
    seconds: float = 0.0


@dataclass
class Computed:
    """A study's results: ``numbers`` (to ``summary.json``), its table, and ``data``.

    ``data`` holds what only the figures need (trajectories, regions, samples).
    """

    numbers: dict[str, Any]
    table_header: tuple[str, ...]
    table: Sequence[tuple[str, ...]]
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Context:
    """The options of one report and where its figures go."""

    out: Path
    quick: bool
    seed: int
    device: str
    figures_dir: Path

    def save(self, section: Section, fig: Any, name: str, caption: str) -> None:
        """Write ``fig`` as PNG (and SVG, except in quick mode), close it and attach it to
        ``section``."""
        import matplotlib.pyplot as plt

        # tight: no title, label or colour bar is cut at the figure's edge
        write_atomic(
            self.figures_dir / f"{name}.png",
            lambda tmp: fig.savefig(tmp, dpi=100, format="png", bbox_inches="tight"),
        )
        if not self.quick:  # quick mode: PNG only (SVG of the streamplots is slow)
            write_atomic(
                self.figures_dir / f"{name}.svg",
                lambda tmp: fig.savefig(tmp, format="svg", bbox_inches="tight"),
            )
        plt.close(fig)
        section.figures.append(Figure(name, caption, vector=not self.quick))


def fill(section: Section, computed: Computed) -> None:
    """Put ``computed``'s numbers and table into ``section``."""
    section.numbers.update(computed.numbers)
    section.table_header = computed.table_header
    section.table.extend(computed.table)


def fmt(value: Any, digits: int = 4) -> str:
    """A short human-readable number (complex as a ± bi, booleans as yes/no)."""
    if isinstance(value, (complex, np.complexfloating)):
        re = 0.0 if abs(value.real) < 5e-13 else float(value.real)
        im = 0.0 if abs(value.imag) < 5e-13 else float(value.imag)
        if im == 0.0:
            return f"{re:.{digits}g}"
        return f"{re:.{digits}g} {'+' if im > 0 else '−'} {abs(im):.{digits}g}i"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.{digits}g}"
    return str(value)


def dirac_game(options: Mapping[str, Any]) -> Any:
    """The :class:`games.DiracGAN` of ``{"loss": ..., "regularizer": ..., **options}``."""
    from games import DiracGAN

    kwargs = dict(options)
    return DiracGAN(kwargs.pop("loss"), kwargs.pop("regularizer", None), **kwargs)
