"""The documentation's promises.

- Every Python code block of the narrative pages (getting started, tutorials, how-to
  guides, theory, the CLI page) runs: the blocks of one page are executed in order in one
  namespace, in a temporary folder; blocks with ``>>>`` prompts run as doctests (their
  output is checked).
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
    r"^(?P<fence>```+|~~~+)[ \t]*(?:python|pycon|py|\{code-block\}[ \t]+(?:python|pycon))[ \t]*\n"
    r"(?P<body>.*?)^(?P=fence)[ \t]*$",
    re.MULTILINE | re.DOTALL,
)
RST_DIRECTIVE = re.compile(
    r"^(?P<indent>[ \t]*)\.\. (?:code-block|code|sourcecode)::[ \t]*(?:python|pycon)\s*$"
)


def _md_blocks(text: str) -> list[tuple[int, str]]:
    return [
        (text.count("\n", 0, match.start()) + 2, match.group("body"))
        for match in MD_FENCE.finditer(text)
    ]


def _rst_blocks(text: str) -> list[tuple[int, str]]:
    """``.. code-block:: python`` bodies and doctest paragraphs (``>>>``), in page order."""
    lines = text.splitlines()
    blocks: list[tuple[int, str]] = []
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
            blocks.append((start + 1, inspect.cleandoc("\n".join(body)) + "\n"))
            continue
        if lines[i].lstrip().startswith(">>>"):
            start, body = i, []
            while i < len(lines) and lines[i].strip():
                body.append(lines[i])
                i += 1
            blocks.append((start + 1, inspect.cleandoc("\n".join(body)) + "\n"))
            continue
        i += 1
    return blocks


def python_blocks(path: Path) -> list[tuple[int, str]]:
    """(line number, source) of every Python code block of a page, in order."""
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


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(DOCS)) for p in PAGES])
def test_code_blocks_run(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = python_blocks(page)
    if page in INDEX_PAGES:
        assert not blocks, f"{page.name}: an index page with code; list it as a normal page"
        return
    assert blocks, f"{page.relative_to(DOCS)} has no Python code block to run"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(plt, "show", lambda *args, **kwargs: None)
    namespace: dict = {"__name__": "__docs__"}
    relative = page.relative_to(ROOT)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small tensors: threads only add contention
    try:
        for lineno, source in blocks:
            name = f"{relative}:{lineno}"
            if re.search(r"^\s*>>>", source, flags=re.MULTILINE):
                _run_doctest(source, namespace, name, lineno)
            else:
                # leading newlines: tracebacks give the line number in the page
                exec(compile("\n" * (lineno - 1) + source, str(relative), "exec"), namespace)
    finally:
        torch.set_num_threads(threads)
        plt.close("all")


def test_pages_found() -> None:
    names = {str(p.relative_to(DOCS)) for p in PAGES}
    for expected in ("getting_started.md", "theory.md", "tutorials/own_game.md", "cli.rst"):
        assert expected in names


def test_block_extraction() -> None:
    md = "text\n```python\nx = 1\n```\n\n```bash\nls\n```\n```pycon\n>>> 1 + 1\n2\n```\n"
    assert [body for _, body in _md_blocks(md)] == ["x = 1\n", ">>> 1 + 1\n2\n"]
    rst = "T\n\n.. code-block:: python\n   :caption: c\n\n   a = 1\n\n   b = a\n\nend\n\n   >>> a + b\n   2\n"
    assert [body for _, body in _rst_blocks(rst)] == ["a = 1\n\nb = a\n", ">>> a + b\n2\n"]


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
