"""The report's ``index.html``: one self-contained page (inline CSS, figures linked)."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

from ._common import Section

__all__ = ["CSS", "render"]

CSS = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em;
       color: #222; line-height: 1.45; }
h1 { margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ddd; padding-bottom: 0.2em; margin-top: 2em; }
figure { margin: 1.2em 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-size: 0.92em; color: #444; } table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
td, th { border: 1px solid #ddd; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
th { background: #f5f5f5; } .meta { color: #666; font-size: 0.9em; } nav a { margin-right: 1em; }
"""
"""The page's style sheet (inlined in ``<style>``)."""


def render(sections: Sequence[Section], meta: Mapping[str, Any]) -> str:
    """The HTML of the page.

    Parameters
    ----------
    sections : sequence of Section
        The studies, in page order: title, introduction, table, figures, time taken.
    meta : mapping
        ``version``, ``torch``, ``seed``, ``quick``, ``device`` and ``seconds`` (the
        header line).

    Returns
    -------
    str
        The page, every text escaped; figures link ``figures/<name>.png`` and ``.svg``.
    """
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>gamedyn report</title>",
        f"<style>{CSS}</style></head><body>",
        "<h1>gamedyn report</h1>",
        f'<p class="meta">gamedyn {e(str(meta["version"]))}, torch {e(str(meta["torch"]))}, '
        f"seed {meta['seed']}, {'quick' if meta['quick'] else 'full'} mode, device "
        f"{e(str(meta['device']))}, {meta['seconds']:.1f} s. Every number shown is in "
        '<a href="summary.json">summary.json</a>; each figure is also available as SVG '
        "(click a figure).</p>",
        "<nav>" + "".join(f'<a href="#{s.key}">{e(s.title)}</a>' for s in sections) + "</nav>",
    ]
    for s in sections:
        parts.append(f'<h2 id="{s.key}">{e(s.title)}</h2>')
        parts.append(f"<p>{e(s.intro)}</p>")
        if s.table:
            parts.append(
                "<table><tr>" + "".join(f"<th>{e(h)}</th>" for h in s.table_header) + "</tr>"
            )
            for row in s.table:
                parts.append("<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>")
            parts.append("</table>")
        for f in s.figures:
            parts.append(
                f'<figure><a href="figures/{e(f.name)}.{"svg" if f.vector else "png"}">'
                f'<img src="figures/{e(f.name)}.png" '
                f'alt="{e(f.caption)}"></a><figcaption><b>{e(f.name)}</b>: {e(f.caption)}'
                "</figcaption></figure>"
            )
        parts.append(f'<p class="meta">computed in {s.seconds:.1f} s</p>')
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
