"""The chapter cache: `rmnb book` reuses a chapter whose inputs are unchanged and executes one whose source,
parameters, package, data or environment changed (rmnb.builder.chapter_cache, rmnb.builder.runner.run_chapters)."""

import json

import pytest

from conftest import MYST_HEADER, book_with_chapters
from rmnb import cli
from rmnb.base.paths import chapter_sources
from rmnb.builder import chapter_cache, runner

# A chapter that records one value in its results JSON, as every book chapter does.
RECORDING_CHAPTER = MYST_HEADER + """
# A chapter that records a value

```{code-cell} ipython3
:tags: [parameters]

n = 1  # the value recorded
```

```{code-cell} ipython3
from rmnb.book.results import Results

Results().record("n", n)
```
"""


def _outcomes(timings):
    return {stem: outcome for stem, _, outcome, _ in timings}


def test_a_second_build_executes_nothing_and_a_changed_input_executes_again(tmp_path, monkeypatch, capfd):
    root = book_with_chapters(tmp_path, {"08_first": RECORDING_CHAPTER, "09_second": RECORDING_CHAPTER})
    monkeypatch.setenv("RMNB_ROOT", str(root))
    paths = chapter_sources(root)
    results = root / "_build" / "results"
    assert _outcomes(runner.run_chapters(paths, reuse=True)) == {"08_first": "ok", "09_second": "ok"}
    assert "it has not been executed here yet" in capfd.readouterr().err
    assert json.loads((results / "08_first.json").read_text()) == {"n": 1}
    executed = {p.stem: p.read_bytes() for p in (root / "book" / "chapters").glob("*.ipynb")}

    assert _outcomes(runner.run_chapters(paths, reuse=True)) == {"08_first": "cached", "09_second": "cached"}
    err = capfd.readouterr().err
    assert err.count("from cache") == 2 and "[rmnb] running" not in err
    assert "08_first   cached" in err  # the time table
    assert {p.stem: p.read_bytes() for p in (root / "book" / "chapters").glob("*.ipynb")} == executed

    # A changed source executes that chapter only.
    paths[0].write_text(RECORDING_CHAPTER.replace("n = 1 ", "n = 2 "))
    assert _outcomes(runner.run_chapters(paths, reuse=True)) == {"08_first": "ok", "09_second": "cached"}
    assert "[rmnb] running 08_first (1/2): its source changed" in capfd.readouterr().err
    assert json.loads((results / "08_first.json").read_text()) == {"n": 2}

    # What else makes a chapter stale, without executing it: its parameters, the package, the environment, the
    # project's data, a results file changed or gone.
    second = paths[1]
    assert runner.cached_chapter(second) == (root / "book" / "chapters" / "09_second.ipynb", None)
    assert runner.cached_chapter(second, {"n": 3})[1] == "its parameters changed"
    assert runner.cached_chapter(second, profile="smoke")[1] is None  # no smoke values: the same parameters
    (root / "data").mkdir()
    (root / "data" / "table.csv").write_text("a,b\n")
    assert runner.cached_chapter(second)[1] == "the project's data/ changed"
    (root / "data" / "table.csv").unlink()
    assert runner.cached_chapter(second)[1] is None
    monkeypatch.setattr(chapter_cache, "package_digest", lambda: "another package")
    monkeypatch.setattr(chapter_cache, "environment_digest", lambda: "another environment")
    assert runner.cached_chapter(second)[1] == ("the rmnb package changed; the installed packages, Python or device "
                                                "changed")
    monkeypatch.undo()
    monkeypatch.setenv("RMNB_ROOT", str(root))
    (results / "09_second.json").write_text('{"n": 5}\n')
    assert "09_second.json has changed since the chapter wrote it" in runner.cached_chapter(second)[1]
    (results / "09_second.json").unlink()
    assert "09_second.json is missing" in runner.cached_chapter(second)[1]


def test_rmnb_run_always_executes_and_rmnb_book_refresh_asks_for_it(tmp_path, monkeypatch, capfd):
    root = book_with_chapters(tmp_path, {"09_only": RECORDING_CHAPTER})
    monkeypatch.setenv("RMNB_ROOT", str(root))
    assert cli.main(["run", "09"]) == 0 and cli.main(["run", "09"]) == 0
    assert capfd.readouterr().err.count("[rmnb] running 09_only") == 2
    assert runner.cached_chapter(chapter_sources(root)[0])[1] is None  # what `rmnb run` wrote, a build reuses
    asked = {}
    monkeypatch.setattr(runner, "build_book", lambda **kw: asked.update(kw) or root)
    assert cli.main(["book", "--refresh"]) == 0 and asked["refresh"] is True
    assert cli.main(["book"]) == 0 and asked["refresh"] is False


def test_tree_digest_follows_names_and_contents(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.py").write_text("1")
    first = chapter_cache.tree_digest(tmp_path)
    (tmp_path / "a" / "__pycache__").mkdir()
    (tmp_path / "a" / "__pycache__" / "x.pyc").write_bytes(b"\0")
    assert chapter_cache.tree_digest(tmp_path) == first
    (tmp_path / "a" / "x.py").write_text("2")
    assert chapter_cache.tree_digest(tmp_path) != first
    (tmp_path / "a" / "x.py").write_text("1")
    (tmp_path / "a" / "x.py").rename(tmp_path / "a" / "y.py")
    assert chapter_cache.tree_digest(tmp_path) != first
    assert chapter_cache.tree_digest(tmp_path / "missing") == chapter_cache.tree_digest(tmp_path / "also-missing")


@pytest.mark.parametrize("text", ["not json", '{"metadata": {"rmnb": {"inputs": "x"}}}', '{"cells": []}'])
def test_a_notebook_without_a_usable_record_is_executed_again(tmp_path, text):
    notebook = tmp_path / "01_x.ipynb"
    notebook.write_text(text)
    inputs = {part: "x" for part in chapter_cache.PARTS}
    assert chapter_cache.stale(notebook, inputs, tmp_path) == "its executed notebook records no inputs"


def test_files_rewritten_with_the_same_bytes_keep_their_time(tmp_path):
    """The status page and its fragments are written on every build; Sphinx must not see them as changed."""
    import os

    same, changed, notebook = tmp_path / "status.md", tmp_path / "sub" / "timings.inc", tmp_path / "01_x.ipynb"
    changed.parent.mkdir()
    for path in (same, changed, notebook):
        path.write_text("before")
        os.utime(path, ns=(1_000_000_000, 1_000_000_000))
    with runner.unchanged_files_keep_their_times(tmp_path):
        same.write_text("before")
        changed.write_text("after")
        notebook.write_text("before")  # executed notebooks are the runner's own business
        (tmp_path / "new.md").write_text("new")
    assert same.stat().st_mtime_ns == 1_000_000_000
    assert changed.stat().st_mtime_ns != 1_000_000_000 and notebook.stat().st_mtime_ns != 1_000_000_000


@pytest.mark.slow
def test_a_second_book_build_executes_no_chapter_and_reads_no_unchanged_page(built_book, capfd):
    """The real book (smoke settings): built again right away, every chapter comes from the cache, the executed
    notebooks and results are untouched, and Sphinx reads no page but the status page (it records the build time)."""
    root = built_book.parents[1]
    chapters = runner.toc_chapters(root)
    executed = {p: p.stat().st_mtime_ns for p in (root / "book" / "chapters").glob("*.ipynb")}
    capfd.readouterr()
    runner.build_book(root=root, profile="smoke")
    out = capfd.readouterr()
    err, log = out.err, out.out + out.err
    assert err.count("from cache") == len(chapters) and "[rmnb] running" not in err
    assert {p: p.stat().st_mtime_ns for p in executed} == executed
    reading = [line for line in log.splitlines() if line.startswith("reading sources...")]
    assert all("status" in line for line in reading), reading
