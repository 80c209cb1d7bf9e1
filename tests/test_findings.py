"""Key findings: recorded by chapters (Results.finding), gathered on the landing page (rmnb.book.findings)."""

import json
from pathlib import Path

import pytest

from rmnb.base.errors import RmnbError
from rmnb.book import findings
from rmnb.book.results import Results

TOC = """format: jb-book
root: book/intro
parts:
  - caption: A
    chapters:
      - file: book/chapters/01_big_two
      - file: book/chapters/05_training_ablations
  - caption: Back
    chapters:
      - file: book/chapters/07_greatest_thing
      - file: book/chapters/status
      - file: book/bibliography
"""


def test_verdict_from_checks():
    assert findings.verdict(True) == "reproduced"
    assert findings.verdict(True, True) == "reproduced"
    assert findings.verdict(False) == "not reproduced"
    assert findings.verdict(True, False) == "partly reproduced"
    assert findings.verdict(True, None) == "reproduced"  # a check that could not be made does not count
    assert findings.verdict(None) == findings.verdict() == "not tested"
    assert set(findings.VERDICTS) == {"reproduced", "partly reproduced", "not reproduced", "not tested", "inconclusive"}
    assert findings.verdict(None, inconclusive=True) == "inconclusive" and findings.verdict(None) == "not tested"
    assert findings.verdict(True, inconclusive=True) == "reproduced"


def test_results_record_findings_in_order_and_replace_a_key_in_place(tmp_path, monkeypatch):
    monkeypatch.setenv("RMNB_RESULTS_DIR", str(tmp_path))
    monkeypatch.delenv("RMNB_CHAPTER", raising=False)
    res = Results("05_training_ablations")
    res.finding("a", claim="Claim A", paper="p", book="b1", verdict="reproduced", source="reported by the paper")
    res.finding("b", claim="Claim B", paper="p", book="b", verdict="not tested")
    res.finding("a", claim="Claim A", paper="p", book="b2", verdict="partly reproduced")
    stored = json.loads((tmp_path / "05_training_ablations.json").read_text())["findings"]
    assert [(f["key"], f["book"], f["verdict"]) for f in stored] == [("a", "b2", "partly reproduced"),
                                                                     ("b", "b", "not tested")]
    assert stored[0]["source"] is None and set(stored[0]) == {"key", "claim", "paper", "book", "verdict", "source"}


@pytest.mark.parametrize("fields, fix", [
    (dict(claim="c", paper="p", book="b", verdict="replicated"), "findings.verdict"),
    (dict(claim="", paper="p", book="b", verdict="reproduced"), "claim="),
    (dict(claim="c", paper="p", book=None, verdict="reproduced"), "book="),
])
def test_a_bad_finding_names_the_field_and_the_fix(fields, fix):
    with pytest.raises(RmnbError, match="finding 'k'") as err:
        findings.check_finding("k", **fields)
    assert fix in str(err.value) and "Fix" in str(err.value)
    with pytest.raises(RmnbError, match="key"):
        findings.check_finding("two words", claim="c", paper="p", book="b", verdict="reproduced")


def _book(tmp_path):
    (tmp_path / "_toc.yml").write_text(TOC)
    results = tmp_path / "_build" / "results"
    results.mkdir(parents=True)
    chapters = tmp_path / "book" / "chapters"
    return results, chapters


def test_landing_table_rows_come_from_results_and_say_not_built(tmp_path):
    results, chapters = _book(tmp_path)
    assert findings.toc_chapter_stems(tmp_path) == ["01_big_two", "05_training_ablations", "07_greatest_thing"]
    (results / "01_big_two.json").write_text(json.dumps({"three_way_t": 4.2}))  # ran, records no findings
    entry = findings.check_finding("train_direction", claim="Direction | sign", paper="Llama agency",
                                   book="holds for 13k, 27k", verdict="reproduced", source="summary")
    (results / "05_training_ablations.json").write_text(json.dumps({"findings": [entry]}))
    table, hero = findings.write_findings_fragment(chapters, tmp_path)
    text = table.read_text()
    rows = [line for line in text.splitlines() if line.startswith("| {ref}")]
    assert rows == [
        "| {ref}`Ch. 1 <ch01>` | Records no key findings yet. | — | — | not built |",
        r"| {ref}`Ch. 5 <ch05>` | Direction \| sign | Llama agency — *summary* | holds for 13k, 27k | **reproduced** |",
        "| {ref}`Ch. 7 <ch07>` | Not run in this build. | — | — | not built |",
    ]
    assert "1 finding from 1 of 3 chapters" in text
    assert "The landing figure appears once {ref}`Ch. 1 <ch01>` has run" in hero.read_text()  # no saved chart


def test_hero_figure_is_rendered_from_the_chapters_saved_chart(tmp_path):
    import altair as alt
    import pandas as pd

    results, chapters = _book(tmp_path)
    stem, name, _ = findings.HERO
    (results / "figures").mkdir()
    chart = alt.Chart(pd.DataFrame({"x": [1, 2], "y": [3, 4]})).mark_point().encode(x="x:Q", y="y:Q")
    (results / "figures" / f"{name}.vl.json").write_text(chart.to_json())
    text = findings.write_findings_fragment(chapters, tmp_path)[1].read_text()
    assert text.startswith(f":::{{figure}} /book/chapters/{findings.HERO_IMAGE}\n:name: fig-landing-hero")
    assert (chapters / findings.HERO_IMAGE).read_bytes().startswith(b"\x89PNG")


# Default chapters that record no key findings yet: the second round of issue #26 adds them and removes each here.
PENDING: set[str] = set()


def _built_case(stem):
    marks = [pytest.mark.skip(reason=f"issue #26 round 2: {stem} records no key findings yet")] if stem in PENDING else []
    return pytest.param(stem, marks=marks, id=stem)


@pytest.mark.slow
@pytest.mark.parametrize("stem", [_built_case(s) for s in findings.toc_chapter_stems(Path(__file__).resolve().parents[1])])
def test_every_built_chapter_records_key_findings(built_book, stem):
    found = findings.read_findings(built_book.parent / "results", stem)
    assert found is not None, f"{stem} did not run in the test build"
    assert found, f"{stem} records no key findings: add res.finding(...) to its comparison cell (book/README.md §3)"
    assert all(f["verdict"] in findings.VERDICTS for f in found)
    from bs4 import BeautifulSoup

    def text(page):  # what a reader sees, with Sphinx's typographic quotes and dashes made plain again
        html = (built_book / "book" / f"{page}.html").read_text(encoding="utf-8")
        return " ".join(BeautifulSoup(html, "html.parser").get_text(" ").translate(
            str.maketrans("‘’“”–—", "''\"\"--")).split())

    for page in ("intro", "discussion"):
        shown = text(page)
        assert all(" ".join(f["claim"].split()) in shown for f in found), f"{page}.html lacks a finding of {stem}"
