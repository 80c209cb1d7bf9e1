"""Checks a student runs after writing an exercise's code (the ``check`` cells of the chapters).

``check(answer, "01.2", globals())`` computes the chapter's value for exercise 2 of chapter 01 here, at check time,
from the notebook's own tables (:mod:`rmnb.book.answers`), and prints one line: whether ``answer`` is correct. It
never prints the value, how far off the answer is or in which direction: at most that a wrong answer is within
:data:`NEAR` of it. So the student edition holds no reference answer: no solution code, no value in ``res.values``.

The older form ``check(answer, expected)`` (the value itself, from ``res.values``) is kept only for chapter 06 until
its exercises use the new form; it prints the same verdicts.
"""

from __future__ import annotations

import math
from numbers import Integral, Real

from rmnb.base.errors import RmnbError

# The exercise cells of the chapter sources (the conventions: rmnb.seminar.handout and rmnb.book.answers).
SOLUTION_TAG = "solution"   # a code cell only the solutions need (removed from the student edition)
EXERCISE_TAG = "exercise"   # where a student writes code: the lines above SOLUTION_MARKER stay
CHECK_TAG = "check"         # check(answer, "NN.k", globals()): stays in both editions
SOLUTION_MARKER = "# --- solution ---"

ZERO_TOL = 1e-9  # how far from an expected value of exactly zero an answer may be
NEAR = 0.10      # a wrong answer within this relative distance is told it is close (and nothing more)
SHAPE_PREFIX = "shape_"  # results key of an exercise's answer shape: shape_01.2


def distance(answer, expected) -> float:
    """Relative distance between two numbers (0 = equal), or ``inf`` when ``answer`` is not a number."""
    if isinstance(answer, bool) or not isinstance(answer, Real):
        return math.inf
    answer, expected = float(answer), float(expected)
    if math.isnan(expected):
        return 0.0 if math.isnan(answer) else math.inf
    if math.isnan(answer):
        return math.inf
    return abs(answer - expected) / max(abs(expected), 1e-12)


def _is_count(value) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool)


def _undefined(value) -> bool:
    return value is None or (isinstance(value, Real) and not isinstance(value, bool) and math.isnan(float(value)))


def judge(answer, expected, rel_tol: float = 0.01) -> str:
    """The verdict on ``answer`` against ``expected``: ``"missing"`` (no answer yet), ``"undefined"`` (the chapter has
    no value in this run), ``"correct"``, ``"near"`` (wrong, within :data:`NEAR`), ``"not a count"`` or ``"wrong"``.

    A whole number (a count) and a string (a word, a model's name) must match exactly; any other number must be
    within ``rel_tol`` of ``expected``, relatively (absolutely, within :data:`ZERO_TOL`, when ``expected`` is 0)."""
    if answer is None:
        return "missing"
    if _undefined(expected):
        return "undefined"
    if isinstance(expected, str):
        return "correct" if isinstance(answer, str) and answer.strip() == expected.strip() else "wrong"
    if _is_count(expected):
        if not isinstance(answer, Real) or isinstance(answer, bool) or math.isnan(float(answer)) \
                or float(answer) != int(float(answer)):
            return "not a count"
        return "correct" if int(float(answer)) == int(expected) else "wrong"
    off = distance(answer, expected)
    if off == math.inf:
        return "wrong"
    if float(expected) == 0:
        return "correct" if abs(float(answer)) <= ZERO_TOL else "wrong"
    return "correct" if off <= rel_tol else "near" if off <= NEAR else "wrong"


MESSAGES = {
    "missing": "not computed yet. Write your code in the cell above (it should set `answer`) and run it.",
    "undefined": "the chapter has no value to compare with in this run (its settings leave it undefined; the "
                 "solution says why).",
    "correct": "correct.",
    "near": f"not correct, but within {NEAR:.0%} of the chapter's value.",
    "not a count": "not correct: the answer is a count (a whole number).",
    "wrong": "not correct.",
}


def verdict(answer, expected, *, rel_tol: float = 0.01, what: str = "your answer") -> bool:
    """Print the one-line verdict (:func:`judge`) and return whether the answer is correct."""
    outcome = judge(answer, expected, rel_tol)
    print(f"{what}: {MESSAGES[outcome]}")
    return outcome == "correct"


def check(answer, exercise, namespace: dict | None = None, *, what: str = "your answer") -> None:
    """Print whether ``answer`` is correct for ``exercise`` (``"NN.k"``), whose value :mod:`rmnb.book.answers`
    computes from ``namespace`` (the notebook's ``globals()``); returns nothing, so the cell shows only the verdict.
    Without ``namespace``, ``exercise`` is the expected value itself (the older form, for chapter 06 until it is
    converted)."""
    if namespace is None:
        verdict(answer, exercise, what=what)
        return
    from rmnb.book import answers

    if answer is None:  # no need to compute the reference yet
        verdict(None, 0.0, what=what)
        return
    try:
        expected = answers.expected(exercise, namespace)
    except RmnbError as exc:
        print(f"{what}: cannot be checked yet: {exc}")
        return
    except Exception as exc:  # a table the student changed in place; the reference code is not shown
        print(f"{what}: cannot be checked: computing the chapter's value failed ({type(exc).__name__}). Run the "
              "chapter again from the top (Run > Run All Cells), then your cell and this one.")
        return
    verdict(answer, expected, rel_tol=answers.tolerance(exercise), what=what)
    record = getattr(namespace.get("res"), "record", None)
    if callable(record):  # the shape of the answer, for the handout's "what you should see" (not the value)
        record(f"{SHAPE_PREFIX}{exercise}", answers.shape(expected))
