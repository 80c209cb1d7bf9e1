"""Check the built HTML book in headless Chromium: charts draw and math renders offline.

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
