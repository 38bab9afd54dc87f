"""Every example script under docs/examples runs headless (the sphinx-gallery will run them too)."""

from __future__ import annotations

import runpy
from pathlib import Path

import matplotlib
import pytest
import torch

matplotlib.use("Agg")
import matplotlib.pyplot as plt

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "docs" / "examples").rglob("plot_*.py"))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs(path, monkeypatch):
    monkeypatch.chdir(path.parent)
    monkeypatch.setattr(plt, "show", lambda *a, **k: None)
    monkeypatch.setenv("MPLBACKEND", "Agg")  # for this test only
    threads = torch.get_num_threads()
    try:
        runpy.run_path(str(path), run_name="__main__")
        assert plt.get_fignums(), "the example drew no figure"
        assert torch.get_num_threads() == threads, "the example changed the thread count"
    finally:
        torch.set_num_threads(threads)
        plt.close("all")
