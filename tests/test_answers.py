"""Every exercise's check has its reference answer at check time (rmnb.book.answers), and each reference
reproduces the chapter's own solution on small tables."""

import re

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT
from rmnb.base.paths import chapter_sources
from rmnb.book import answers

_KEY = re.compile(r'check\(answer, "(\d\d\.\d+)", globals\(\)\)')


@pytest.mark.parametrize("stem", [p.stem for p in chapter_sources(ROOT)])
def test_each_check_has_its_reference_and_each_reference_its_check(stem):
    text = (ROOT / "notebooks" / f"{stem}.md").read_text()
    used = _KEY.findall(text)
    n_exercises = len(re.findall(r"\{admonition\} Exercise \d+:", text))
    assert used == [f"{stem[:2]}.{k}" for k in range(1, n_exercises + 1)]
    assert sorted(k for k in answers.REFERENCES if k.startswith(stem[:2] + ".")) == used


def test_missing_inputs_name_what_to_run():
    with pytest.raises(answers.RmnbError, match="has not defined panels yet.*Run All Above"):
        answers.expected("01.1", {"med": None})


def test_live_training_references_on_small_tables():
    acc = pd.DataFrame({"base": ["a", "a", "b", "b", "a"], "seed": [1, 2, 1, 2, 1],
                        "when": ["final"] * 4 + ["step0"], "framing": ["all"] * 5,
                        "accuracy": [0.8, 0.9, 0.70, 0.72, 0.1]})
    assert answers.expected("06.1", {"acc": acc}) == pytest.approx(0.1)
    curve = pd.DataFrame({"base": ["a"] * 3 + ["b"] * 2, "seed": [1] * 5, "framing": ["all"] * 5,
                          "step": [0, 12, 24, 0, 12], "accuracy": [0.5, 0.7, 0.8, 0.5, 0.6]})
    assert answers.expected("06.2", {"curve": curve}) == pytest.approx((0.1 + 0.1) / 2)


def test_shapes_never_give_the_value():
    assert answers.shape(7) == "a whole number from 0 to 9"
    assert answers.shape(1234) == "a whole number with 4 digits"
    assert answers.shape(-0.0321) == "a negative number between -0.1 and -0.01"
    assert answers.shape(184553.0) == "a positive number between 100,000 and 1,000,000"
    assert answers.shape("love") == "a word or a name (text)"
    assert answers.shape(0.0) == answers.shape(0.004) == "a number between -0.01 and 0.01"  # never "zero": the answer
    assert "undefined" in answers.shape(np.nan) and answers.shape(np.int64(3)).startswith("a whole number")


@pytest.mark.slow
def test_the_books_solutions_agree_with_the_references(built_book):
    """In the built book each exercise's reference solution runs before its check: every check says correct (or
    that the run's settings leave the value undefined), so the solutions and rmnb.book.answers agree."""
    import json

    verdicts = []
    for path in sorted((built_book.parents[1] / "book" / "chapters").glob("*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] == "code" and _KEY.search("".join(cell["source"])):
                text = "".join("".join(o.get("text", "")) for o in cell.get("outputs", []))  # str or lines
                verdicts.append((path.stem, text.strip()))
    assert verdicts and all(v in ("your answer: correct.", "your answer: the chapter has no value to compare with "
                                  "in this run (its settings leave it undefined; the solution says why).")
                            for _, v in verdicts), verdicts
    # the built guide has the slides and the session pages
    guide = (built_book / "book" / "teachers-guide.html").read_text()
    assert "Facilitator notes" in guide and "session-1.html" in guide
