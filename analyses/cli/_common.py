"""Helpers shared by the ``gamedyn`` subcommands: the parser class, one-line errors,
argument types (numbers, grid axes) and output formatting (numbers, tables, JSON).

Nothing here is needed by the Python API: these are the command line's conventions.
"""

from __future__ import annotations

import argparse
import json
import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from dynamics.registry import Param, format_value

from .._registry import UsageError

__all__ = [
    "GRID_SYNTAX",
    "RAW",
    "Axis",
    "Parser",
    "eigenvalue_table",
    "finite_float",
    "fmt",
    "fmt_component",
    "grid_axis",
    "nonnegative_int",
    "nonnegative_step",
    "one_line",
    "ordered",
    "pairs",
    "param_json",
    "param_lines",
    "positive_float",
    "positive_int",
    "print_json",
    "save_figure",
    "table",
    "wrapped",
]


class Parser(argparse.ArgumentParser):
    """An argparse parser whose errors are one line and exit code 2 (no usage dump)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"gamedyn: error: {message}\n")


RAW = argparse.RawDescriptionHelpFormatter
"""The subcommands' formatter: keeps the epilogs' examples as written."""


def wrapped(text: str) -> str:
    """A description filled to 88 columns (the subcommands keep their text raw)."""
    return textwrap.fill(text, 88)


def one_line(message: object, limit: int = 400) -> str:
    """A message on one line (library errors may quote multi-line torch messages)."""
    text = " ".join(str(message).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- argument types -------------------------------------------------------------------------


def nonnegative_step(text: str) -> float:
    """A finite step size >= 0 (an argparse type)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a step size >= 0, got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"expected a step size >= 0, got {text!r}")
    return value


def positive_int(text: str) -> int:
    """An int >= 1 (an argparse type)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an int >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an int >= 1, got {text!r}")
    return value


def nonnegative_int(text: str) -> int:
    """An int >= 0 (an argparse type)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an int >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an int >= 0, got {text!r}")
    return value


def positive_float(text: str) -> float:
    """A finite number > 0 (an argparse type)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


def finite_float(text: str) -> float:
    """A finite number (an argparse type)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


@dataclass(frozen=True)
class Axis:
    """One ``--grid`` axis: a hyper-parameter and its values."""

    name: str
    values: np.ndarray
    log: bool = False


GRID_SYNTAX = "KEY=START:STOP:NUM, KEY=START:STOP:NUM:log or KEY=V1,V2,..."


def grid_axis(text: str) -> Axis:
    """``KEY=START:STOP:NUM``, ``KEY=START:STOP:NUM:log`` or ``KEY=V1,V2,...`` (an argparse type)."""
    key, sep, spec = (part.strip() for part in text.partition("="))
    if not sep or not key or not spec:
        raise argparse.ArgumentTypeError(f"expected {GRID_SYNTAX}, got {text!r}")
    try:
        if ":" in spec:
            parts = spec.split(":")
            log = len(parts) == 4 and parts[3] == "log"
            if len(parts) != 3 and not log:
                raise ValueError
            start, stop, count = float(parts[0]), float(parts[1]), int(parts[2])
            if count < 1 or not (math.isfinite(start) and math.isfinite(stop)):
                raise ValueError
            if log and not (start > 0 and stop > 0):
                raise argparse.ArgumentTypeError(
                    f"{key}: a :log grid needs START > 0 and STOP > 0, got {text!r}"
                )
            values = np.geomspace(start, stop, count) if log else np.linspace(start, stop, count)
            # linspace's round-off: -1.1e-16 where the user means 0
            values[np.abs(values) < 1e-12 * max(abs(start), abs(stop))] = 0.0
            return Axis(key, values, log)
        values = np.array([float(v) for v in spec.split(",")])
        if not np.all(np.isfinite(values)):
            raise ValueError
        return Axis(key, values)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {GRID_SYNTAX}, got {text!r}") from None


# -- formatting -----------------------------------------------------------------------------


def fmt(value: float, digits: int = 6) -> str:
    """``+0.500000``: signed, fixed digits; values that round to zero print as ``+0.0...``."""
    return f"{0.0 if abs(value) < 0.5 * 10**-digits else value:+.{digits}f}"


def fmt_component(value: float, scale: float) -> str:
    """An eigenvalue's real or imaginary part; round-off below 1e-12 of the spectrum's scale is 0."""
    return f"{0.0 if abs(value) <= 1e-12 * max(scale, 1.0) else value:+.6g}"


def ordered(values: np.ndarray) -> np.ndarray:
    """By decreasing magnitude, then real, then imaginary part (as analyses.eigenvalues)."""
    from games import sort_eigenvalues

    return sort_eigenvalues(values)


def pairs(values: np.ndarray) -> list[list[float]]:
    """Complex numbers as ``[re, im]`` pairs, for JSON."""
    return [[float(v.real), float(v.imag)] for v in np.asarray(values, dtype=complex)]


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], indent: str = "  ") -> list[str]:
    """Right-aligned columns, one string per line."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    out = [indent + "  ".join(h.rjust(w) for h, w in zip(headers, widths))]
    out += [indent + "  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in rows]
    return out


TABLE_ROWS = 24


def eigenvalue_table(values: np.ndarray) -> list[str]:
    """The eigenvalues with their GD step bounds; at most ``TABLE_ROWS`` rows (--json has all)."""
    from ..stability import step_size_bounds

    hidden = max(values.size - TABLE_ROWS, 0)
    values = values[:TABLE_ROWS]
    bounds = step_size_bounds(values)
    scale = float(np.abs(values).max()) if values.size else 1.0
    rows = [
        [
            str(i + 1),
            fmt_component(v.real, scale),
            fmt_component(v.imag, scale),
            f"{abs(v):.6g}",
            f"{b:.6g}" if b > 0 else "-",
        ]
        for i, (v, b) in enumerate(zip(values, bounds))
    ]
    lines = table(["#", "Re λ", "Im λ", "|λ|", "GD step bound 2Re λ/|λ|²"], rows)
    if hidden:
        lines.append(f"  ... {hidden} more, by decreasing |λ| (--json lists them all)")
    return lines


def print_json(result: dict[str, Any]) -> None:
    """The ``--json`` output: one JSON object on stdout."""
    print(json.dumps(result))


def param_json(param: Param) -> dict[str, Any]:
    """A game's or rule's parameter for ``--json`` listings."""
    return {
        "name": param.name,
        "type": param.kind,
        "default": param.default,
        "expected": param.expected,
        "choices": list(param.choices),
        "help": param.help,
    }


def param_lines(params: Sequence[Param]) -> list[str]:
    """A game's or rule's parameters, one indented line each, for listings."""
    if not params:
        return ["    (no parameters)"]
    width = max(len(p.name) for p in params)
    return [
        f"    {p.name.ljust(width)}  {p.expected}; default {format_value(p.default)}. {p.help}"
        for p in params
    ]


def save_figure(figure: Any, path: str) -> None:
    """``figure.savefig(path)`` at 120 dpi; an unwritable path is a one-line ``--plot`` error."""
    try:
        figure.savefig(path, dpi=120)
    except (OSError, ValueError) as error:
        raise UsageError(f"--plot: cannot write {path!r} ({one_line(error)})") from None
