"""Checks a student runs after writing an exercise's code (the ``check`` cells of the chapters).

``check(answer, expected)`` compares the student's ``answer`` with the value the chapter computed (usually one it
glued: ``res.values["name"]``) and says how far off it is; it never prints the expected value unless asked
(``reveal=True``), so the student edition stays free of answers.
"""

from __future__ import annotations

import math
from numbers import Integral, Real

ZERO_TOL = 1e-9  # how far from an expected value of exactly zero an answer may be


def distance(answer, expected) -> float:
    """Relative distance between two numbers (0 = equal), or ``inf`` when ``answer`` is not a number."""
    if isinstance(answer, bool) or not isinstance(answer, Real):
        return math.inf
    answer, expected = float(answer), float(expected)
    if math.isnan(expected):
        return 0.0 if math.isnan(answer) else math.inf
    return abs(answer - expected) / max(abs(expected), 1e-12)


def check(answer, expected, *, rel_tol: float = 0.01, what: str = "your answer", reveal: bool = False) -> None:
    """Print whether ``answer`` is within ``rel_tol`` (relative) of ``expected``, and how far off it is."""
    verdict(answer, expected, rel_tol=rel_tol, what=what, reveal=reveal)


def _is_count(value) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool)


def _undefined(value) -> bool:
    return value is None or (isinstance(value, Real) and not isinstance(value, bool) and math.isnan(float(value)))


def verdict(answer, expected, *, rel_tol: float = 0.01, what: str = "your answer", reveal: bool = False) -> bool:
    """:func:`check`, returning whether the answer is within the tolerance.

    A whole number (a count) must match exactly and the message says by how many it is off; a string (a word, a
    model's name) must match exactly; any other number must be within ``rel_tol`` of ``expected``, relatively."""
    if answer is None:
        print(f"{what}: not computed yet. Write your code in the cell above (it should set `answer`) and run it.")
        return False
    if _undefined(expected):
        print(f"{what}: the chapter has no value to compare with in this run (its settings leave it undefined; "
              "the solution says why).")
        return False
    if isinstance(expected, str):
        ok = isinstance(answer, str) and answer.strip() == expected.strip()
        print(f"{what}: correct." if ok else f"{what}: {answer!r} is not the chapter's answer.")
    elif _is_count(expected):
        if not isinstance(answer, Real) or isinstance(answer, bool) or float(answer) != int(float(answer)):
            print(f"{what}: {answer!r} is not a whole number; the answer is a count.")
            return False
        off = int(float(answer)) - int(expected)
        ok = off == 0
        print(f"{what}: correct." if ok else f"{what}: off by {abs(off)} ({'too high' if off > 0 else 'too low'}).")
    else:
        off = distance(answer, expected)
        if off == math.inf:
            print(f"{what}: {answer!r} is not a number.")
            return False
        side = "too high" if float(answer) > float(expected) else "too low"
        if float(expected) == 0:  # no relative distance from zero: an absolute one
            ok = abs(float(answer)) <= ZERO_TOL
            print(f"{what}: correct." if ok else f"{what}: off by {abs(float(answer)):.3g} ({side}).")
        elif off <= rel_tol:
            ok = True
            print(f"{what}: correct (within {off:.2%} of the chapter's value).")
        else:
            ok = False
            print(f"{what}: off by {off:.1%} ({side}); the tolerance is {rel_tol:.0%}.")
    if reveal:
        print(f"the chapter's value: {expected!r}")
    return ok
