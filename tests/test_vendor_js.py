"""The vendored JavaScript (tools/vendor_js.py) is present and matches what altair asks for."""

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STATIC = ROOT / "book" / "_static"
VEGA_JS = STATIC / "vega-offline.js"
MATHJAX = STATIC / "mathjax"

SHIM = re.compile(r"window\.VEGA_DEBUG\s*=\s*Object\.assign\(window\.VEGA_DEBUG \|\| \{\},\s*(\{.*?\})\);")


def _shim_versions() -> dict:
    assert VEGA_JS.is_file(), "book/_static/vega-offline.js is missing: run tools/vendor_js.py"
    matches = SHIM.findall(VEGA_JS.read_text(encoding="utf-8"))
    assert len(matches) == 1, "expected exactly one VEGA_DEBUG shim in vega-offline.js"
    return json.loads(matches[0])


def test_vega_shim_matches_altair():
    from altair.vegalite.v6 import display  # pyproject pins altair>=6,<7: a missing v6 is a failure, not a skip
    assert _shim_versions() == {
        "vega_version": display.VEGA_VERSION,
        "vegalite_version": display.VEGALITE_VERSION,
        "vegaembed_version": display.VEGAEMBED_VERSION,
    }, "altair wants other vega versions than the vendored ones: re-run tools/vendor_js.py"


def test_vega_bundle_has_all_three_libraries_and_no_source_maps():
    text = VEGA_JS.read_text(encoding="utf-8")
    headers = re.findall(r"^/\* (vega(?:-lite|-embed)?)@[\w.\-]+ \(build/", text, re.MULTILINE)
    assert headers == ["vega", "vega-lite", "vega-embed"]
    assert "sourceMappingURL" not in text


def test_mathjax_vendored():
    script = MATHJAX / "tex-mml-chtml.js"
    assert script.is_file() and script.stat().st_size > 100_000
    fonts = MATHJAX / "output" / "chtml" / "fonts" / "woff-v2"
    assert (fonts / "MathJax_Main-Regular.woff").is_file()
    assert (MATHJAX / "input" / "tex" / "extensions" / "boldsymbol.js").is_file()
