"""The teacher's guide's run times come from measurements (book/timings.json) and papermill's durations."""

import json

import nbformat
from tests.conftest import ROOT

from rmnb.book import timings
from rmnb.book.status import write_status_page


def _executed(path, duration):
    nb = nbformat.v4.new_notebook()
    nb.metadata["papermill"] = {"duration": duration, "start_time": "2026-01-01T00:00:00", "end_time": "x",
                                "exception": None, "parameters": {}}
    nbformat.write(nb, path)


def test_fragment_from_measurement_and_build(tmp_path):
    chapters = tmp_path / "book" / "chapters"
    chapters.mkdir(parents=True)
    _executed(chapters / "01_big_two.ipynb", 12.4)
    _executed(chapters / "05_rm_training.ipynb", 100.0)
    _executed(chapters / "06_greatest_thing.ipynb", 80.0)
    measured = {"profile": "smoke", "measured": "2026-01-01 00:00 UTC", "command": "python -m rmnb.book.measure_timings",
                "machine": {"cpu": "test cpu", "cores": 2, "torch_threads": 2, "python": "3.11"},
                "conversion": {"gemma3-270m": 61.0}, "fresh": {"01_big_two": 30.0}, "cached": {"01_big_two": 20.0}}
    (tmp_path / "book" / "timings.json").write_text(json.dumps(measured))
    text = timings.write_timing_fragment(chapters).read_text()
    assert "| 2 | `01_big_two` | 30 s | 20 s | 12 s |" in text
    assert "| 6 | `05_rm_training`, `06_greatest_thing` | - | - | 3.0 min |" in text  # 100 + 80 s
    assert "test cpu, 2 cores" in text and "gemma3-270m 61 s" in text and "**smoke** settings" in text
    assert "| 1 | `00_token_search` | - | - | - |" in text  # not run: a dash, never a guess
    assert "interrupted" not in text
    (tmp_path / "book" / "timings.json").write_text(json.dumps({**measured, "complete": False}))
    assert "interrupted" in timings.write_timing_fragment(chapters).read_text()


def test_no_measurement_says_how_to_make_one(tmp_path):
    chapters = tmp_path / "book" / "chapters"
    chapters.mkdir(parents=True)
    text = timings.write_timing_fragment(chapters).read_text()
    assert "have not been measured" in text and "measure_timings" in text


def test_status_page_writes_the_fragment_the_guide_includes(tmp_path):
    chapters = tmp_path / "book" / "chapters"
    chapters.mkdir(parents=True)
    _executed(chapters / "02_moral_foundations.ipynb", 5.0)
    write_status_page(chapters, chapters / "status.md")
    assert (chapters / timings.FRAGMENT).exists()
    guide = (ROOT / "book" / "teachers-guide.md").read_text()
    assert f"{{include}} chapters/{timings.FRAGMENT}" in guide
    assert "book/teachers-guide" in (ROOT / "_toc.yml").read_text()


def test_sessions_cover_every_chapter():
    from rmnb.book.runner import chapters

    planned = [s for stems in timings.SESSIONS.values() for s in stems]
    assert sorted(planned) == sorted(p.stem for p in chapters(ROOT))
