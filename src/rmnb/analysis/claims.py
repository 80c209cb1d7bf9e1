"""The paper's claims as a chapter checks them: one :class:`Claim` per headline result, with the paper's value, the
book's (a sentence with this run's numbers) and the checks that decide the verdict.

A chapter turns each claim into a key finding (``rmnb.book.findings.verdict(*claim.checks)``, then
``res.finding(...)``) and glues the verdict for its "Key result" box. The functions that build claims live with the
analysis they check (:mod:`rmnb.analysis.dictionary` for §2, :mod:`rmnb.analysis.search_report` for the FAccT token
search, :mod:`rmnb.analysis.greatest` for chapter 07); each check is ``True`` when the book agrees with the paper,
``False`` when it does not and ``None`` when this run could not make it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from rmnb.data import reported

P_FLOOR = 0.001  # p-values below this read "p < 0.001" in prose and "< 0.001" in the book's tables


@dataclass(frozen=True)
class Claim:
    """A headline claim: ``key`` (stable, for the results JSON and the glue ``<key>_verdict``), the ``claim`` in a
    few words, the ``paper``'s value and its ``source``, the ``book``'s value and the ``checks``."""

    key: str
    claim: str
    paper: str
    book: str
    checks: tuple = field(default_factory=tuple)
    source: str | None = None


def reported_claim(key: str, claim: str, book: str, checks, paper_key: str | None = None) -> Claim:
    """A :class:`Claim` whose paper value and source are :mod:`rmnb.data.reported`'s entry ``paper_key`` (default
    ``key``)."""
    paper_key = paper_key or key
    return Claim(key, claim, reported.value(paper_key), book, tuple(checks), reported.source(paper_key))


def p_text(p: float) -> str:
    """A p-value in prose: ``"p < 0.001"`` below :data:`P_FLOOR`, else ``"p = 0.012"`` (two significant digits,
    never in exponent notation); ``"p not computed"`` when missing."""
    if p is None or math.isnan(p):
        return "p not computed"
    return f"p < {P_FLOOR:g}" if p < P_FLOOR else f"p = {p:.2g}"  # .2g is fixed-point from 0.001 up


def significant(p: float, alpha: float = 0.05) -> bool | None:
    """``p < alpha``, or ``None`` when ``p`` is missing (a check this run could not make)."""
    if p is None or math.isnan(p):
        return None
    return bool(p < alpha)
