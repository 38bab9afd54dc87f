"""The names the argument parsers offer, without importing what they name.

``gamedyn --help`` and every ``gamedyn COMMAND --help`` build all the parsers, so the
parsers may not import torch, matplotlib or the report's studies to list their choices.
These light copies are checked against the library by ``tests/test_cli_light.py``.
"""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path

__all__ = ["INNER_RULES", "RUN_FIGURES", "STUDIES", "config_names"]

INNER_RULES = ("sgd", "adam")
"""``games.unrolled.INNER_RULES``: the inner rules of an unrolled game."""

RUN_FIGURES = ("samples", "coverage", "mode_hopping", "mode_histogram", "losses", "spectra")
"""``analyses.run_plots.RUN_FIGURES``: the figures of ``gamedyn plot``."""

STUDIES = ("xy", "dirac", "ttur", "unroll", "function_space", "temperature", "neural")
"""The keys of ``analyses.report.STUDIES``, in the report's order."""


def config_names() -> tuple[str, ...]:
    """``gan_models.config_names()`` (the shipped ``gan_models/configs/*.toml``), found
    without importing :mod:`gan_models`."""
    spec = find_spec("gan_models")
    if spec is None or not spec.submodule_search_locations:
        return ()
    folder = Path(next(iter(spec.submodule_search_locations))) / "configs"
    return tuple(sorted(path.stem for path in folder.glob("*.toml")))
