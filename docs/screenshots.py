"""Screenshots of the built documentation site, and the headless browser that takes them.

Run after a docs build::

    python docs/screenshots.py [docs/_build/html]

It writes ``landing.png``, ``gallery.png``, ``tutorial.png`` and ``theory.png`` (1,280 px
wide: the top of each page, the tutorial's mode-coverage figure with the code above
it) into ``docs/_static/screenshots/`` so a reviewer sees the site
without building it, and fails (exit 1, one line per problem) when a page shows an image
that did not load, logs a console error, overflows 1,280 px horizontally, or leaves
formulas untypeset.

:class:`Chromium` drives Debian's ``chromium`` (or any Chromium/Chrome on ``PATH``)
headless through the DevTools protocol over a pipe (``--remote-debugging-pipe``: file
descriptors 3 and 4, NUL-terminated JSON), so it needs no Python package and no network.
``tests/test_browser.py`` uses the same class on the report folder and the site.
"""

from __future__ import annotations

import base64
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")

# What a page reports once loaded: images that did not load, the widest extent, maths.
PAGE_STATE = """
(async () => {
  const images = Array.from(document.images);
  for (const image of images) { image.loading = "eager"; }
  await Promise.all(images.map((image) => image.decode().catch(() => null)));
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  const text = document.body ? document.body.innerText : "";
  return {
    title: document.title,
    images: images.length,
    broken: images.filter((i) => !i.complete || i.naturalWidth === 0).map((i) => i.src),
    sizes: images.map((i) => [i.currentSrc || i.src, i.naturalWidth, i.naturalHeight]),
    scrollWidth: document.scrollingElement.scrollWidth,
    mathjax: document.querySelectorAll("mjx-container").length,
    wideMaths: Array.from(document.querySelectorAll('mjx-container[display="true"]'))
      .filter((m) => m.scrollWidth > Math.min(m.clientWidth, m.parentElement.clientWidth) + 1)
      .map((m) => m.textContent.trim().slice(0, 40)),
    rawMath: (text.match(/\\\\\\(|\\\\\\[/g) || []).length,
    mathSources: document.querySelectorAll(".math").length,
  };
})()
"""


def find_browser() -> str | None:
    """The first Chromium-family executable on ``PATH`` (``$GAMEDYN_CHROMIUM`` first)."""
    named = os.environ.get("GAMEDYN_CHROMIUM")
    if named:
        return shutil.which(named)
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


class BrowserError(RuntimeError):
    """The browser did not start, answer in time, or a DevTools command failed."""


class Chromium:
    """A headless Chromium driven over the DevTools protocol through a pipe.

    Parameters
    ----------
    executable : str
        The browser's path (see :func:`find_browser`).
    width, height : int
        The viewport, in CSS pixels.
    timeout : float
        Seconds any one command (a page load included) may take before
        :class:`BrowserError`.
    """

    def __init__(
        self, executable: str, *, width: int = 1280, height: int = 900, timeout: float = 60.0
    ) -> None:
        self.width, self.height, self.timeout = width, height, timeout
        self._profile = tempfile.TemporaryDirectory(prefix="gamedyn-chromium-")
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()

        def wire() -> None:  # in the child: the pipe ends become fds 3 (read) and 4 (write)
            r, w = os.dup(to_browser_r), os.dup(from_browser_w)
            os.dup2(r, 3)
            os.dup2(w, 4)

        args = [
            executable,
            "--headless",
            "--remote-debugging-pipe",
            "--no-sandbox",  # CI runs as root
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-extensions",
            "--disable-background-networking",
            "--no-first-run",
            "--no-default-browser-check",
            "--hide-scrollbars",
            "--allow-file-access-from-files",  # MathJax fetches its fonts and components
            f"--user-data-dir={self._profile.name}",
            f"--window-size={width},{height}",
            "about:blank",
        ]
        self._process = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(3, 4),
            preexec_fn=wire,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._messages: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self._next_id = 0
        self.events: list[dict[str, Any]] = []
        self._session: str | None = None
        try:
            target = self.call("Target.createTarget", url="about:blank", session=False)
            attached = self.call(
                "Target.attachToTarget", targetId=target["targetId"], flatten=True, session=False
            )
            self._session = attached["sessionId"]
            for domain in ("Page", "Runtime", "Log"):
                self.call(f"{domain}.enable")
            self.call(
                "Emulation.setDeviceMetricsOverride",
                width=width,
                height=height,
                deviceScaleFactor=1,
                mobile=False,
            )
        except BaseException:
            self.close()
            raise

    def _read(self) -> None:
        buffer = b""
        while True:
            try:
                chunk = os.read(self._from_browser, 1 << 16)
            except OSError:
                chunk = b""
            if not chunk:
                self._messages.put(None)
                return
            buffer += chunk
            *whole, buffer = buffer.split(b"\0")
            for raw in whole:
                self._messages.put(json.loads(raw))

    def _receive(self, deadline: float) -> dict[str, Any]:
        left = deadline - time.monotonic()
        if left <= 0:
            raise BrowserError(f"no answer from the browser within {self.timeout:g} s")
        try:
            message = self._messages.get(timeout=left)
        except queue.Empty:
            raise BrowserError(f"no answer from the browser within {self.timeout:g} s") from None
        if message is None:
            raise BrowserError("the browser closed its DevTools pipe (did it crash?)")
        if "id" not in message:
            self.events.append(message)
        return message

    def call(self, method: str, *, session: bool = True, **params: Any) -> dict[str, Any]:
        """Send one DevTools command and return its result (events are kept in ``events``)."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if session and self._session:
            message["sessionId"] = self._session
        try:
            os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        except OSError as error:
            raise BrowserError(f"cannot write to the browser: {error}") from None
        deadline = time.monotonic() + self.timeout
        while True:
            reply = self._receive(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error'].get('message', reply)}")
                result: dict[str, Any] = reply.get("result", {})
                return result

    def open(self, url: str) -> dict[str, Any]:
        """Load ``url``, wait for its load event, images and MathJax; return the page state.

        The state: ``title``, ``images`` (count), ``broken`` (image URLs with no pixels),
        ``sizes`` (``[url, naturalWidth, naturalHeight]`` of every image),
        ``scrollWidth``, ``mathjax`` (typeset ``mjx-container`` elements), ``wideMaths``
        (the start of each display formula wider than its column), ``rawMath``
        (``\\(`` or ``\\[`` left in the visible text), ``mathSources`` (elements of
        class ``math``) and ``errors`` (console errors, uncaught exceptions, failed loads).
        """
        self.events.clear()
        navigated = self.call("Page.navigate", url=url)
        if navigated.get("errorText"):
            raise BrowserError(f"cannot open {url}: {navigated['errorText']}")
        deadline = time.monotonic() + self.timeout
        while not any(e.get("method") == "Page.loadEventFired" for e in self.events):
            self._receive(deadline)
        state = self.evaluate(PAGE_STATE)
        state["errors"] = self.errors()
        return state

    def evaluate(self, expression: str) -> Any:
        """Evaluate JavaScript in the page (promises awaited) and return its JSON value."""
        result = self.call(
            "Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True
        )
        if "exceptionDetails" in result:
            raise BrowserError(f"script failed: {result['exceptionDetails'].get('text')}")
        return result["result"].get("value")

    def errors(self) -> list[str]:
        """Console errors, uncaught exceptions and failed loads since the last :meth:`open`."""
        found = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                found.append(
                    "console: "
                    + " ".join(
                        str(a.get("value", a.get("description"))) for a in params.get("args", [])
                    )
                )
            elif method == "Runtime.exceptionThrown":
                details = params.get("exceptionDetails", {})
                found.append(
                    "exception: "
                    + str(details.get("exception", {}).get("description") or details.get("text"))
                )
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                entry = params["entry"]
                found.append(f"log: {entry.get('text')} {entry.get('url', '')}".rstrip())
        return found

    def screenshot(
        self, path: str | os.PathLike[str], *, height: int | None = None, top: int = 0
    ) -> Path:
        """Write a PNG of ``height`` pixels of the page (default: the viewport) from ``top``."""
        clip = {"x": 0, "y": top, "width": self.width, "height": height or self.height, "scale": 1}
        data = self.call(
            "Page.captureScreenshot", format="png", clip=clip, captureBeyondViewport=True
        )["data"]
        out = Path(path)
        out.write_bytes(base64.b64decode(data))
        return out

    def close(self) -> None:
        """End the browser (terminate, then kill after 5 s) and remove its profile."""
        try:
            os.close(self._to_browser)
        except OSError:
            pass
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(5)
        try:
            os.close(self._from_browser)
        except OSError:
            pass
        self._profile.cleanup()

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def problems(
    name: str, state: dict[str, Any], *, width: int = 1280, maths: bool = False
) -> list[str]:
    """What is wrong with a page, one line each (empty when nothing).

    Maths must be typeset (an ``mjx-container``, no raw ``\\(`` or ``\\[``) when
    ``maths`` is true or the page has elements of class ``math``, and no display formula
    may be wider than its column (the reader would have to scroll it sideways).
    """
    found = [f"{name}: image did not load: {src}" for src in state["broken"]]
    found += [f"{name}: {error}" for error in state["errors"]]
    if state["scrollWidth"] > width:
        found.append(f"{name}: {state['scrollWidth']} px wide at a {width} px window")
    found += [f"{name}: display formula wider than its column: {m}" for m in state["wideMaths"]]
    if (maths or state["mathSources"]) and (state["mathjax"] == 0 or state["rawMath"]):
        found.append(
            f"{name}: maths not typeset ({state['mathjax']} mjx-container, "
            f"{state['rawMath']} raw \\( or \\[ left)"
        )
    return found


# The pages photographed: (file, page in the built site, height in pixels, maths?, and
# where the picture starts: None for the top of the page, else a CSS selector whose first
# element is shown with 800 px of the page above it).
PAGES: tuple[tuple[str, str, int, bool, str | None], ...] = (
    ("landing.png", "index.html", 1400, False, None),
    ("gallery.png", "auto_examples/games/plot_bilinear_spiral.html", 1400, False, None),
    (
        "tutorial.png",
        "tutorials/trained_gan.html",
        1400,
        False,
        "#mode-coverage img.plot-directive",
    ),
    ("theory.png", "theory.html", 1400, True, None),
)
ABOVE = 800

# the page offset of the first element matching a selector (0 when none matches)
OFFSET = """
(() => {
  const element = document.querySelector(%s);
  return element ? Math.round(element.getBoundingClientRect().top + window.scrollY) : 0;
})()
"""


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    here = Path(__file__).resolve().parent
    site = Path(args[0]) if args else here / "_build" / "html"
    out = here / "_static" / "screenshots"
    if not (site / "index.html").is_file():
        print(f"screenshots: no built site at {site} (build the docs first)", file=sys.stderr)
        return 2
    browser = find_browser()
    if browser is None:
        print("screenshots: no Chromium on PATH (apt-get install chromium)", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    found: list[str] = []
    with Chromium(browser) as chromium:
        for file, page, height, maths, selector in PAGES:
            state = chromium.open((site / page).resolve().as_uri())
            found += problems(page, state, maths=maths)
            top = 0
            if selector is not None:
                top = max(0, int(chromium.evaluate(OFFSET % json.dumps(selector))) - ABOVE)
            path = chromium.screenshot(out / file, height=height, top=top)
            print(
                f"{path.relative_to(here.parent)}: {page}, {state['images']} images, "
                f"{state['mathjax']} formulas typeset, {path.stat().st_size // 1024} KB"
            )
    for line in found:
        print(line, file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
