"""The runner (rmnb.builder.runner) and `rmnb run`: chapters in execution order, values checked before work, a failed
run keeps the executed chapter, the time table, cell progress."""

import pytest

from conftest import FAILING_CHAPTER, ROOT, book_with_chapters
from rmnb import cli
from rmnb.base.errors import RmnbError
from rmnb.base.paths import chapter_sources
from rmnb.book import parameters
from rmnb.builder import runner

CHAPTERS = chapter_sources(ROOT)


def test_training_chapter_runs_before_the_chapters_that_use_its_models():
    toc = runner.toc_chapters(ROOT)
    order = [p.stem for p in runner.execution_order(toc)]
    assert order[0] == "06_training_live" and sorted(order) == sorted(p.stem for p in toc)
    assert [s for s in order if s != "06_training_live"] == [p.stem for p in toc if p.stem != "06_training_live"]


def test_bad_chapter_lists_valid_ones():
    with pytest.raises(RmnbError, match="no chapter matches '99'.*01_big_two"):
        runner.resolve_chapters("99", ROOT)


def test_cli_fails_before_work_with_clear_message(capsys):
    assert cli.main(["run", "99"]) == 2
    assert "Valid chapters" in capsys.readouterr().err
    assert cli.main(["run", "01", "-p", "bogus=1"]) == 2
    assert "Valid parameters" in capsys.readouterr().err
    assert cli.main(["run", "01", "-p", "n_permutations=lots"]) == 2
    assert "must be a whole number" in capsys.readouterr().err


def test_cli_chapter_help_lists_parameters(capsys):
    assert cli.main(["run", "01", "--help"]) == 0
    out = capsys.readouterr().out
    assert "n_permutations" in out and "scores_dir" in out


def test_runner_checks_values_before_work():
    path = runner.resolve_chapters("01", ROOT)[0]
    with pytest.raises(RmnbError, match="use at least 99"):
        parameters.validate_parameters(path, {"n_permutations": 10})
    assert cli.main(["run", "04", "-p", "prompt_format=html"]) == 2


def test_failed_run_keeps_the_executed_chapter(tmp_path, monkeypatch, capsys):
    """`rmnb run` executes into a temporary notebook: a failure leaves the old chapter byte-identical and says
    where the failed notebook is; a later success replaces the chapter and clears the failure."""
    book_with_chapters(tmp_path, {"09_fails": FAILING_CHAPTER})
    monkeypatch.setenv("RMNB_ROOT", str(tmp_path))
    assert cli.main(["run", "09"]) == 0
    chapter = tmp_path / "book" / "chapters" / "09_fails.ipynb"
    before = chapter.read_bytes()
    assert b"ran" in before
    assert cli.main(["run", "09", "-p", "fail=True"]) == 2
    err = capsys.readouterr().err
    failed = tmp_path / "book" / "chapters" / "failed" / "09_fails.ipynb"
    assert "ValueError: asked to fail" in err and f"{chapter} is unchanged" in err and str(failed) in err
    assert chapter.read_bytes() == before
    assert "asked to fail" in failed.read_text()
    assert not (tmp_path / "book" / "chapters" / ".running").exists()
    assert sorted(p.name for p in chapter.parent.glob("*.ipynb")) == ["09_fails.ipynb"]  # the book sees no failure
    assert cli.main(["run", "09"]) == 0
    assert not failed.exists()


def test_run_says_which_chapter_runs_and_ends_with_a_time_table(tmp_path, monkeypatch, capfd):
    """Which chapter runs (i/n), its time, a per-chapter time table; the kernel's "running over TCP
    without encryption" warning is quieted (it is written by the kernel process, hence capfd)."""
    book_with_chapters(tmp_path, {"08_first": FAILING_CHAPTER, "09_second": FAILING_CHAPTER})
    monkeypatch.setenv("RMNB_ROOT", str(tmp_path))
    assert cli.main(["run", "0[89]_*", "-p", "fail=False"]) == 0
    err = capfd.readouterr().err
    assert "[rmnb] running 08_first (1/2)" in err and "[rmnb] running 09_second (2/2)" in err
    table = err[err.index("chapter "):]
    assert "08_first" in table and "09_second" in table and "total" in table and table.count(" ok ") == 2
    assert "without encryption" not in err
    assert cli.main(["run", "0[89]_*", "-p", "fail=True"]) == 2
    err = capfd.readouterr().err
    assert "08_first   failed" in err and "09_second  not run" in err


def test_cell_progress_only_where_someone_watches(monkeypatch):
    monkeypatch.setattr(runner, "bars_enabled", lambda: False)
    assert runner.cell_progress("01_big_two") is False
    monkeypatch.setattr(runner, "bars_enabled", lambda: True)
    bar = runner.cell_progress("01_big_two")
    assert bar["desc"] == "01_big_two" and bar["disable"] is False and bar["unit"] == "cell"
