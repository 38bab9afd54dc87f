"""The documentation's promises.

- Every Python code block of the narrative pages (getting started, tutorials, how-to
  guides, theory, the CLI page) runs: the blocks of one page are executed in order in one
  namespace, in a temporary folder; blocks with ``>>>`` prompts run as doctests (their
  output is checked).
- The tutorials and how-to guides run at build time: their code blocks are
  ``.. plot::`` directives (matplotlib's plot directive, inside ``{eval-rst}``: MyST's own
  directive syntax cannot host it) sharing one ``:context:``, the first one
  ``:context: reset``, so Sphinx runs the page's code in order and shows the figures;
  here they run the same way.  Every plot without ``:nofigs:`` draws one figure, with
  no empty panel, and has a caption.  Such a page has no plain ``python`` fence: a
  fence would run here but not at build time.  A ``.. plot::`` without ``:context:``
  (the theory page's) runs in a fresh namespace, as Sphinx runs it.
- The API reference lists every name of each package's ``__all__`` (and nothing else),
  and every such name has a docstring of its own.
- The generated CLI page covers every subcommand, and every gallery folder has the
  README.txt that sphinx-gallery needs.
"""

from __future__ import annotations

import ast
import doctest
import importlib
import importlib.util
import inspect
import io
import re
import sys
import types
from pathlib import Path
from typing import NamedTuple

import matplotlib
import pytest
import torch

matplotlib.use("Agg")
import matplotlib.pyplot as plt

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PACKAGES = ("games", "dynamics", "analyses", "gan_models")
NARRATIVE = ("getting_started.*", "report.*", "tutorials/*", "howto/*", "theory.*", "cli.*")
PAGES = sorted(
    {
        path
        for pattern in NARRATIVE
        for path in DOCS.glob(pattern)
        if path.suffix in (".md", ".rst") and path.is_file()
    }
)
# pages that only link to others
INDEX_PAGES = {DOCS / "tutorials" / "index.md", DOCS / "howto" / "index.md"}

MD_FENCE = re.compile(
    r"^(?P<fence>```+|~~~+)[ \t]*(?P<kind>python|pycon|py|\{code-block\}[ \t]+(?:python|pycon)|\{eval-rst\})[ \t]*\n"
    r"(?P<body>.*?)^(?P=fence)[ \t]*$",
    re.MULTILINE | re.DOTALL,
)
OPTION = re.compile(r"^:(?P<name>[\w-]+):[ \t]*(?P<value>.*)$")
# the tutorials and how-to guides: their code runs at build time through the plot directive
BUILD_TIME = ("tutorials/*", "howto/*")


class Block(NamedTuple):
    """One code block of a page: its first line, its source and, for a ``{plot}``
    directive, its options (``None`` for a plain code block)."""

    lineno: int
    source: str
    plot: dict[str, str] | None = None


RST_DIRECTIVE = re.compile(
    r"^(?P<indent>[ \t]*)\.\. (?:code-block|code|sourcecode)::[ \t]*(?:python|pycon)\s*$"
)


def _plot_directives(text: str, first_line: int) -> list[Block]:
    """The ``.. plot::`` directives of an reST text whose first line is ``first_line``."""
    lines = text.splitlines()
    blocks = []
    i = 0
    while i < len(lines):
        if lines[i].rstrip() != ".. plot::":
            i += 1
            continue
        i += 1
        options: dict[str, str] = {}
        while i < len(lines) and (option := OPTION.match(lines[i].strip())):
            options[option.group("name")] = option.group("value").strip()
            i += 1
        while i < len(lines) and not lines[i].strip():
            i += 1
        start, body = i, []
        while i < len(lines) and (not lines[i].strip() or lines[i].startswith(" ")):
            body.append(lines[i])
            i += 1
        source = inspect.cleandoc("\n".join(body)) + "\n"
        blocks.append(Block(first_line + start, source, options))
    return blocks


def _md_blocks(text: str) -> list[Block]:
    blocks = []
    for match in MD_FENCE.finditer(text):
        lineno = text.count("\n", 0, match.start()) + 2
        if match.group("kind") == "{eval-rst}":
            blocks += _plot_directives(match.group("body"), lineno)
        else:
            blocks.append(Block(lineno, match.group("body")))
    return blocks


def _rst_blocks(text: str) -> list[Block]:
    """``.. code-block:: python`` bodies and doctest paragraphs (``>>>``), in page order."""
    lines = text.splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        match = RST_DIRECTIVE.match(lines[i])
        if match:
            base = len(match.group("indent"))
            i += 1
            while i < len(lines) and (
                not lines[i].strip() or lines[i].lstrip().startswith(":")
            ):  # options and blank lines
                i += 1
            start, body = i, []
            while i < len(lines) and (
                not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > base
            ):
                body.append(lines[i])
                i += 1
            blocks.append(Block(start + 1, inspect.cleandoc("\n".join(body)) + "\n"))
            continue
        if lines[i].lstrip().startswith(">>>"):
            start, body = i, []
            while i < len(lines) and lines[i].strip():
                body.append(lines[i])
                i += 1
            blocks.append(Block(start + 1, inspect.cleandoc("\n".join(body)) + "\n"))
            continue
        i += 1
    return blocks


def python_blocks(path: Path) -> list[Block]:
    """Every Python code block of a page (``{plot}`` directives included), in order."""
    text = path.read_text(encoding="utf-8")
    return _md_blocks(text) if path.suffix == ".md" else _rst_blocks(text)


def _run_doctest(source: str, namespace: dict, name: str, lineno: int) -> None:
    parser = doctest.DocTestParser()
    test = parser.get_doctest(source, namespace, name, name.split(":")[0], lineno)
    runner = doctest.DocTestRunner(
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False
    )
    report = io.StringIO()
    runner.run(test, out=report.write, clear_globs=False)
    if runner.failures:
        pytest.fail(f"doctest block at {name} failed:\n{report.getvalue()}", pytrace=False)


def _check_figure(name: str, options: dict[str, str]) -> None:
    """What the plot directive would show after a block: one figure, no empty panel."""
    figures = [plt.figure(n) for n in plt.get_fignums()]
    assert len(figures) == 1, f"{name}: {len(figures)} figures open after a figure block"
    for ax in figures[0].axes:
        if ax.get_label() != "<colorbar>":
            assert ax.lines or ax.collections or ax.images, f"{name}: an empty panel"
    assert options.get("caption"), f"{name}: a figure without a caption"
    # in MyST every {eval-rst} block counts its plots from 1, so without a prefix of its
    # own each figure of a page would be written to the same file (PAGE-1.png)
    assert options.get("filename-prefix"), f"{name}: a figure without :filename-prefix:"


def _run_plot_block(block: Block, name: str, plot_ns: dict, code: object) -> dict:
    """Run a ``{plot}`` block as the plot directive does; return the plot namespace."""
    options = block.plot or {}
    context = options.get("context")
    if "context" not in options or context == "reset":
        plot_ns = {}  # no context: a fresh namespace; reset: a fresh shared one
    if "context" not in options or context == "close-figs":
        plt.close("all")
    if not plot_ns:  # the directive's default plot_pre_code
        exec("import numpy as np\nfrom matplotlib import pyplot as plt\n", plot_ns)
    exec(code, plot_ns)
    if "nofigs" not in options:
        _check_figure(name, options)
    return plot_ns


# pages whose code takes long (report.md generates two studies of the report: the same
# code test_report.py's module fixture runs): marked slow, run by `pytest -m slow`
SLOW_PAGES = {DOCS / "report.md"}


@pytest.mark.parametrize(
    "page",
    [pytest.param(p, marks=pytest.mark.slow) if p in SLOW_PAGES else p for p in PAGES],
    ids=[str(p.relative_to(DOCS)) for p in PAGES],
)
def test_code_blocks_run(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = python_blocks(page)
    if page in INDEX_PAGES:
        assert not blocks, f"{page.name}: an index page with code; list it as a normal page"
        return
    assert blocks, f"{page.relative_to(DOCS)} has no Python code block to run"
    in_context = [block for block in blocks if block.plot is not None and "context" in block.plot]
    if any(page.match(pattern) for pattern in BUILD_TIME) or in_context:
        fences = [block.lineno for block in blocks if block.plot is None]
        assert not fences, f"{page.name}: plain code blocks (lines {fences}) next to plots"
        assert len(in_context) == len(blocks), f"{page.name}: a .. plot:: without :context:"
        assert blocks[0].plot["context"] == "reset", f"{page.name}: start with :context: reset"
        figures = [b.plot.get("filename-prefix") for b in blocks if "nofigs" not in b.plot]
        assert figures, f"{page.name}: no figure"
        assert len(set(figures)) == len(figures), f"{page.name}: two figures share a file name"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(plt, "show", lambda *args, **kwargs: None)
    namespace: dict = {"__name__": "__docs__"}
    relative = page.relative_to(ROOT)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small tensors: threads only add contention
    plt.close("all")
    try:
        for block in blocks:
            name = f"{relative}:{block.lineno}"
            # leading newlines: tracebacks give the line number in the page
            code = compile("\n" * (block.lineno - 1) + block.source, str(relative), "exec")
            if block.plot is not None:
                plot_namespace = _run_plot_block(block, name, namespace, code)
                if "context" in block.plot:  # the page's namespace is the plots' context
                    namespace = plot_namespace
            elif re.search(r"^\s*>>>", block.source, flags=re.MULTILINE):
                _run_doctest(block.source, namespace, name, block.lineno)
            else:
                exec(code, namespace)
    finally:
        torch.set_num_threads(threads)
        plt.close("all")


def test_pages_found() -> None:
    names = {str(p.relative_to(DOCS)) for p in PAGES}
    for expected in ("getting_started.md", "theory.md", "tutorials/own_game.md", "cli.rst"):
        assert expected in names


def test_block_extraction() -> None:
    md = "text\n```python\nx = 1\n```\n\n```bash\nls\n```\n```pycon\n>>> 1 + 1\n2\n```\n"
    assert [body for _, body, _ in _md_blocks(md)] == ["x = 1\n", ">>> 1 + 1\n2\n"]
    md = (
        "a\n\n```{eval-rst}\n.. plot::\n   :context: reset\n   :nofigs:\n\n   y = 2\n\n"
        "   if y:\n       y = 3\n```\n```python\nw = 1\n```\n```{eval-rst}\nText.\n\n"
        ".. plot::\n   :context: close-figs\n   :caption: c d\n\n   z = y\n```\n"
    )
    assert _md_blocks(md) == [
        Block(8, "y = 2\n\nif y:\n    y = 3\n", {"context": "reset", "nofigs": ""}),
        Block(14, "w = 1\n"),
        Block(23, "z = y\n", {"context": "close-figs", "caption": "c d"}),
    ]
    assert [md.splitlines()[n - 1].strip() for n in (8, 14, 23)] == ["y = 2", "w = 1", "z = y"]
    rst = "T\n\n.. code-block:: python\n   :caption: c\n\n   a = 1\n\n   b = a\n\nend\n\n   >>> a + b\n   2\n"
    assert [body for _, body, _ in _rst_blocks(rst)] == ["a = 1\n\nb = a\n", ">>> a + b\n2\n"]


# -- the API reference ------------------------------------------------------------------


def _autosummary_names(text: str) -> list[str]:
    """Entries of every ``.. autosummary::`` directive of an reST page."""
    names: list[str] = []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.strip() != ".. autosummary::":
            continue
        for entry in lines[i + 1 :]:
            if entry.strip() and not entry.startswith(" "):
                break
            stripped = entry.strip()
            if stripped and not stripped.startswith(":"):
                names.append(stripped)
    return names


def _alias_docstring(package: str, name: str, obj: object) -> str | None:
    """The docstring written under a module-level alias (``Params = ...`` then a string)."""
    for module_name, module in sorted(sys.modules.items()):
        if not module_name.startswith(package + ".") or getattr(module, name, None) is not obj:
            continue
        tree = ast.parse(inspect.getsource(module))
        for first, second in zip(tree.body, tree.body[1:]):
            targets = (
                first.targets
                if isinstance(first, ast.Assign)
                else [first.target]
                if isinstance(first, ast.AnnAssign)
                else []
            )
            if (
                any(isinstance(t, ast.Name) and t.id == name for t in targets)
                and isinstance(second, ast.Expr)
                and isinstance(second.value, ast.Constant)
                and isinstance(second.value.value, str)
            ):
                return second.value.value
    return None


def _own_docstring(package: str, name: str, obj: object) -> str | None:
    if isinstance(obj, (types.GenericAlias, types.UnionType)):
        return _alias_docstring(package, name, obj)
    if inspect.isclass(obj):
        doc = obj.__dict__.get("__doc__")
        # a dataclass without a docstring gets its signature as __doc__
        if doc and doc.startswith(f"{obj.__name__}("):
            return None
        return inspect.cleandoc(doc) if doc else None
    return inspect.getdoc(obj)


@pytest.mark.parametrize("package", PACKAGES)
def test_api_reference_lists_every_public_name(package: str) -> None:
    module = importlib.import_module(package)
    listed = _autosummary_names((DOCS / "api" / f"{package}.rst").read_text(encoding="utf-8"))
    missing = sorted(set(module.__all__) - set(listed))
    stale = sorted(set(listed) - set(module.__all__))
    duplicated = sorted({n for n in listed if listed.count(n) > 1})
    assert not missing, f"docs/api/{package}.rst lacks {missing}"
    assert not stale, f"docs/api/{package}.rst lists names not in {package}.__all__: {stale}"
    assert not duplicated, f"docs/api/{package}.rst lists {duplicated} twice"


@pytest.mark.parametrize("package", PACKAGES)
def test_every_public_name_has_a_docstring(package: str) -> None:
    module = importlib.import_module(package)
    undocumented = [
        name
        for name in module.__all__
        if not (_own_docstring(package, name, getattr(module, name)) or "").strip()
    ]
    assert not undocumented, f"{package}: no docstring for {undocumented}"
    assert inspect.getdoc(module), f"{package} has no module docstring"


# -- the CLI page and the gallery --------------------------------------------------------


def test_cli_page_covers_every_subcommand(tmp_path: Path) -> None:
    import argparse

    from analyses.cli import build_parser

    spec = importlib.util.spec_from_file_location("_gamedyn_docs_conf", DOCS / "conf.py")
    assert spec is not None and spec.loader is not None
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    text = conf.write_cli_help(tmp_path / "cli_help.rst").read_text()
    subcommands = [
        name
        for action in build_parser()._actions
        if isinstance(action, argparse._SubParsersAction)
        for name in action.choices
    ]
    assert {"report", "train"} <= set(subcommands)
    for name in subcommands:
        assert f"``gamedyn {name}``" in text
        assert f"usage: gamedyn {name}" in text
    assert ".. include:: _generated/cli_help.rst" in (DOCS / "cli.rst").read_text()


def test_every_gallery_folder_has_a_readme() -> None:
    examples = DOCS / "examples"
    assert (examples / "README.txt").is_file()
    for script in examples.rglob("plot_*.py"):
        assert (script.parent / "README.txt").is_file(), f"{script.parent} lacks README.txt"
