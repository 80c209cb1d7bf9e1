"""The chapter sources as code: their anatomy, valid Python, a rule for every parameter, the values checked first,
the parameter profiles."""

import ast

import jupytext
import pytest
import yaml

from conftest import ROOT
from rmnb.base.paths import chapter_sources
from rmnb.book import parameters

CHAPTERS = chapter_sources(ROOT)


def test_there_are_chapters():
    stems = [p.stem for p in CHAPTERS]
    assert stems == sorted(stems) and {"00_token_search", "01_big_two", "02_moral_foundations"} <= set(stems)


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
    """Every code cell is valid Python for the running interpreter (an f-string that nests its own quotes, valid
    only from Python 3.12, fails here at once instead of deep into a book build). IPython's ``%`` and ``!`` lines
    are left out."""
    for i, cell in enumerate(jupytext.read(path).cells):
        if cell.cell_type == "code":
            source = "\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!")))
            try:
                ast.parse(source)
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
