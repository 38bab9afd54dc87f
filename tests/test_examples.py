"""Every example script under docs/examples runs headless (the sphinx-gallery will run them too)."""

from __future__ import annotations

import os
import runpy
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "docs" / "examples").rglob("plot_*.py"))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs(path, monkeypatch):
    monkeypatch.chdir(path.parent)
    monkeypatch.setattr(plt, "show", lambda *a, **k: None)
    os.environ.setdefault("MPLBACKEND", "Agg")
    runpy.run_path(str(path), run_name="__main__")
    assert plt.get_fignums(), "the example drew no figure"
    plt.close("all")
