"""The teacher's guide's run times come from measurements (book/timings.json) and papermill's durations."""

import json

import nbformat

from conftest import ROOT
from rmnb.builder.status import write_status_page
from rmnb.seminar import timings


def _executed(path, duration):
    nb = nbformat.v4.new_notebook()
    nb.metadata["papermill"] = {"duration": duration, "start_time": "2026-01-01T00:00:00", "end_time": "x",
                                "exception": None, "parameters": {}}
    nbformat.write(nb, path)


def test_fragment_from_measurement_and_build(tmp_path):
    chapters = tmp_path / "book" / "chapters"
    chapters.mkdir(parents=True)
    _executed(chapters / "01_big_two.ipynb", 12.4)
    _executed(chapters / "06_training_live.ipynb", 100.0)
    _executed(chapters / "07_greatest_thing.ipynb", 80.0)
    measured = {"profile": "smoke", "measured": "2026-01-01 00:00 UTC", "command": "python -m rmnb.builder.measure_timings",
                "machine": {"cpu": "test cpu", "cores": 2, "torch_threads": 2, "python": "3.11"},
                "conversion": {"gemma3-270m": 61.0}, "fresh": {"01_big_two": 30.0}, "cached": {"01_big_two": 20.0}}
    (tmp_path / "book" / "timings.json").write_text(json.dumps(measured))
    text = timings.write_timing_fragment(chapters).read_text()
    assert "| 2 | `01_big_two` | **60 s** | 20 s | 30 s | 12 s |" in text  # plan with = cached x SAFETY_FACTOR
    assert "| 6 | `05_training_ablations`, `06_training_live` | **-** | - | - | - |" in text  # 05 not built
    assert "| B | `05_training_ablations`, `06_training_live`, `07_greatest_thing` | **-** | - | - | - |" in text
    assert "| 7 | `07_greatest_thing` | **-** | - | - | 80 s |" in text
    assert "Plan by the first column" in text and f"times {timings.SAFETY_FACTOR}" in text
    assert "test cpu, 2 cores" in text and "gemma3-270m 61 s" in text and "**smoke** settings" in text
    assert "| 1 | `00_token_search` | **-** | - | - | - |" in text  # not run: a dash, never a guess
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
    from rmnb.base.paths import chapter_sources
    from rmnb.seminar import seminar_plan

    planned = [s for stems in seminar_plan.sessions(ROOT).values() for s in stems]
    assert sorted(planned) == sorted(p.stem for p in chapter_sources(ROOT))


def _executed_chapter(path, cells, duration=60.0):
    """An executed chapter: ``cells`` is a list of ("md", text) or ("code", seconds) in order."""
    nb = nbformat.v4.new_notebook()
    for kind, value in cells:
        if kind == "md":
            nb.cells.append(nbformat.v4.new_markdown_cell(value))
        else:
            cell = nbformat.v4.new_code_cell("x = 1")
            cell.metadata["papermill"] = {"duration": value, "exception": False}
            nb.cells.append(cell)
    nb.metadata["papermill"] = {"duration": duration, "exception": None, "parameters": {}}
    nbformat.write(nb, path)


EXERCISES = [("md", "# 1 · A chapter"), ("code", 50.0),
             ("md", "## Exercises\n\nIntro."), ("code", 2.0),  # shared by every exercise
             ("md", "```{admonition} Exercise 1: one\n:class: tip\nText.\n```"), ("code", 1.0), ("code", 0.5),
             ("md", "```{admonition} Solution\n:class: dropdown\nIt is.\n```\n\n"
                    "```{admonition} Exercise 2: two\n:class: tip\nText.\n```"), ("code", 130.0),
             ("md", "## Summary"), ("code", 9.0)]


def test_exercise_durations_add_up_each_exercise_and_the_shared_cells(tmp_path):
    _executed_chapter(tmp_path / "01_big_two.ipynb", EXERCISES)
    assert timings.exercise_durations(tmp_path / "01_big_two.ipynb") == {"Exercise 1": 3.5, "Exercise 2": 132.0}
    _executed_chapter(tmp_path / "02_moral_foundations.ipynb", EXERCISES[:2])  # no exercises
    assert timings.build_exercise_durations(tmp_path) == {"01_big_two": {"Exercise 1": 3.5, "Exercise 2": 132.0}}


def test_exercise_table_from_build_and_measurement_marks_the_limit(tmp_path):
    chapters = tmp_path / "book" / "chapters"
    chapters.mkdir(parents=True)
    text = timings.write_timing_fragment(chapters).read_text()
    assert "No exercise has been timed yet" in text  # nothing measured, nothing built: no number shown
    _executed_chapter(chapters / "01_big_two.ipynb", EXERCISES)
    measured = {"profile": "default", "measured": "2026-01-01 00:00 UTC", "command": "python -m x",
                "machine": {"cpu": "c", "cores": 2, "torch_threads": 2, "python": "3.11"}, "conversion": {},
                "fresh": {}, "cached": {}, "exercises": {"fresh": {"01_big_two": {"Exercise 1": 9.0}},
                                                         "cached": {"01_big_two": {"Exercise 2": 7.0}}}}
    (tmp_path / "book" / "timings.json").write_text(json.dumps(measured))
    (tmp_path / "notebooks").mkdir()  # the chapter source: the human estimate reads its reference solutions
    (tmp_path / "notebooks" / "01_big_two.md").write_text((ROOT / "notebooks" / "01_big_two.md").read_text())
    text = timings.write_timing_fragment(chapters).read_text()
    lines = timings.solution_lines(ROOT / "notebooks" / "01_big_two.md")
    human = [f"{timings.human_minutes(lines[f'Exercise {i}'])} min" for i in (1, 2)]
    # measured (fresh, no cached run: no "plan with") and this build
    assert f"| `01_big_two` | Exercise 1 | {human[0]} | - | 9 s (fresh) | 4 s |" in text
    assert f"| `01_big_two` | Exercise 2 | {human[1]} | 21 s | 7 s (cached) | 2.2 min (over 2.0 min) |" in text
    assert "1 time is over it" in text


def test_the_guide_explains_exercise_times_without_typing_them():
    guide = (ROOT / "book" / "teachers-guide.md").read_text()
    assert "measure_timings" in guide and "## The exercises" in guide
    assert "hh-rm" not in guide and "smollm2-135m-valence-rm" in guide  # the embedded RMs by their current ids


def test_times_under_a_second_and_the_human_estimate():
    assert timings._fmt(0.2) == "<1 s" and timings._fmt(0) == "<1 s" and timings._fmt(5.4) == "5 s"
    assert timings.human_minutes(0) == 5 and timings.human_minutes(1) == 10 and timings.human_minutes(6) == 20
    lines = timings.solution_lines(ROOT / "notebooks" / "01_big_two.md")
    assert lines == {"Exercise 1": 1, "Exercise 2": 4, "Exercise 3": 2}
