"""rmnb handout: the student edition holds no solution (matched by content, not by tag) and its notebooks run."""

import json
import os
import zipfile

import jupytext
import nbformat
import pytest
from tests.conftest import MYST_HEADER, ROOT

from rmnb.book import handout
from rmnb.book.parameters import default_parameters
from rmnb.book.runner import chapters

CHAPTER = MYST_HEADER + '''
# 9 · A test chapter

```{code-cell} ipython3
:tags: [parameters]

n = 3  # how many
```

```{code-cell} ipython3
value = n * 7
```

## Exercises

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

assert answer is None or answer == value
```

```{code-cell} ipython3
:tags: [solution, hide-input]

print("worked solution that students must not see")
```

````{admonition} Solution
:class: dropdown
The answer is {glue:text}`ex_secret_text`, because of a reason nobody should read early.
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
    assert "n = 5  # how many" in text  # laptop defaults from params/default.yaml
    exercise = next(c for c in nb.cells if "exercise" in c.metadata.get("tags", []))
    assert exercise.source == "# Exercise 1: store n * 7 in `answer`.\nanswer = None\n"
    assert "hide-input" not in exercise.metadata["tags"]
    assert any("check" in c.metadata.get("tags", []) for c in nb.cells)
    assert "Exercise 1: compute it" in text
    names = zipfile.ZipFile(archive).namelist()
    assert sorted(names) == ["student/09_toy.ipynb", "student/README.md"]
    assert "rmnb doctor" in (out / "README.md").read_text()

    teacher, _ = handout.write_handout(tmp_path / "teacher", root=toy_root, teacher=True)
    text = _text(nbformat.read(teacher / "09_toy.ipynb", as_version=4))
    assert "nobody should read early" in text and "reference solution" in text and "worked solution" in text


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
    sources = chapters(ROOT)
    assert sorted(p.name for p in out.glob("*.ipynb")) == sorted(f"{p.stem}.ipynb" for p in sources)
    total = 0
    for path in sources:
        solutions = _solution_lines(path)
        student = _text(nbformat.read(out / f"{path.stem}.ipynb", as_version=4))
        leaked = [line for line in solutions if line in student]
        assert not leaked, f"{path.stem}: solution text in the student edition: {leaked[:3]}"
        assert "{admonition} Solution" not in student
        teacher_text = _text(nbformat.read(teacher / f"{path.stem}.ipynb", as_version=4))
        assert all(line in teacher_text for line in solutions)
        assert student.count("{admonition} Exercise") == teacher_text.count("{admonition} Exercise")
        total += len(solutions)
    assert total > 0  # the check above had something to find
    assert zipfile.ZipFile(archive).testzip() is None


def test_student_parameters_are_the_laptop_defaults(tmp_path):
    out, _ = handout.write_handout(tmp_path / "student", archive=False)
    for path in chapters(ROOT):
        nb = nbformat.read(out / f"{path.stem}.ipynb", as_version=4)
        cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
        namespace = {}
        exec(cell.source, namespace)  # noqa: S102 (our own literals)
        for name, value in default_parameters(path, "default").items():
            assert namespace[name] == value, (path.stem, name)


@pytest.mark.slow
@pytest.mark.parametrize("stem", [p.stem for p in chapters(ROOT)])
def test_student_notebook_runs_in_smoke_settings(stem, tmp_path, data_dir, monkeypatch):
    import papermill

    out, _ = handout.write_handout(tmp_path / "student", archive=False)
    source = next(p for p in chapters(ROOT) if p.stem == stem)
    monkeypatch.setenv("RMNB_RESULTS_DIR", str(tmp_path / "results"))
    monkeypatch.setenv("RMNB_ROOT", str(ROOT))
    monkeypatch.setenv("TQDM_DISABLE", "1")
    executed = tmp_path / f"{stem}.out.ipynb"
    papermill.execute_notebook(str(out / f"{stem}.ipynb"), str(executed), cwd=str(out), kernel_name="python3",
                               parameters=default_parameters(source, "smoke"), progress_bar=False)
    nb = json.loads(executed.read_text())
    assert nb["metadata"]["papermill"]["exception"] in (None, False)
    assert os.path.exists(tmp_path / "results")


def test_exercise_check_says_how_far_off(capsys):
    from rmnb.book.exercises import verdict

    assert verdict(10.05, 10.0) is True
    assert verdict(12.0, 10.0) is False and "off by 20.0% (too high)" in capsys.readouterr().out
    assert verdict(None, 10.0) is False and "not computed yet" in capsys.readouterr().out
    assert verdict("x", 10.0) is False
    assert "10.0" not in capsys.readouterr().out  # the expected value is not revealed
