"""The documentation site's promises beyond "its code runs" (tests/test_docs.py does that).

- The built HTML loads nothing from another host: no ``<script src>``, ``<link href>``,
  ``<img src>`` (or any other ``src``) with ``http://``, ``https://`` or ``//``, no CSS
  ``url(...)`` or ``@import`` of another host, no inline script naming a URL.  MathJax is
  served from the site itself (``_static/mathjax``, bundled by sphinx-mathjax-offline), so
  the maths renders on a machine without a network.  The built site is read from
  ``$GAMEDYN_DOCS_HTML`` or ``docs/_build/html`` (``.ci/run`` builds it, then runs this
  file); ``pytest -m slow`` builds one itself.
- No Markdown or reST line starts a list item while an inline formula continues from the
  line before (MyST turns ``+ \\mathbb{E}...`` into a bullet and garbles the formula).
- The sources are self-contained: no file cites a folder or a document outside this
  repository, and every relative Markdown link resolves to a file of the repository.
- The landing page shows an install command, an example whose figure is made at build
  time, and cards to the gallery, tutorials, theory and API; every ``.. plot::`` runs.
- The navigation: the top bar's sections in order, each page in its section.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

# -- the built site loads nothing from another host -------------------------------------

REMOTE = re.compile(r"^\s*(?:[a-zA-Z][a-zA-Z0-9+.-]*:)?//")  # http://, https://, //host
CSS_REMOTE = re.compile(r"""(?:url\(\s*['"]?|@import\s+['"])\s*(?:[a-zA-Z][\w+.-]*:)?//[\w.-]*""")
URL_IN_SCRIPT = re.compile(r"""['"`](?:https?:)?//[\w.-]+\.[a-z]{2,}""")


class _Loads(HTMLParser):
    """Collect what a page makes the browser fetch: (tag, attribute, value)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.loads: list[tuple[str, str, str]] = []
        self.inline_scripts: list[str] = []
        self.inline_styles: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        for name in ("src", "srcset", "data", "poster"):
            if name in values:
                self.loads.append((tag, name, values[name]))
        if tag == "link" and "href" in values:
            self.loads.append((tag, "href", values["href"]))
        if "style" in values:
            self.inline_styles.append(values["style"])
        if tag in ("script", "style") and "src" not in values:
            self._in = tag

    def handle_endtag(self, tag: str) -> None:
        if tag == self._in:
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "script":
            self.inline_scripts.append(data)
        elif self._in == "style":
            self.inline_styles.append(data)


def external_loads(html: str) -> list[str]:
    """What an HTML page would load from another host (empty: nothing)."""
    parser = _Loads()
    parser.feed(html)
    found = [
        f"<{tag} {name}={value!r}>"
        for tag, name, value in parser.loads
        if any(REMOTE.match(part) for part in value.split(","))  # srcset: a list
    ]
    found += [
        f"inline script naming {m.group(0)}"
        for s in parser.inline_scripts
        for m in URL_IN_SCRIPT.finditer(s)
    ]
    found += [
        f"inline style {m.group(0)!r}" for s in parser.inline_styles for m in CSS_REMOTE.finditer(s)
    ]
    return found


def site_external_loads(site: Path) -> dict[str, list[str]]:
    """Every HTML and CSS file of a built site that loads something from another host."""
    problems: dict[str, list[str]] = {}
    for path in sorted(site.rglob("*.html")):
        found = external_loads(path.read_text(encoding="utf-8", errors="replace"))
        if found:
            problems[str(path.relative_to(site))] = found
    for path in sorted(site.rglob("*.css")):
        text = path.read_text(encoding="utf-8", errors="replace")
        found = [m.group(0) for m in CSS_REMOTE.finditer(text)]
        if found:
            problems[str(path.relative_to(site))] = found
    return problems


def test_external_loads_finds_every_kind() -> None:
    page = """<html><head>
      <script src="https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-chtml.js"></script>
      <script src="_static/local.js"></script>
      <link rel="stylesheet" href="//fonts.googleapis.com/css?family=Lato">
      <link rel="stylesheet" href="_static/basic.css">
      <style>@import "https://example.org/a.css"; body { background: url(img.png) }</style>
      <script>window.MathJax = {loader: {paths: {mathjax: "https://cdn.example.org/mj"}}}</script>
      <script>var x = "a // comment-like string";</script>
    </head><body>
      <a href="https://www.sphinx-doc.org/">a link is not a load</a>
      <img src="HTTP://example.org/x.png"> <img src="_images/ok.png">
      <img srcset="_images/a.png 1x, https://example.org/b.png 2x">
      <div style="background: url('//example.org/bg.png')"></div>
    </body></html>"""
    found = external_loads(page)
    assert len(found) == 7, found
    joined = "\n".join(found)
    for expected in (
        "cdn.jsdelivr.net",
        "fonts.googleapis.com",
        "HTTP://example.org/x.png",
        "https://example.org/b.png",
        "cdn.example.org",
        "@import",
        "url('//example.org",
    ):
        assert expected in joined
    assert "sphinx-doc" not in joined and "local.js" not in joined and "ok.png" not in joined
    assert external_loads("<script src='_static/mathjax/tex-chtml.js'></script>") == []


def _built_site() -> Path | None:
    given = os.environ.get("GAMEDYN_DOCS_HTML")
    site = Path(given) if given else DOCS / "_build" / "html"
    return site if (site / "index.html").is_file() else None


def _check_site(site: Path) -> None:
    problems = site_external_loads(site)
    assert not problems, "pages load from another host:\n" + "\n".join(
        f"{page}: {found}" for page, found in problems.items()
    )
    # the maths: the pages that have formulas load the site's own MathJax, which is there
    # with its fonts (tex-chtml fetches them relative to its own address)
    theory = (site / "theory.html").read_text(encoding="utf-8")
    assert re.search(r'<script[^>]+src="_static/mathjax/tex-chtml\.js', theory), "no local MathJax"
    assert r"\mathbb{E}" in theory
    assert (site / "_static" / "mathjax" / "tex-chtml.js").stat().st_size > 500_000
    fonts = list((site / "_static" / "mathjax" / "output" / "chtml" / "fonts").rglob("*.woff"))
    assert len(fonts) >= 20, fonts
    # every local script, stylesheet and image a page loads is in the site
    missing = []
    for path in sorted(site.rglob("*.html")):
        if path.relative_to(site).parts[0] == "_static":  # theme templates, not pages
            continue
        parser = _Loads()
        parser.feed(path.read_text(encoding="utf-8", errors="replace"))
        for tag, name, value in parser.loads:
            if name in ("src", "href") and tag in ("img", "script", "link") and value:
                target = (path.parent / value.split("#")[0].split("?")[0]).resolve()
                if not target.exists():
                    missing.append(f"{path.relative_to(site)}: <{tag} {name}={value!r}>")
    assert not missing, "pages load files the site lacks:\n" + "\n".join(missing[:20])
    # the build-time figures: each .. plot:: has its own image
    figures = re.findall(r'<img[^>]*class="plot-directive"[^>]*src="([^"]+)"', theory)
    assert len(figures) == 2 and len(set(figures)) == 2, figures
    # the tutorials and how-to guides show the figures their code draws at build time,
    # each with a caption
    for source in sorted(DOCS.glob("tutorials/*.md")) + sorted(DOCS.glob("howto/*.md")):
        if source.stem == "index":
            continue
        page = source.relative_to(DOCS).with_suffix(".html")
        html = (site / page).read_text(encoding="utf-8")
        shown = re.findall(r'<img[^>]*class="plot-directive"[^>]*src="([^"]+)"', html)
        wanted = source.read_text(encoding="utf-8").count(":caption:")
        assert shown and len(set(shown)) == len(shown) == wanted, (page, shown, wanted)
        assert html.count("<figcaption") >= wanted, page
    # types link to their pages: in the signature (an annotation written with its private
    # module, games._protocol.Game) and in the numpydoc "Parameters" section (Game)
    api = (site / "api" / "generated" / "analyses.stability_region.html").read_text(
        encoding="utf-8"
    )
    signature, _, body = api[api.index('class="sig sig-object py"') :].partition("</dt>")
    assert 'href="games.Game.html#games.Game"' in signature, signature[-2000:]
    assert 'href="analyses.StabilityRegion.html#analyses.StabilityRegion"' in signature
    assert 'href="games.Game.html#games.Game"' in body


def test_built_site_loads_nothing_from_another_host() -> None:
    site = _built_site()
    if site is None:
        pytest.skip("no built site: set GAMEDYN_DOCS_HTML or build docs/_build/html (.ci/run does)")
    _check_site(site)


@pytest.mark.slow
def test_fresh_build_loads_nothing_from_another_host(tmp_path: Path) -> None:
    """Build the site (the gallery not run; the tutorials and how-to guides do run) and
    check it (a few minutes)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GAMEDYN_QUICK": "1"}
    command = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
               "-D", "plot_gallery=0", "-d", str(tmp_path / "doctrees"), str(DOCS), str(tmp_path / "html")]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    _check_site(tmp_path / "html")


def _conf():
    spec = importlib.util.spec_from_file_location("_gamedyn_docs_conf_site", DOCS / "conf.py")
    assert spec is not None and spec.loader is not None
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    return conf


def test_mathjax_is_bundled_not_fetched() -> None:
    conf = _conf()
    assert "sphinx-mathjax-offline" in conf.extensions
    assert not REMOTE.match(conf.mathjax_path), conf.mathjax_path
    spec = importlib.util.find_spec("sphinx-mathjax-offline")
    assert spec is not None and spec.origin is not None, "sphinx-mathjax-offline is not installed"
    bundle = Path(spec.origin).parent / "static" / "mathjax"
    script = bundle / conf.mathjax_path.removeprefix("mathjax/")
    assert script.stat().st_size > 500_000  # the whole MathJax component, not a loader stub
    assert "MathJax" in script.read_text(encoding="utf-8", errors="replace")[:200_000]
    assert {"pydata_sphinx_theme", "sphinx_copybutton"} <= {conf.html_theme, *conf.extensions}


# -- no list item where a formula continues -----------------------------------------------

LIST_ITEM = re.compile(r"^ {0,3}(?:[-+*]|\d{1,9}[.)])(?:[ \t]|$)")
FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


def _open_dollars(line: str) -> int:
    """Single ``$`` delimiters of a Markdown line (code spans, ``\\$`` and ``$$`` removed)."""
    line = re.sub(r"(`+).*?\1", "", line.replace("\\$", ""))
    return line.replace("$$", "").count("$")


def formula_continued_as_list(text: str, markdown: bool = True) -> list[int]:
    """Line numbers (1-based) where a list item starts inside an inline formula.

    Markdown: an odd number of ``$`` so far in the paragraph (outside code and ``$$``
    blocks).  reST: an unclosed ``:math:`...``` role.
    """
    bad: list[int] = []
    fence: str | None = None
    display = False
    open_formula = False
    for number, line in enumerate(text.splitlines(), start=1):
        match = FENCE.match(line)
        if fence is not None:
            if match and match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence):
                fence = None
            continue
        if match and markdown:
            fence, open_formula = match.group(1), False
            continue
        if not line.strip():
            open_formula = False
            continue
        if markdown and line.strip().startswith("$$"):
            if line.count("$$") % 2:
                display = not display
            continue
        if display:
            continue
        if open_formula and LIST_ITEM.match(line):
            bad.append(number)
        if markdown:
            if _open_dollars(line) % 2:
                open_formula = not open_formula
        else:
            for role in re.finditer(r":math:`|`", line):
                if role.group(0) == ":math:`" and not open_formula:
                    open_formula = True
                elif role.group(0) == "`" and open_formula:
                    open_formula = False
    return bad


def _doc_sources() -> list[Path]:
    skip = {"_build", "_generated", "auto_examples", "generated"}
    found = [ROOT / "README.md"]
    for path in sorted(DOCS.rglob("*")):
        if path.suffix in (".md", ".rst", ".txt") and not skip & set(path.relative_to(DOCS).parts):
            found.append(path)
    return found


def test_formula_list_check_finds_the_theory_bug() -> None:
    bug = (
        "Substituting,\n"
        "$C(G) = \\max_D V = \\mathbb{E}_\\text{data}\\log\\frac{p}{2m}\n"
        "+ \\mathbb{E}_{p_g}\\log\\frac{p_g}{2m} = -\\log 4$, which is minimal.\n"
    )
    assert formula_continued_as_list(bug) == [3]
    fine = (
        "A list after a closed $x$ formula:\n- item with `$` in code\n\n"
        "$$\n+ \\mathbb{E} x\n$$\n\n```python\n$a\n- b\n```\n- $y$ and \\$5\n"
    )
    assert formula_continued_as_list(fine) == []
    rst = "The sum :math:`a\n+ b` is fine in reST? no: flagged.\n\n- a :math:`x` item\n"
    assert formula_continued_as_list(rst, markdown=False) == [2]


def test_no_list_item_continues_a_formula() -> None:
    pages = _doc_sources()
    assert DOCS / "theory.md" in pages and len(pages) > 20
    bad = {
        str(path.relative_to(ROOT)): lines
        for path in pages
        if (
            lines := formula_continued_as_list(
                path.read_text(encoding="utf-8"), path.suffix == ".md"
            )
        )
    }
    assert not bad, f"a line starts a list item inside a formula (move the operator up): {bad}"


# -- self-contained sources ----------------------------------------------------------------

# built from pieces so that this file does not match itself
OUTSIDE = re.compile(
    r"(?<![\w.-])"
    + "shared"
    + r"/|\b(?:"
    + "|".join(("THEORY", "PERFORMANCE", "ARCHITECTURE", "STYLE"))
    + r")\.md\b"
)
TEXT_SUFFIXES = {".py", ".md", ".rst", ".txt", ".toml", ".cfg", ".ini", ".json", ".yml",
                 ".yaml", ".sh", ".css", ".html", ".j2"}  # fmt: skip
SKIP_DIRS = {".git", ".venv", "__pycache__", "_build", "_generated", "auto_examples",
             "generated", "build", "dist", "gamedyn-report", "runs", "quick", "results"}  # fmt: skip


def _repository_text_files() -> list[Path]:
    found = [ROOT / ".ci" / "run"] if (ROOT / ".ci" / "run").is_file() else []
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS and not (d.startswith(".") and d != ".ci")]
        for name in files:
            path = Path(folder) / name
            if path.suffix in TEXT_SUFFIXES and path.stat().st_size < 2_000_000:
                found.append(path)
    return found


def test_outside_reference_pattern() -> None:
    folder, md = "shared" + "/", ".md"  # in pieces: this file must not match itself
    for cited in (f"see {folder}THEORY{md}", f"`{folder}PERFORMANCE{md}`",
                  f"ARCHITECTURE{md}, STYLE{md}", f"(../../{folder}notes.txt)"):  # fmt: skip
        assert OUTSIDE.search(cited), cited
    for fine in ("docs/architecture.md", "shared weights", "one shared forward", "/dev/shm/x"):
        assert not OUTSIDE.search(fine), fine


def test_no_file_cites_a_source_outside_the_repository() -> None:
    files = _repository_text_files()
    assert ROOT / "docs" / "theory.md" in files and ROOT / "benchmarks" / "jacobian.py" in files
    cited = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()[:100]}"
        for path in files
        for number, line in enumerate(
            path.read_text(encoding="utf-8", errors="replace").splitlines(), 1
        )
        if OUTSIDE.search(line)
    ]
    assert not cited, "files cite sources outside this repository:\n" + "\n".join(cited)


MD_LINK = re.compile(r"\]\((?!https?://|mailto:|#|<)([^)\s]+)\)")


def test_relative_markdown_links_resolve_inside_the_repository() -> None:
    broken = []
    for path in [p for p in _doc_sources() if p.suffix == ".md"]:
        for target in MD_LINK.findall(path.read_text(encoding="utf-8")):
            resolved = (path.parent / target.split("#")[0]).resolve()
            if not (resolved.is_relative_to(ROOT) and resolved.exists()):
                broken.append(f"{path.relative_to(ROOT)} -> {target}")
    assert not broken, broken


# -- the landing page and the build-time figures -------------------------------------------


def _directive_bodies(text: str, name: str) -> list[str]:
    """Bodies (options dropped, dedented) of every ``.. NAME::`` directive of an reST text."""
    lines = text.splitlines()
    bodies = []
    for i, line in enumerate(lines):
        if line.strip() != f".. {name}::":
            continue
        body, j = [], i + 1
        while j < len(lines) and (not lines[j].strip() or lines[j].startswith(" ")):
            if not lines[j].strip().startswith(":"):
                body.append(lines[j])
            j += 1
        indent = min(len(b) - len(b.lstrip()) for b in body if b.strip())
        bodies.append("\n".join(b[indent:] for b in body).strip() + "\n")
    return bodies


def test_landing_page_shows_install_example_and_cards() -> None:
    text = (DOCS / "index.rst").read_text(encoding="utf-8")
    intro = text.split("Install\n-------")[0]
    assert 2 <= intro.count(". ") + intro.count(".\n") <= 4  # two sentences (and the title)
    assert re.search(
        r"\.\. code-block:: bash\n\n\s+python3 -m venv \.venv && .*pip install -e \.", text
    )
    (example,) = _directive_bodies(text, "plot")
    code = [line for line in example.splitlines() if line.strip()]
    assert len(code) <= 5, code
    cards = re.findall(r"\.\. grid-item-card::.*\n\s+:link: (\S+)", text)
    assert {"auto_examples/index", "tutorials/index", "theory_index", "api/index"} <= set(cards)


def _plot_bodies(page: Path) -> list[str]:
    """The code of every self-contained ``.. plot::`` of a page (in MyST pages: inside
    ``{eval-rst}``).  Plots with ``:context:`` (the tutorials and how-to guides, which run
    as a whole at build time) are left to tests/test_docs.py, which runs them in order."""
    text = page.read_text(encoding="utf-8")
    bodies = _directive_bodies(text, "plot")
    blocks = re.split(r"^[ \t]*\.\. plot::[ \t]*$", text, flags=re.MULTILINE)[1:]
    return [
        body
        for body, block in zip(bodies, blocks, strict=True)
        if not re.match(r"\s*(?::[\w-]+:.*\n\s*)*:context:", block.lstrip("\n"))
    ]


def _run_plot(code: str, name: str) -> plt.Figure:
    plt.close("all")
    exec(compile(code, name, "exec"), {"__name__": "__docs__"})
    (figure,) = [plt.figure(n) for n in plt.get_fignums()]  # one figure per directive
    return figure


def test_every_plot_directive_runs_and_draws(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pages = {p: _plot_bodies(p) for p in _doc_sources() if _plot_bodies(p)}
    assert (
        len(pages.get(DOCS / "index.rst", [])) == 1 and len(pages.get(DOCS / "theory.md", [])) == 2
    )
    monkeypatch.chdir(tmp_path)
    for page, bodies in pages.items():
        for body in bodies:
            figure = _run_plot(body, str(page))
            for ax in figure.axes:
                if ax.get_label() == "<colorbar>":
                    continue
                assert ax.lines or ax.collections or ax.images, f"{page}: an empty panel"
    plt.close("all")


def test_landing_page_figure_shows_its_claim() -> None:
    """Simultaneous GD spirals out, alternating GD orbits, extragradient spirals in: the
    norms after t = 60 steps of 0.2 from (1, 0) are the closed forms (1 + eta^2)^(t/2) and
    (1 - eta^2 + eta^4)^(t/2), and alternating GD stays on an ellipse through (1, 0)."""
    figure = _run_plot(_plot_bodies(DOCS / "index.rst")[0], "index.rst")
    lines = {line.get_label(): line.get_xydata() for line in figure.axes[0].get_lines()}
    norms = {name: float((xy[-1] ** 2).sum() ** 0.5) for name, xy in lines.items()}
    assert norms["simultaneous GD"] == pytest.approx((1 + 0.04) ** 30, rel=1e-9)
    assert norms["alternating GD"] == pytest.approx(1.0, abs=0.25)
    assert norms["extragradient"] == pytest.approx((1 - 0.04 + 0.0016) ** 30, rel=1e-9)
    plt.close("all")


def test_theory_figures_show_their_claims() -> None:
    jacobian_figure, portraits = (
        _run_plot(b, "theory.md") for b in _plot_bodies(DOCS / "theory.md")
    )
    # the function-space GAN: the generator's own block is zero, the eigenvalues are
    # +-i w/2 (w = 6/30 here) where p_data = 0 and have real part w p / 4 > 0 inside the box
    drawn = np.asarray(jacobian_figure.axes[0].images[0].get_array())
    n = drawn.shape[0] // 2
    assert np.all(drawn[:n, :n] == 0) and np.abs(drawn[:n, n:]).max() > 0.05
    (points,) = jacobian_figure.axes[1].collections
    eig = points.get_offsets()
    outside = np.abs(eig[:, 0]) < 1e-12
    assert 0 < outside.sum() < len(eig) and np.all(eig[:, 0] > -1e-12)
    assert np.allclose(np.abs(eig[outside, 1]), 0.1, rtol=0.05)
    # the Dirac-GAN: GD with step 0.25 from (1, 1) leaves the start's circle unregularised
    # (|1 - 0.25 i/2| = sqrt(1 + 1/64) > 1 per step) and converges with R1
    plain, r1 = ({x.get_label(): x.get_xydata() for x in ax.get_lines()} for ax in portraits.axes)
    name = "simultaneous GD, step 0.25"
    start = np.sqrt(2.0)
    assert np.linalg.norm(plain[name][-1]) > 1.5 * start
    assert np.linalg.norm(r1[name][-1]) < 1e-3
    for panel in portraits.axes:
        assert panel.get_xlabel().startswith("θ") and panel.get_ylabel().startswith("ψ")
    plt.close("all")


# -- navigation ------------------------------------------------------------------------------


def _toctree_entries(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".rst":
        bodies = _directive_bodies(text, "toctree")
        return [e.strip() for b in bodies for e in b.splitlines() if e.strip()]
    entries = []
    for block in re.findall(r"```\{toctree\}\n(.*?)```", text, flags=re.DOTALL):
        entries += [e.strip() for e in block.splitlines() if e.strip() and not e.startswith(":")]
    return entries


def test_navigation_sections_and_their_pages() -> None:
    assert _toctree_entries(DOCS / "index.rst") == [
        "user_guide", "tutorials/index", "howto/index", "auto_examples/index",
        "theory_index", "results", "api/index",
    ]  # fmt: skip
    guide = _toctree_entries(DOCS / "user_guide.md")
    assert guide[:4] == ["getting_started", "training", "report", "cli"]
    results = _toctree_entries(DOCS / "results.md")
    assert "training" not in results and "benchmarks" in results
    assert _toctree_entries(DOCS / "theory_index.md")[0] == "theory"
    # every page is in exactly one section's toctree
    listed: list[str] = []
    for index in ("user_guide.md", "theory_index.md", "results.md"):
        listed += _toctree_entries(DOCS / index)
    listed += ["tutorials/" + e for e in _toctree_entries(DOCS / "tutorials" / "index.md")]
    listed += ["howto/" + e for e in _toctree_entries(DOCS / "howto" / "index.md")]
    listed += [
        str(Path("api", e)).replace("api/../", "")
        for e in _toctree_entries(DOCS / "api" / "index.rst")
    ]
    pages = {
        str(p.relative_to(DOCS).with_suffix(""))
        for p in DOCS.rglob("*")
        if p.suffix in (".md", ".rst")
        and p.parent.name not in {"_generated", "generated"}
        and not {
            "_build",
            "auto_examples",
            "examples",
            "_templates",
            "mode_coverage",
            "ring_spectra",
            "stacked_digits",
        }
        & set(p.relative_to(DOCS).parts[:-1])
    }
    sections = {
        "index",
        "user_guide",
        "theory_index",
        "results",
        "tutorials/index",
        "howto/index",
        "api/index",
    }
    assert sorted(listed) == sorted(set(listed)), "a page is in two sections"
    assert pages - sections == set(listed), (pages - sections) ^ set(listed)


def test_readme_states_cgd_solver_as_implemented() -> None:
    from dynamics import CGD

    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    assert CGD(lr=0.1).solver == "auto"
    assert f"`CGD` (by default a dense solve up to {CGD.dense_max} parameters" in readme
    assert "`CGD` (matrix-free)" not in readme
