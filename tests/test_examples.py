"""Every example script under docs/examples runs headless, cell by cell as sphinx-gallery
runs it: after each cell the open figures are captured and closed (unless the cell says
``# sphinx_gallery_defer_figures``), so a later cell that draws on such a figure would draw
on a figure that is already on the page: that fails here, as does a captured figure with an
empty panel."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import pytest
import torch
from sphinx_gallery.py_source_parser import split_code_and_text_blocks

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
        captured = _run_cells(path)
        assert captured, "the example drew no figure"
        assert torch.get_num_threads() == threads, "the example changed the thread count"
    finally:
        torch.set_num_threads(threads)
        plt.close("all")


def _artists(figure: plt.Figure) -> int:
    return sum(
        len(ax.lines) + len(ax.collections) + len(ax.images) + len(ax.patches) + len(ax.texts)
        for ax in figure.axes
    )


def _run_cells(path: Path) -> int:
    """Run the example's code cells in order as sphinx-gallery does; return the number of
    figures captured."""
    _, blocks = split_code_and_text_blocks(path)
    namespace = {"__name__": "__main__", "__file__": str(path)}
    shown: list[tuple[plt.Figure, int, int]] = []  # (figure, artists when captured, cell)
    for cell, block in enumerate(b for b in blocks if b[0] == "code"):
        code = compile("\n" * (block[2] - 1) + block[1], str(path), "exec")
        exec(code, namespace)
        for figure, artists, where in shown:
            assert _artists(figure) == artists, (
                f"{path.name}: code cell {cell} (line {block[2]}) draws on a figure already "
                f"shown after cell {where}; add '# sphinx_gallery_defer_figures' to that cell"
            )
        if "sphinx_gallery_defer_figures" in block[1]:
            continue
        for number in plt.get_fignums():
            figure = plt.figure(number)
            for ax in figure.axes:
                if ax.get_label() != "<colorbar>" and ax.get_visible():
                    assert ax.lines or ax.collections or ax.images or ax.patches or ax.texts, (
                        f"{path.name}: an empty panel ({ax.get_title()!r}) in the figure of "
                        f"code cell {cell} (line {block[2]})"
                    )
            shown.append((figure, _artists(figure), cell))
        plt.close("all")
    return len(shown)


def test_cell_runner_catches_a_figure_drawn_after_capture(tmp_path: Path) -> None:
    script = tmp_path / "plot_split.py"
    text = (
        '"""\nTitle\n=====\n"""\n\n# %%\nimport matplotlib.pyplot as plt\n\n'
        "fig, axes = plt.subplots(1, 2)\naxes[0].plot([0, 1])\n{defer}\n"
        "# %%\n# More.\naxes[1].plot([1, 0])\n"
    )
    script.write_text(text.format(defer=""))
    with pytest.raises(AssertionError, match="empty panel"):
        _run_cells(script)
    plt.close("all")
    script.write_text(text.format(defer="# sphinx_gallery_defer_figures"))
    assert _run_cells(script) == 1
    plt.close("all")


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs(path, monkeypatch):
    # quick mode (GAMEDYN_QUICK=1), as the docs build runs them
    _run(path, monkeypatch, quick=True)


@pytest.mark.slow
@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs_in_full(path, monkeypatch):
    _run(path, monkeypatch, quick=False)
