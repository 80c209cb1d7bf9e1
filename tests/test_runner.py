"""Chapters as code: the parameters cell, the anatomy, the runner's and CLI's validation."""

import jupytext
import pytest
import yaml

from rmnb import cli
from rmnb.book import parameters, runner
from rmnb.base.errors import RmnbError
from conftest import ROOT

CHAPTERS = runner.chapters(ROOT)


def test_there_are_chapters():
    stems = [p.stem for p in CHAPTERS]
    assert stems == sorted(stems) and {"00_token_search", "01_big_two", "02_moral_foundations"} <= set(stems)


def test_training_chapter_runs_before_the_chapters_that_use_its_models():
    toc = runner.toc_chapters(ROOT)
    order = [p.stem for p in runner.execution_order(toc)]
    assert order[0] == "05_rm_training" and sorted(order) == sorted(p.stem for p in toc)
    assert [s for s in order if s != "05_rm_training"] == [p.stem for p in toc if p.stem != "05_rm_training"]


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
    with pytest.raises(RmnbError, match="must be int"):
        parameters.validate_parameters(path, {"n_permutations": "many"})
    with pytest.raises(RmnbError, match="must be bool"):
        parameters.validate_parameters(path, {"include_released": 1})
    assert parameters.validate_parameters(path, {"scores_dir": "runs/x"}) == {"scores_dir": "runs/x"}


def test_cli_fails_before_work_with_clear_message(capsys):
    assert cli.main(["run", "99"]) == 2
    assert "Valid chapters" in capsys.readouterr().err
    assert cli.main(["run", "01", "-p", "bogus=1"]) == 2
    assert "Valid parameters" in capsys.readouterr().err
    assert cli.main(["run", "01", "-p", "n_permutations=lots"]) == 2
    assert "must be int" in capsys.readouterr().err


def test_cli_chapter_help_lists_parameters(capsys):
    assert cli.main(["run", "01", "--help"]) == 0
    out = capsys.readouterr().out
    assert "n_permutations" in out and "scores_dir" in out


FAILING_CHAPTER = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

# A chapter that fails on request

```{code-cell} ipython3
:tags: [parameters]

fail = False  # True raises in the next cell
```

```{code-cell} ipython3
if fail:
    raise ValueError("asked to fail")
print("ran")
```
"""


def test_failed_run_keeps_the_executed_chapter(tmp_path, monkeypatch, capsys):
    """`rmnb run` executes into a temporary notebook: a failure leaves the old chapter byte-identical and says
    where the failed notebook is; a later success replaces the chapter and clears the failure."""
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: book/intro\n")
    (tmp_path / "notebooks" / "09_fails.md").write_text(FAILING_CHAPTER)
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
