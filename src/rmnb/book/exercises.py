"""Checks a student runs after writing an exercise's code (the ``check`` cells of the chapters).

``check(answer, expected)`` compares the student's ``answer`` with the value the chapter computed and says how far
off it is; it never prints the expected value unless asked (``reveal=True``), so the student edition stays free of
answers.
"""

from __future__ import annotations

import math
from numbers import Real


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


def verdict(answer, expected, *, rel_tol: float = 0.01, what: str = "your answer", reveal: bool = False) -> bool:
    """:func:`check`, returning whether the answer is within the tolerance."""
    if answer is None:
        print(f"{what}: not computed yet. Write your code in the cell above (it should set `answer`) and run it.")
        return False
    off = distance(answer, expected)
    if off == math.inf:
        print(f"{what}: {answer!r} is not a number.")
        return False
    ok = off <= rel_tol
    if ok:
        print(f"{what}: correct (within {off:.2%} of the chapter's value).")
    else:
        side = "too high" if float(answer) > float(expected) else "too low"
        print(f"{what}: off by {off:.1%} ({side}); the tolerance is {rel_tol:.0%}.")
    if reveal:
        print(f"the chapter's value: {expected!r}")
    return ok
