"""Check the built HTML book in headless Chromium: charts draw and math renders offline; at a phone's width (420 px)
and a desktop's (1400 px) no chart or equation runs past the content column, and no chapter page is taller than
MAX_PAGE_HEIGHT at 1400 px (``pytest tests/test_browser.py -k fit -s`` prints every page's measurements).

The ``built_book`` fixture (tests/conftest.py) returns the built ``_build/html`` folder. Chromium runs with
all host names unresolvable, so nothing can come from a CDN: a chart draws only if the vendored
``_static/vega-offline.js`` works, which the negative control checks by removing it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHAPTER = Path("book") / "chapters" / "01_big_two.html"
FIGURE = "fig-01-big2"  # the :name: of Figure 1a's {glue:figure} in notebooks/01_big_two.md
CDN_ERROR = "Error loading script: http"  # rendered by altair's loader when a CDN fetch fails

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not on PATH (apt-get install -y chromium)"),
]


def dump_dom(page: Path, profile_dir: Path, budget_ms: int = 8000) -> str:
    """The page's DOM after ``budget_ms`` of virtual time, loaded from file:// with no network."""
    assert page.is_file(), f"{page} was not built"
    profile_dir.mkdir(parents=True, exist_ok=True)
    cmd = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile_dir}", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost",
        f"--virtual-time-budget={budget_ms}", "--dump-dom", page.resolve().as_uri(),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0 and "</html>" in proc.stdout, f"chromium failed:\n{proc.stderr[-2000:]}"
    return proc.stdout


class _Marks(HTMLParser):
    """Counts elements with class ``marks`` (a drawn vega view), page-wide and inside each element whose
    id or name contains ``target``."""

    def __init__(self, target: str):
        super().__init__()
        self.target, self.total, self.inside = target, 0, {}
        self._open: list[list] = []  # [element id, its tag, nesting depth of that tag]

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for entry in self._open:
            if entry[1] == tag:
                entry[2] += 1
        key = attrs.get("id") or attrs.get("name") or ""
        if self.target in key:
            self._open.append([key, tag, 1])
            self.inside.setdefault(key, 0)
        if "marks" in (attrs.get("class") or "").split():
            self.total += 1
            for entry in self._open:
                self.inside[entry[0]] += 1

    def handle_endtag(self, tag):
        for entry in self._open:
            if entry[1] == tag:
                entry[2] -= 1
        self._open = [e for e in self._open if e[2] > 0]


def count_marks(dom: str, target: str = FIGURE) -> _Marks:
    parser = _Marks(target)
    parser.feed(dom)
    return parser


@pytest.fixture(scope="module")
def chapter_dom(built_book, tmp_path_factory) -> str:
    return dump_dom(Path(built_book) / CHAPTER, tmp_path_factory.mktemp("chromium-profile"))


def test_figure_1a_draws(chapter_dom):
    assert CDN_ERROR not in chapter_dom, "a chart tried to load vega from a CDN"
    marks = count_marks(chapter_dom)
    if marks.inside:  # Figure 1a found by its name: it must hold a drawn chart
        assert any(marks.inside.values()), f"no drawn chart inside {sorted(marks.inside)}: {marks.inside}"
    else:  # figure not located: at least one chart on the page must have drawn
        assert marks.total > 0, 'no class="marks" on the page: no vega chart drew'


def test_every_chart_of_every_chapter_draws(built_book, tmp_path):
    pages = sorted((Path(built_book) / "book" / "chapters").glob("[0-9][0-9]_*.html"))
    assert len(pages) >= 7, [p.name for p in pages]
    for page in pages:
        dom = dump_dom(page, tmp_path / "profile")
        charts = set(re.findall(r'id="(altair-viz-[^"]+)"', dom))
        assert CDN_ERROR not in dom, f"{page.name}: a chart tried to load vega from a CDN"
        drawn = count_marks(dom, "altair-viz").total
        assert charts and drawn == len(charts), f"{page.name}: {drawn} of {len(charts)} charts drew"
        assert "<mjx-merror" not in dom, f"{page.name}: MathJax reported a TeX error"


def test_chart_fails_without_vendored_vega(built_book, tmp_path):
    copy = tmp_path / "html"
    shutil.copytree(built_book, copy)
    vendored = copy / "_static" / "vega-offline.js"
    assert vendored.is_file(), "the built book has no _static/vega-offline.js"
    vendored.write_text("/* removed by the negative control */\n")
    dom = dump_dom(copy / CHAPTER, tmp_path / "profile")
    assert count_marks(dom).total == 0, "a chart drew without the vendored vega: the positive check proves nothing"
    assert CDN_ERROR in dom, "expected altair's loader to report the failed CDN fetch"


def test_math_renders(chapter_dom):
    assert "<mjx-container" in chapter_dom, "MathJax rendered no equation (is _static/mathjax vendored?)"
    assert "<mjx-merror" not in chapter_dom, "MathJax reported a TeX error on the page"


# --- layout: charts and equations fit the column at a phone's and a desktop's width; pages a reader finishes ------

WIDTHS = (420, 1400)          # a phone, a desktop
MAX_PAGE_HEIGHT = 10_000      # px at 1400 px wide: about eleven screens (issue #26)
# Page -> why it fails the layout test today (the second round of issue #26 fixes these and removes the entries).
KNOWN_LAYOUT_FAILURES: dict[str, str] = {}

# Appended to a copy of the page: once the charts have drawn, measure every chart (vega's canvas or SVG) and every
# MathJax equation against the content column, and the page's height, and post the result (JSON) to the frame. A
# chart must lie inside the column; an equation may instead sit in a box that scrolls sideways and lies inside it (a
# display equation's own box, or a table's scroll container).
LAYOUT_PROBE = """<script>
window.addEventListener('load', () => setTimeout(() => {
  const column = document.querySelector('article.bd-article') || document.querySelector('main') || document.body;
  const col = column.getBoundingClientRect();
  const out = {viewport: window.innerWidth, height: document.documentElement.scrollHeight, column: col.width,
               charts: 0, equations: 0, overflows: []};
  const shown = el => {  // el's box as a reader can reach it: cut to the boxes around it that scroll sideways; a
    const r = el.getBoundingClientRect();  // box that hides what sticks out (overflow: hidden) clips it
    let left = r.left, right = r.right, clipped = false;
    for (let a = el.parentElement; a && a !== column; a = a.parentElement) {
      const overflow = getComputedStyle(a).overflowX, b = a.getBoundingClientRect();
      if (overflow === 'auto' || overflow === 'scroll') {
        left = Math.max(left, b.left);
        right = Math.min(right, b.right);
      } else if (overflow === 'hidden' && (left < b.left - 1 || right > b.right + 1)) {
        clipped = true;
      }
    }
    return clipped ? {left: -1e6, right: 1e6, width: r.width, height: r.height}
                   : {left: left, right: right, width: r.width, height: r.height};
  };
  const check = (el, kind) => {
    // an equation may scroll inside its box (or a table's); a chart must fit as drawn
    const r = kind === 'equation' ? shown(el) : el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) return;
    out[kind + 's'] += 1;
    if (r.left < col.left - 1 || r.right > col.right + 1) {
      const owner = el.closest('[id]');
      out.overflows.push({kind: kind, where: owner ? owner.id : '', left: Math.round(r.left),
                          right: Math.round(r.right), column: [Math.round(col.left), Math.round(col.right)]});
    }
  };
  document.querySelectorAll('.vega-embed canvas.marks, .vega-embed svg.marks').forEach(el => check(el, 'chart'));
  document.querySelectorAll('mjx-container').forEach(el => check(el, 'equation'));
  parent.postMessage(JSON.stringify(out), '*');
}, 2500));
</script>"""
# The page opens in an iframe of the width measured (a headless window is at least 500 px wide); the probe posts
# its result to this frame, which --dump-dom prints.
LAYOUT_FRAME = """<!DOCTYPE html><html><body style="margin:0">
<pre id="rmnb-layout"></pre>
<script>addEventListener('message', e => {{ document.getElementById('rmnb-layout').textContent = e.data; }});</script>
<iframe src="{src}" style="width:{width}px;height:1000px;border:0"></iframe>
</body></html>"""


def measure_layout(page: Path, width: int, profile_dir: Path) -> dict:
    """The layout probe's result for ``page`` in a ``width`` px wide window: viewport, page height, column width,
    counts of charts and equations, and the ones that overflow the column."""
    import json

    probe = page.with_name(f"_layout-{page.name}")  # beside the page (same relative links); not a chapter name
    probe.write_text(page.read_text(encoding="utf-8").replace("</body>", LAYOUT_PROBE + "</body>"), encoding="utf-8")
    frame = page.with_name(f"_layout-{width}-{page.name}")
    frame.write_text(LAYOUT_FRAME.format(src=probe.name, width=width), encoding="utf-8")
    profile_dir.mkdir(parents=True, exist_ok=True)
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
           f"--user-data-dir={profile_dir}", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost",
           f"--window-size={width + 100},1100", "--virtual-time-budget=15000", "--dump-dom", frame.resolve().as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
    found = re.search(r'<pre id="rmnb-layout">(.+?)</pre>', proc.stdout, re.DOTALL)
    assert found, f"{page.name} at {width} px: the layout probe did not report\n{proc.stderr[-1500:]}"
    return json.loads(found[1].replace("&quot;", '"').replace("&amp;", "&"))


def _layout_case(page: str):
    marks = [pytest.mark.xfail(reason=KNOWN_LAYOUT_FAILURES[page], strict=False)] if page in KNOWN_LAYOUT_FAILURES else []
    return pytest.param(page, marks=marks, id=page.rsplit("/", 1)[-1])


LAYOUT_PAGES = ["book/intro"] + [f"book/chapters/{p.stem}" for p in
                                 sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9][0-9]_*.md"))]


@pytest.mark.parametrize("page", [_layout_case(p) for p in LAYOUT_PAGES])
def test_charts_and_equations_fit_and_the_page_is_not_too_long(built_book, tmp_path, page):
    """At 420 and 1400 px no chart or equation runs past the content column; at 1400 px the page is at most
    MAX_PAGE_HEIGHT px tall. Prints each width's measurement (``pytest -s`` shows every page's height)."""
    path = Path(built_book) / f"{page}.html"
    problems = []
    for width in WIDTHS:
        layout = measure_layout(path, width, tmp_path / f"profile-{width}")
        print(f"[layout] {page} at {width} px: height {layout['height']} px, column {layout['column']:.0f} px, "
              f"{layout['charts']} charts, {layout['equations']} equations, {len(layout['overflows'])} overflow(s)")
        assert abs(layout["viewport"] - width) <= 20, f"chromium did not open a {width} px window: {layout}"
        problems += [f"at {width} px a {o['kind']} in #{o['where']} spans {o['left']}-{o['right']} px, the column "
                     f"{o['column'][0]}-{o['column'][1]} px" for o in layout["overflows"]]
        if width == 1400 and layout["height"] > MAX_PAGE_HEIGHT:
            problems.append(f"at 1400 px the page is {layout['height']} px tall (at most {MAX_PAGE_HEIGHT})")
    assert not problems, f"{page}.html:\n" + "\n".join(f"  - {p}" for p in problems)
