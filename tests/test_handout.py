"""rmnb handout: the student edition holds no solution (matched by content, not by tag) and its notebooks run."""

import json
import os
import re
import zipfile

import jupytext
import nbformat
import pytest

from conftest import MYST_HEADER, ROOT
from rmnb.base.paths import chapter_sources
from rmnb.book.parameters import default_parameters
from rmnb.seminar import handout, leaks, student_markdown

CHAPTER = MYST_HEADER + '''
# 9 · A test chapter

```{code-cell} ipython3
:tags: [parameters]

n = 3  # how many
```

```{code-cell} ipython3
value = n * 7
glue("value_text", value)
```

The value is {glue:text}`value_text:.1f`, as {ref}`ch01` explains {cite:p}`key2024`; {numref}`fig-toy` shows it.

```{glue:figure} fig-toy-chart
:name: fig-toy

A caption with {glue:text}`value_text`.
```

:::{admonition} A side note
:class: attention
Read this first.
:::

## Exercises

```{code-cell} ipython3
:tags: [solution, remove-cell]

glue("ex_expected", value)
```

```{code-cell} ipython3
:tags: [remove-cell]

ex_secret = value + 1000
glue("ex_secret_text", ex_secret)
```

```{admonition} Exercise 1: compute it
:class: tip
Compute `n * 7` and store it in `answer`.
```

```{code-cell} ipython3
:tags: [exercise, hide-input]

# Exercise 1: store n * 7 in `answer`.
answer = None
# --- solution ---
answer = n * 7  # the reference solution line
```

```{code-cell} ipython3
:tags: [check]

from rmnb.book.exercises import check

check(answer, "09.1", globals())
```

```{code-cell} ipython3
:tags: [solution, hide-input]

print("worked solution that students must not see")
```

````{admonition} Solution
:class: dropdown
The answer is {glue:text}`ex_secret_text` and {glue:text}`ex_expected`,
because of a reason nobody should read early.
````
'''


@pytest.fixture
def toy_root(tmp_path):
    (tmp_path / "notebooks" / "params").mkdir(parents=True)
    (tmp_path / "notebooks" / "params" / "default.yaml").write_text("09_toy:\n  n: 5\n")
    (tmp_path / "notebooks" / "09_toy.md").write_text(CHAPTER)
    return tmp_path


def _text(nb) -> str:
    return "\n".join(c.source for c in nb.cells)


def test_toy_student_edition(toy_root, tmp_path):
    out, archive = handout.write_handout(tmp_path / "student", root=toy_root)
    nb = nbformat.read(out / "09_toy.ipynb", as_version=4)
    text = _text(nb)
    for secret in ("nobody should read early", "reference solution", "worked solution", "ex_secret", "Solution"):
        assert secret not in text
    # plain Jupyter markdown: no MyST role or directive is left; without a build, a value shows as "…", said once
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "{glue" not in markdown and "{ref}" not in markdown and "{admonition}" not in markdown
    assert "[placeholder]" not in markdown and "[value_text]" not in markdown
    assert "The value is …, as chapter 01 explains (key2024); [Figure 1](#fig-toy) shows it." in markdown
    assert "> **A side note**\n>\n> Read this first." in markdown and ":class:" not in markdown
    assert "without a build of the book" in nb.cells[1].source and markdown.count("without a build") == 1
    figure = next(i for i, c in enumerate(nb.cells) if handout.FIGURE_TAG in c.metadata.get("tags", []))
    assert "res.figures" in nb.cells[figure].source and '"fig-toy-chart"' in nb.cells[figure].source
    assert nb.cells[figure + 1].source.startswith('<a id="fig-toy"></a>**Figure 1.** A caption with ….')
    # every cell that glues a solution's value is gone, the check cell stays
    assert not any('glue("ex_' in c.source for c in nb.cells)
    assert "n = 5  # how many" in text  # laptop defaults from params/default.yaml
    exercise = next(c for c in nb.cells if "exercise" in c.metadata.get("tags", []))
    assert exercise.source == "# Exercise 1: store n * 7 in `answer`.\nanswer = None\n"
    assert "hide-input" not in exercise.metadata["tags"]
    assert any("check" in c.metadata.get("tags", []) for c in nb.cells)
    assert "Exercise 1: compute it" in text
    names = zipfile.ZipFile(archive).namelist()
    assert sorted(names) == ["student/09_toy.ipynb", "student/README.md"]
    readme = (out / "README.md").read_text()
    assert "rmnb doctor" in readme and "rmnb setup" in readme and "<the repository URL>" not in readme

    teacher, _ = handout.write_handout(tmp_path / "teacher", root=toy_root, teacher=True)
    nb = nbformat.read(teacher / "09_toy.ipynb", as_version=4)
    text = _text(nb)
    assert "nobody should read early" in text and "reference solution" in text and "worked solution" in text
    assert "> **Solution**" in text and "{glue" not in text and "```{" not in text  # solutions open, no MyST
    assert "Student edition" not in text and "Teacher edition" in text
    assert (teacher / "09_toy.html").exists() and "nobody should read early" in (teacher / "09_toy.html").read_text()


def test_values_come_from_the_teachers_build(toy_root, tmp_path):
    """With a build, the text shows its numbers as the roles format them, and each exercise the shape of its
    answer that the build's check recorded."""
    results = toy_root / "_build" / "results"
    results.mkdir(parents=True)
    (results / "09_toy.json").write_text(json.dumps({"value_text": 21, "ex_secret_text": 1021, "ex_expected": 21,
                                                     "shape_09.1": "a whole number with 2 digits"}))
    out, _ = handout.write_handout(tmp_path / "student", root=toy_root, archive=False)
    nb = nbformat.read(out / "09_toy.ipynb", as_version=4)
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "The value is 21.0, as chapter 01 explains" in markdown and "A caption with 21." in markdown
    assert "1021" not in markdown and "book's own run" in nb.cells[1].source
    assert "> *What you should see:* a whole number with 2 digits." in markdown
    teacher, _ = handout.write_handout(tmp_path / "teacher", root=toy_root, teacher=True, archive=False)
    assert "The answer is 1021 and 21," in _text(nbformat.read(teacher / "09_toy.ipynb", as_version=4))


def test_exercise_cell_needs_the_marker(toy_root, tmp_path):
    path = toy_root / "notebooks" / "09_toy.md"
    path.write_text(path.read_text().replace("# --- solution ---\n", ""))
    with pytest.raises(handout.RmnbError, match="solution ---"):
        handout.write_handout(tmp_path / "student", root=toy_root)


def _solution_lines(path) -> set[str]:
    """Every line of solution content in a chapter source: Solution blocks, solution cells, exercise answers."""
    lines = set()
    nb = jupytext.read(path)
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if cell.cell_type == "markdown":
            for block in handout.solution_blocks(cell.source):
                lines |= {x.strip() for x in block.splitlines()[1:-1] if not x.startswith(":")}
        elif handout.SOLUTION_TAG in tags:
            lines |= {x.strip() for x in cell.source.splitlines()}
        elif handout.EXERCISE_TAG in tags:
            src = cell.source.splitlines()
            lines |= {x.strip() for x in src[[s.strip() for s in src].index(handout.SOLUTION_MARKER):]}
    # a line the chapter also has outside its solutions (`if released:`) is not solution text
    rest = set()
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if cell.cell_type == "markdown":
            rest |= {x.strip() for x in handout.strip_solutions(cell.source).splitlines()}
        elif not {handout.SOLUTION_TAG, handout.EXERCISE_TAG} & set(tags):
            rest |= {x.strip() for x in cell.source.splitlines()}
    return {x for x in lines - rest if len(x) >= 12}


def test_student_edition_of_the_book_has_no_solutions(tmp_path):
    out, archive = handout.write_handout(tmp_path / "student")
    teacher, _ = handout.write_handout(tmp_path / "teacher", teacher=True)
    sources = chapter_sources(ROOT)
    assert sorted(p.name for p in out.glob("*.ipynb")) == sorted(f"{p.stem}.ipynb" for p in sources)
    total = 0
    for path in sources:
        solutions = _solution_lines(path)
        student = _text(nbformat.read(out / f"{path.stem}.ipynb", as_version=4))
        leaked = [line for line in solutions if line in student]
        assert not leaked, f"{path.stem}: solution text in the student edition: {leaked[:3]}"
        assert "{admonition} Solution" not in student and "**Solution" not in student
        for raw in ("{glue", "{cite", "{ref}", "{numref}", "{doc}", "[placeholder]"):
            assert raw not in student, f"{path.stem}: {raw} left in the student edition"
        teacher_text = _text(nbformat.read(teacher / f"{path.stem}.ipynb", as_version=4))
        assert "{glue" not in teacher_text and "> **Solution**" in teacher_text
        code = [c.source for c in nbformat.read(teacher / f"{path.stem}.ipynb", as_version=4).cells
                if c.cell_type == "code"]
        assert all(line in "\n".join(code) for line in _solution_code_lines(path))
        titles = re.findall(r"\{admonition\} (Exercise \d+:[^\n]*)", path.read_text())
        assert [f"> **{t}**" in student for t in titles] == [True] * len(titles)
        total += len(solutions)
    assert total > 0  # the check above had something to find
    assert zipfile.ZipFile(archive).testzip() is None


def _solution_code_lines(path) -> set[str]:
    nb = jupytext.read(path)
    return {x.strip() for s in leaks.solution_sources(nb) for x in s.splitlines() if len(x.strip()) >= 12}


@pytest.mark.parametrize("stem", [p.stem for p in chapter_sources(ROOT)])
def test_no_solution_call_reaches_the_student_edition(stem):
    """Every call of the teacher's solutions, variables renamed, against the whole student edition; every check
    cell only checks; no kept cell glues an ex_ value."""
    path = ROOT / "notebooks" / f"{stem}.md"
    student = handout.edition(path)
    assert leaks.leaked_calls(jupytext.read(path), student) == []
    assert leaks.check_cell_problems(student) == []


def test_student_parameters_are_the_laptop_defaults(tmp_path):
    out, _ = handout.write_handout(tmp_path / "student", archive=False)
    for path in chapter_sources(ROOT):
        nb = nbformat.read(out / f"{path.stem}.ipynb", as_version=4)
        cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
        namespace = {}
        exec(cell.source, namespace)  # noqa: S102 (our own literals)
        for name, value in default_parameters(path, "default").items():
            assert namespace[name] == value, (path.stem, name)


@pytest.mark.slow
@pytest.mark.parametrize("stem", [p.stem for p in chapter_sources(ROOT)])
def test_student_notebook_runs_in_smoke_settings(stem, tmp_path, data_dir, monkeypatch):
    import papermill

    out, _ = handout.write_handout(tmp_path / "student", archive=False)
    source = next(p for p in chapter_sources(ROOT) if p.stem == stem)
    monkeypatch.setenv("RMNB_RESULTS_DIR", str(tmp_path / "results"))
    monkeypatch.setenv("RMNB_ROOT", str(ROOT))
    monkeypatch.setenv("TQDM_DISABLE", "1")
    executed = tmp_path / f"{stem}.out.ipynb"
    papermill.execute_notebook(str(out / f"{stem}.ipynb"), str(executed), cwd=str(out), kernel_name="python3",
                               parameters=default_parameters(source, "smoke"), progress_bar=False)
    nb = json.loads(executed.read_text())
    assert nb["metadata"]["papermill"]["exception"] in (None, False)
    assert os.path.exists(tmp_path / "results")


def test_exercise_check_says_correct_or_not_and_never_how_far(capsys):
    from rmnb.book.exercises import verdict

    assert verdict(10.05, 10.0) is True and capsys.readouterr().out == "your answer: correct.\n"
    assert verdict(10.5, 10.0) is False and "within 10%" in capsys.readouterr().out
    assert verdict(12.0, 10.0) is False and capsys.readouterr().out == "your answer: not correct.\n"
    assert verdict(8.0, 10.0) is False and capsys.readouterr().out == "your answer: not correct.\n"  # no direction
    assert verdict(None, 10.0) is False and "not computed yet" in capsys.readouterr().out
    assert verdict("x", 10.0) is False
    # a count must match exactly; a wrong count says nothing about the distance
    assert verdict(4, 4) is True and verdict(4.0, 4) is True
    assert verdict(2, 4) is False and capsys.readouterr().out.endswith("not correct.\n")
    assert verdict(2.5, 4) is False and "whole number" in capsys.readouterr().out
    # zero has no relative distance; a string must match; an undefined value says so
    assert verdict(0.0, 0.0) is True and verdict(0.1, 0.0) is False
    assert verdict("Love", "Love") is True and verdict("love", "Love") is False
    assert verdict(float("nan"), None) is False and "no value to compare" in capsys.readouterr().out
    assert verdict(3.0, float("nan")) is False
    out = capsys.readouterr().out
    for revealing in ("10.0", "too high", "too low", "off by", "%"):
        assert revealing not in out


def test_check_computes_the_reference_at_check_time(capsys):
    import pandas as pd

    from rmnb.book import answers
    from rmnb.book.exercises import check

    panels = pd.DataFrame({"p_perm_bonf": [0.01, 0.2, 0.001, 0.04]})
    assert check(3, "01.1", {"panels": panels}) is None  # returns nothing: the cell shows only the verdict
    assert capsys.readouterr().out == "your answer: correct.\n"
    check(2, "01.1", {"panels": panels})
    assert capsys.readouterr().out == "your answer: not correct.\n"
    check(3, "01.1", {})
    assert "has not defined panels yet" in capsys.readouterr().out
    recorded = {}

    class Res:
        def record(self, name, value):
            recorded[name] = value

    check(3, "01.1", {"panels": panels, "res": Res()})
    assert recorded == {"shape_01.1": "a whole number from 0 to 9"}  # the shape, never the value
    assert answers.inputs("04.1") == ["lp_base", "lp_boost", "targets", "recovery_k"]  # defaults are not inputs
    with pytest.raises(handout.RmnbError, match="no exercise '99.1'"):
        answers.expected("99.1", {})


def test_leak_finder_catches_a_renamed_reference_in_a_check_cell(toy_root):
    """The finder itself can fail: a check cell that recomputes the solution with other names is a leak."""
    path = toy_root / "notebooks" / "09_toy.md"
    teacher = jupytext.read(path)
    student = handout.edition(path)
    assert leaks.leaked_calls(teacher, student) == [] and leaks.check_cell_problems(student) == []
    path.write_text(path.read_text().replace("answer = n * 7  # the reference solution line",
                                             "answer = sorted(range(n), key=abs)[-1] * 7"))
    check = next(c for c in student.cells if "check" in c.metadata.get("tags", []))
    check.source = "expected = sorted(range(k), key=abs)[-1] * 7\nprint(expected)"
    assert leaks.leaked_calls(jupytext.read(path), student) == ["sorted(range(_0), key=abs)"]
    assert len(leaks.check_cell_problems(student)) == 2


def _exercise_cells(path):
    """(exercise titles, code cells of the Exercises section) of one chapter source."""
    nb = jupytext.read(path)
    inside, titles, cells = False, [], []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("## "):
                    inside = line.strip() == "## Exercises"
            if inside:
                titles += re.findall(r"\{admonition\} Exercise (\d+):", cell.source)
        elif inside:
            cells.append(cell)
    return titles, cells


@pytest.mark.parametrize("path", chapter_sources(ROOT), ids=lambda p: p.stem)
def test_every_chapter_has_three_exercises_and_each_code_exercise_a_check(path):
    titles, cells = _exercise_cells(path)
    assert len(titles) >= 3, f"{path.stem} has {len(titles)} exercises; the seminar needs at least three"
    assert titles == [str(i) for i in range(1, len(titles) + 1)], f"{path.stem}: exercises not numbered 1..n"
    tags = [c.metadata.get("tags", []) for c in cells]
    for i, t in enumerate(tags):
        if handout.EXERCISE_TAG in t:
            after = tags[i + 1] if i + 1 < len(tags) else []
            assert handout.CHECK_TAG in after, f"{path.stem}: an exercise cell without a check cell after it"
            assert "check(answer" in cells[i + 1].source
    n_code = sum(handout.EXERCISE_TAG in t for t in tags)
    assert n_code >= 3, f"{path.stem}: {n_code} exercises with code and a check; each of the three should have one"


def test_myst_roles_and_directives_become_plain_markdown():
    sm = student_markdown
    ctx = sm.Context(values={"three_way_F": 12.3456, "n": 7, "word": "love", "missing_value": None},
                     labels=sm.read_labels(ROOT), citations=sm.read_bibliography(ROOT / "book" / "references.bib"),
                     chapter="01_big_two")
    assert sm.inline("F = {glue:text}`three_way_F:.2f` ({glue}`n`), {glue:text}`word`", ctx) == "F = 12.35 (7), love"
    assert sm.inline("{glue:text}`unknown:.1f` {glue:text}`missing_value:.1f`", ctx) == "… n/a"
    assert sm.inline("{glue:text}`n`") == sm.MISSING  # no build
    assert sm.inline("{ref}`ch03` and {ref}`the guide <teachers-guide>`", ctx) == (
        "[chapter 03](03_base_model_logprobs.ipynb) and “the guide” (on the book's site)")
    assert sm.inline("{ref}`reproduce`", ctx) == "“Re-running a chapter” (on the book's site)"
    assert sm.inline("the book's {doc}`/book/bibliography`", ctx).startswith("the book's “")
    assert sm.inline("{cite:p}`christian2026reward, christian2025optimal` and {cite:t}`abele2007agency`", ctx) == (
        "(Christian et al., 2026; Christian et al., 2025) and Abele and Wojciszke (2007)")
    assert ctx.cited == ["christian2026reward", "christian2025optimal", "abele2007agency"]
    assert sm.inline("{numref}`fig-01-big2` shows", ctx) == "[Figure 1](#fig-01-big2) shows"
    assert sm.inline("{numref}`fig-03-instruct`", ctx).startswith("[Figure ") and "03_base_model_logprobs.ipynb#" \
        in sm.inline("{numref}`fig-03-instruct`", ctx)
    pieces = sm.to_jupyter("(ch09)=\n# Title\n\n```{warning}\nCareful {glue:text}`n`.\n```\n\nEnd.", ctx)
    assert pieces == [("markdown", "# Title\n\n> **Warning**\n>\n> Careful 7.\n\nEnd.")]
    # a fence of four backticks around a nested three-backtick block is closed by its own fence only
    nested = "````{admonition} Note\n:class: tip\n```python\nx = 1\n```\n````"
    assert sm.to_jupyter(nested) == [("markdown", "> **Note**\n>\n> ```python\n> x = 1\n> ```")]


def test_the_readme_names_the_repository_and_colab_links(tmp_path):
    from rmnb.seminar import handout_readme

    assert handout_readme.repository_url(tmp_path) is None
    (tmp_path / "CITATION.cff").write_text('title: x\nrepository-code: "https://github.com/someone/rmnb"\n')
    url = handout_readme.repository_url(tmp_path)
    assert url == "https://github.com/someone/rmnb"
    assert handout_readme.colab_link(url, "handout", "01_big_two.ipynb") == (
        "https://colab.research.google.com/github/someone/rmnb/blob/main/handout/01_big_two.ipynb")
    assert handout_readme.colab_link("https://gitlab.com/a/b", "handout", "x.ipynb") is None
    text = handout_readme.readme(teacher=False, folder="handout", listing=[("01_big_two", "Big Two")], url=url,
                                 built=True, repo_folder="handout")
    assert f"git clone {url}" in text and "[open in Colab](https://colab.research.google.com/github/" in text
    text = handout_readme.readme(teacher=False, folder="handout", listing=[("01_big_two", "Big Two")], url=None,
                                 built=False, repo_folder="handout")
    assert "names no repository URL" in text and "<the repository URL>" not in text and "Colab" in text
    setup = handout_readme.colab_setup_source(url)
    assert '"git", "clone"' in setup and url in setup
    compile(setup, "setup", "exec")  # plain Python (no magics): the leak finder and any kernel can read it
