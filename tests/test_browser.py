"""The report folder and the documentation site in a real browser (headless Chromium).

Each page is opened at a 1,280 x 900 window over ``file://`` (as a reader opens the report
folder) by ``docs/screenshots.py``'s DevTools-over-a-pipe driver: no Python package, no
network. Checked: every ``<img>`` loads, with the pixel size of the PNG file on disk; no
console error, uncaught exception or failed load; no horizontal overflow
(``document.scrollingElement.scrollWidth <= 1280``); on pages with formulas, MathJax
typeset them (``mjx-container`` elements, no raw ``\\(`` left) and no display formula is
wider than its column. A screenshot of each page goes into the test's temporary folder.
The checker itself is first shown to catch each fault on a hand-made page.

Skipped, with the reason, when no Chromium is installed (``apt-get install chromium``;
``.ci/run`` installs it) and, for the site, when no built site is found at
``$GAMEDYN_DOCS_HTML`` or ``docs/_build/html``.
"""

from __future__ import annotations

import importlib.util
import os
import struct
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from analyses.report import generate_report

ROOT = Path(__file__).resolve().parents[1]
WIDTH = 1280

_spec = importlib.util.spec_from_file_location(
    "_gamedyn_docs_screenshots", ROOT / "docs" / "screenshots.py"
)
assert _spec is not None and _spec.loader is not None
shots = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(shots)

BROWSER = shots.find_browser()
pytestmark = pytest.mark.skipif(
    BROWSER is None,
    reason="no Chromium on PATH (apt-get install chromium, or set $GAMEDYN_CHROMIUM)",
)


@pytest.fixture(scope="module")
def chromium():
    with shots.Chromium(BROWSER, width=WIDTH, height=900, timeout=60.0) as browser:
        yield browser


class _Images(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.sources: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            self.sources.append(dict(attrs).get("src") or "")


def img_sources(page: Path) -> list[str]:
    """The ``src`` of every ``<img>`` in the page's HTML, read without a browser."""
    parser = _Images()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser.sources


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk."""
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height = struct.unpack(">II", head[16:24])
    return width, height


def check_page(chromium, page: Path, screenshot: Path, *, maths: bool = False) -> dict:
    """Open ``page``; assert it is whole; return its state."""
    state = chromium.open(page.resolve().as_uri())
    assert shots.problems(page.name, state, width=WIDTH, maths=maths) == []
    # the browser saw every <img> of the HTML, and each at the size of its file
    assert state["images"] == len(img_sources(page))
    for url, width, height in state["sizes"]:
        parsed = urlparse(url)
        if parsed.scheme == "file" and url.lower().endswith(".png"):
            assert (width, height) == png_size(Path(unquote(parsed.path))), url
    chromium.screenshot(screenshot)
    assert png_size(screenshot) == (WIDTH, 900)
    assert screenshot.stat().st_size > 10_000  # a page, not a blank frame
    return state


# -- the checker catches each fault ---------------------------------------------------

BROKEN_PAGE = """<!doctype html><html><head><meta charset="utf-8"></head><body>
<p>raw maths: \\(x^2\\) <span class="math">\\(y\\)</span></p>
<img src="missing.png" alt="missing">
<div style="width: 2000px">wide</div>
<div style="width: 600px"><mjx-container display="true" style="display: block; overflow-x: auto">
<span style="display: inline-block; width: 900px">a formula wider than its column</span>
</mjx-container></div>
<script>console.error("deliberate");</script>
</body></html>"""


def test_checker_reports_every_fault(chromium, tmp_path):
    page = tmp_path / "broken.html"
    page.write_text(BROKEN_PAGE, encoding="utf-8")
    state = chromium.open(page.as_uri())
    assert state["images"] == 1 and len(state["broken"]) == 1
    assert state["broken"][0].endswith("/missing.png")
    assert state["scrollWidth"] >= 2000
    assert state["mathjax"] == 1 and state["rawMath"] == 2 and state["mathSources"] == 1
    assert state["wideMaths"] == ["a formula wider than its column"]
    found = shots.problems("broken.html", state, width=WIDTH)
    assert any("image did not load" in line for line in found)
    assert any("deliberate" in line for line in found)
    assert any("ERR_FILE_NOT_FOUND" in line for line in found)  # the failed load itself
    assert any(f"{state['scrollWidth']} px wide" in line for line in found)
    assert any("maths not typeset" in line for line in found)
    assert any("wider than its column" in line for line in found)


# -- the report folder --------------------------------------------------------------------


def test_report_index_in_browser(chromium, tmp_path):
    out = tmp_path / "report"
    summary = generate_report(out, quick=True, studies=["xy", "dirac"])
    index = out / "index.html"
    state = check_page(chromium, index, tmp_path / "report.png")
    figures = [name for key in ("xy", "dirac") for name in summary["figures"][key]]
    assert len(figures) >= 2
    loaded = {Path(urlparse(url).path).name for url, width, _ in state["sizes"] if width > 0}
    assert {f"{name}.png" for name in figures} <= loaded


# -- the documentation site -----------------------------------------------------------


def built_site() -> Path | None:
    site = Path(os.environ.get("GAMEDYN_DOCS_HTML", ROOT / "docs" / "_build" / "html"))
    return site if (site / "index.html").is_file() else None


SITE_PAGES = [
    ("index.html", False),  # the landing page: its example figure and cards
    ("auto_examples/games/plot_bilinear_spiral.html", False),  # a gallery page
    ("theory.html", True),  # formulas typeset by the bundled MathJax
    ("tutorials/own_game.html", False),  # a tutorial with its build-time figures
]

# the article's width at a 1,280 px window: the theme's defaults leave 624 px, too narrow
# for the code of the tutorials (docs/_static/gamedyn.css widens it)
ARTICLE_WIDTH = """
(() => {
  const article = document.querySelector(".bd-article");
  const figures = Array.from(document.querySelectorAll("img.plot-directive"));
  return {
    article: article ? article.clientWidth : 0,
    figures: figures.map((img) => [img.clientWidth, img.naturalWidth]),
  };
})()
"""


@pytest.mark.parametrize(("page", "maths"), SITE_PAGES, ids=[p for p, _ in SITE_PAGES])
def test_docs_page_in_browser(chromium, tmp_path, page, maths):
    site = built_site()
    if site is None:
        pytest.skip("no built site: build the docs into docs/_build/html or set $GAMEDYN_DOCS_HTML")
    path = site / page
    assert path.is_file(), f"{page} missing from the built site {site}"
    state = check_page(chromium, path, tmp_path / Path(page).with_suffix(".png").name, maths=maths)
    assert state["images"] >= 1  # each of these pages shows a figure
    if maths:
        # every formula the page holds was typeset: MathJax's containers match the sources
        assert state["mathjax"] >= state["mathSources"] > 10


def test_text_column_is_wide_enough(chromium):
    """At 1,280 px the text column is at least 760 px wide (the theme's defaults leave
    624 px; docs/_static/gamedyn.css narrows the sidebars), and every build-time figure
    is shown whole, neither cut nor scaled up."""
    site = built_site()
    if site is None:
        pytest.skip("no built site: build the docs into docs/_build/html or set $GAMEDYN_DOCS_HTML")
    for page in ("tutorials/own_game.html", "howto/step_size.html", "theory.html"):
        chromium.open((site / page).resolve().as_uri())
        measured = chromium.evaluate(ARTICLE_WIDTH)
        assert measured["article"] >= 760, (page, measured)
        assert measured["figures"], page
        for shown, natural in measured["figures"]:
            assert 0 < shown <= min(natural, measured["article"]), (page, measured)


@pytest.mark.slow
def test_every_docs_page_in_browser(chromium):
    """Every page of the built site, without screenshots (``.ci/run`` runs this)."""
    site = built_site()
    if site is None:
        pytest.skip("no built site: build the docs into docs/_build/html or set $GAMEDYN_DOCS_HTML")
    skip = {"_static", "_modules", "_sources", "_images", "_downloads"}
    pages = sorted(p for p in site.rglob("*.html") if skip.isdisjoint(p.relative_to(site).parts))
    assert len(pages) > 50
    found: list[str] = []
    shown: set[str] = set()
    for page in pages:
        state = chromium.open(page.resolve().as_uri())
        found += shots.problems(str(page.relative_to(site)), state, width=WIDTH)
        shown |= {unquote(urlparse(url).path) for url, width, _ in state["sizes"] if width > 0}
    assert found == []
    # every figure the build wrote into _images is shown, loaded, on some page
    written = {str(p.resolve()) for p in (site / "_images").glob("*.png")}
    assert written and written <= shown
