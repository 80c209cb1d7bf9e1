"""Chapters as code: the parameters cell, the anatomy, the runner's and CLI's validation."""

import jupytext
import pytest
import yaml

from conftest import FAILING_CHAPTER, ROOT, book_with_chapters
from rmnb import cli
from rmnb.base.errors import RmnbError
from rmnb.base.paths import chapter_sources
from rmnb.book import parameters
from rmnb.build import runner

CHAPTERS = chapter_sources(ROOT)


def test_there_are_chapters():
    stems = [p.stem for p in CHAPTERS]
    assert stems == sorted(stems) and {"00_token_search", "01_big_two", "02_moral_foundations"} <= set(stems)


def test_training_chapter_runs_before_the_chapters_that_use_its_models():
    toc = runner.toc_chapters(ROOT)
    order = [p.stem for p in runner.execution_order(toc)]
    assert order[0] == "06_training_live" and sorted(order) == sorted(p.stem for p in toc)
    assert [s for s in order if s != "06_training_live"] == [p.stem for p in toc if p.stem != "06_training_live"]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_anatomy(path):
    nb = jupytext.read(path)
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    h1 = [line for line in markdown.splitlines() if line.startswith("# ")]
    assert len(h1) == 1, "exactly one H1"
    for heading in ("## Overview", "## Prerequisites", "## Exercises", "## Summary", "Run this chapter yourself",
                    "## The paper's numbers next to ours", "## Where we differ from the paper"):
        assert heading in markdown, heading
    params = parameters.chapter_parameters(path)
    assert params and all(p.comment for p in params.values()), "every parameter has a comment"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_code_cells_parse(path):
    """Every code cell is valid Python for this interpreter (e.g. no nested same-quote f-strings before 3.12)."""
    import ast

    for i, cell in enumerate(jupytext.read(path).cells):
        if cell.cell_type == "code":
            try:
                ast.parse(cell.source)
            except SyntaxError as exc:
                pytest.fail(f"{path.name}, code cell {i}: {exc}")


@pytest.mark.parametrize("profile", ["default", "smoke"])
def test_params_files_name_real_parameters(profile):
    table = yaml.safe_load((ROOT / "notebooks" / "params" / f"{profile}.yaml").read_text())
    for stem, values in table.items():
        path = ROOT / "notebooks" / f"{stem}.md"
        assert path.exists(), stem
        parameters.validate_parameters(path, values)
        if profile == "default":  # the default profile equals the parameters cell
            defaults = parameters.chapter_parameters(path)
            assert all(defaults[k].default == v for k, v in values.items()), stem


def test_bad_chapter_lists_valid_ones():
    with pytest.raises(RmnbError, match="no chapter matches '99'.*01_big_two"):
        runner.resolve_chapters("99", ROOT)


def test_unknown_parameter_and_wrong_type():
    path = runner.resolve_chapters("01", ROOT)[0]
    with pytest.raises(RmnbError, match="unknown parameter 'n_perm'.*n_permutations \\(int\\)"):
        parameters.validate_parameters(path, {"n_perm": 5})
    with pytest.raises(RmnbError, match="n_permutations='many' .*must be a whole number of at least 99, not str"):
        parameters.validate_parameters(path, {"n_permutations": "many"})
    with pytest.raises(RmnbError, match="include_released=1 .*must be true or false"):
        parameters.validate_parameters(path, {"include_released": 1})
    with pytest.raises(RmnbError, match="there is no folder 'runs/x'.*Fix: give a folder that exists"):
        parameters.validate_parameters(path, {"scores_dir": "runs/x"})


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


def test_every_parameter_of_every_chapter_has_a_rule(data_dir):
    stems = {p.stem: p for p in CHAPTERS}
    assert set(parameters.RULES) == set(stems)
    for stem, rules in parameters.RULES.items():
        defaults = parameters.chapter_parameters(stems[stem])
        assert set(rules) == set(defaults), stem
        values = {k: p.default for k, p in defaults.items()}
        assert parameters.check_values(stem, values, defaults=values) == []  # the defaults are valid, no warning
        for name, rule in rules.items():  # so is each suggested fix
            parameters.check_values(stem, {name: rule.suggestion()}, defaults={})
    for stem, renamed in parameters.RENAMED.items():  # an old name is never a current one
        assert not set(renamed) & set(parameters.chapter_parameters(stems[stem])), stem


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_the_chapter_checks_its_values_first(path):
    """Before any work, the chapter checks its values again (papermill or Jupyter may have set them)."""
    code = [c.source for c in jupytext.read(path).cells if c.cell_type == "code"
            and not {"parameters", "remove-input"} & set(c.metadata.get("tags", []))]
    assert f'parameters.check_values("{path.stem}", globals())' in code[0], path.stem


@pytest.mark.parametrize("stem, values, message", [
    ("01_big_two", {"n_permutations": 50},
     r"n_permutations=50 of chapter 01_big_two: too few for a permutation p-value; use at least 99\. "
     r"Fix: .*rmnb run 01 -p n_permutations=9999"),
    ("02_moral_foundations", {"n_permutations": 98}, "n_permutations=98 .*use at least 99"),
    ("04_implicit_reward", {"sft_steps": 0}, r"sft_steps=0 of chapter 04_implicit_reward: it must be at least 1\."),
    ("04_implicit_reward", {"n_show": None}, "n_show=None .*at least 1"),
    ("04_implicit_reward", {"prompt_format": "markdown"},
     r"prompt_format='markdown' .*one of 'chat', 'raw'\. Fix: .*-p prompt_format=chat"),
    ("06_training_live", {"bases": ["gemma3-270m"]}, r"bases=\['gemma3-270m'\] .*exactly two different base models"),
    ("06_training_live", {"bases": ["gemma3-270m", "gemma3-270m"]}, "exactly two different"),
    ("06_training_live", {"bases": ["gemma3-270m", "smollm2-135m-instruct", "x/y"]}, "exactly two different"),
    ("06_training_live", {"bases": "gemma3-270m,smollm2-135m-instruct"}, "a list is written as a YAML list"),
    ("01_big_two", {"seed": -1}, r"seed=-1 of chapter 01_big_two: a random seed must be a non-negative integer; "
     r"use at least 0\. Fix: .*-p seed=42"),
    ("06_training_live", {"seed": -3}, "seed=-3 .*non-negative"),
])
def test_check_values_names_parameter_value_rule_and_fix(stem, values, message):
    with pytest.raises(RmnbError, match=message):
        parameters.check_values(stem, values)


def test_check_values_accepts_valid_values_and_skips_the_rest():
    parameters.check_values("01_big_two", {"n_permutations": 99, "seed": 0, "unrelated": object()})
    parameters.check_values("06_training_live", {"seed": None})
    parameters.check_values("04_implicit_reward", {"prompt_format": "raw", "recovery_k": 1})
    parameters.check_values("06_training_live", {"bases": ["gemma3-270m", "org/model"]})
    parameters.check_values("09_not_a_chapter", {"anything": None})  # a chapter without rules


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
