"""Self-contained HTML pages of the seminar kit (the teacher edition's chapters, the session slides).

No CDN: charts are drawn by the book's vendored Vega bundle (``book/_static/vega-offline.js``, copied next to the
pages as :data:`VEGA_FILE`), from the Vega-Lite specs the build saved (``_build/results/figures/<name>.vl.json``).
Markdown is rendered with ``markdown-it-py`` (CommonMark and tables), which Jupyter Book already installs.
"""

from __future__ import annotations

import html
import json
import shutil
from pathlib import Path

VEGA_FILE = "vega-offline.js"
FIGURE_KEY = "rmnb_figure"  # notebook cell metadata: the glued figure a cell shows
STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.5; }
pre { background: #f6f6f6; padding: .6rem; overflow-x: auto; font-size: .85rem; }
blockquote { border-left: 4px solid #9bb; margin: 1rem 0; padding: .2rem 1rem; background: #f4f8f8; }
table { border-collapse: collapse; } td, th { border: 1px solid #ccc; padding: .2rem .5rem; }
.figure { margin: 1rem 0; } .missing { color: #a00; }
"""


def markdown(text: str) -> str:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": True}).enable("table").render(text)


def figure_spec(root: Path, name: str) -> dict | None:
    """The Vega-Lite spec the build saved for figure ``name``, or ``None``."""
    path = Path(root) / "_build" / "results" / "figures" / f"{name}.vl.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def figure(spec: dict | None, element_id: str) -> str:
    """A ``<div>`` that draws ``spec`` with the vendored Vega bundle (a note when the build drew no such figure)."""
    if spec is None:
        return '<p class="missing">(this figure was not drawn in the build this page was made from)</p>'
    data = json.dumps(spec).replace("</", "<\\/")
    return (f'<div class="figure" id="{element_id}"></div>\n<script>vegaEmbed(document.getElementById('
            f'"{element_id}"), {data}, {{"actions": false, "renderer": "svg"}});</script>')


def code(source: str) -> str:
    return f"<pre><code>{html.escape(source)}</code></pre>"


def page(title: str, body: str, *, style: str = STYLE, head: str = "") -> str:
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>\n'
            f'<script src="{VEGA_FILE}"></script>\n<style>{style}</style>{head}</head>\n<body>\n{body}\n</body></html>\n')


def copy_vega(root: Path, folder: Path) -> None:
    """Copy the vendored Vega bundle next to the pages (they load it by a relative path)."""
    source = Path(root) / "book" / "_static" / VEGA_FILE
    if source.exists():
        shutil.copyfile(source, Path(folder) / VEGA_FILE)


def notebook_page(nb, root: Path, title: str) -> str:
    """One notebook as a readable page: markdown rendered, code as code, each figure cell drawn from the build."""
    parts = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            parts.append(markdown(cell.source))
        elif cell.metadata.get(FIGURE_KEY):  # a cell the handout added to show a glued figure
            parts.append(figure(figure_spec(root, cell.metadata[FIGURE_KEY]), f"fig{i}"))
        elif cell.source.strip():
            parts.append(code(cell.source))
    return page(title, "\n".join(parts))
