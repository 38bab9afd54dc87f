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


def _run(path: Path, monkeypatch: pytest.MonkeyPatch, quick: bool) -> None:
    if quick:
        monkeypatch.setenv("GAMEDYN_QUICK", "1")
    else:
        monkeypatch.delenv("GAMEDYN_QUICK", raising=False)
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


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs(path, monkeypatch):
    # quick mode (GAMEDYN_QUICK=1), as the docs build runs them
    _run(path, monkeypatch, quick=True)


@pytest.mark.slow
@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs_in_full(path, monkeypatch):
    _run(path, monkeypatch, quick=False)
