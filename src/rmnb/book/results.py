"""Glue a chapter's values into the book (myst-nb ``glue``) and into a machine-readable JSON file.

Every value a chapter glues is also written to ``<results dir>/<chapter stem>.json`` (name -> value). The
runner sets ``RMNB_RESULTS_DIR`` and ``RMNB_CHAPTER``; run by hand, the defaults are ``_build/results`` and
the name passed in.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np

from rmnb.base.paths import repo_root


def _plain(value):
    if isinstance(value, (np.generic,)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


class Results:
    """``res = Results("01_big_two"); res.glue("three_way_t", t)`` glues and records one value."""

    def __init__(self, chapter: str | None = None):
        self.chapter = os.environ.get("RMNB_CHAPTER") or chapter or "chapter"
        folder = Path(os.environ.get("RMNB_RESULTS_DIR") or repo_root() / "_build" / "results")
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / f"{self.chapter}.json"
        self.values: dict = {}
        self.figures: dict = {}  # name -> chart, for notebooks without Jupyter Book (the student edition)
        self.path.write_text("{}\n")

    def glue(self, name: str, value, display: bool = False):
        """Glue ``value`` under ``name`` (for ``{glue:text}`` in prose) and record it in the JSON file.

        A non-finite float is glued as itself (so a number format such as ``:.2f`` still renders, as ``nan``) and
        recorded as ``null`` in the JSON file."""
        from myst_nb import glue

        shown = value.item() if isinstance(value, np.generic) else value
        glue(name, shown, display=display)
        self.record(name, value)
        return shown

    def record(self, name: str, value):
        """Record a value in the JSON file only (tables and lists too large for prose)."""
        self.values[name] = _plain(value)
        self.path.write_text(json.dumps(self.values, indent=1, sort_keys=True) + "\n")

    def finding(self, key: str, *, claim: str, paper: str, book: str, verdict: str, source: str | None = None) -> None:
        """Record a key finding for the landing page's table (:mod:`rmnb.book.findings`): the ``claim``, the
        ``paper``'s value, the ``book``'s (text with the numbers this run computed), the ``verdict``
        (``findings.verdict(...)`` of checks a tested function made) and the paper value's ``source``. Stored, in
        order, under ``"findings"`` in the JSON file; recording a key again replaces it. Returns nothing, so a cell
        that ends with it shows nothing."""
        from rmnb.book.findings import check_finding

        entry = check_finding(key, claim=claim, paper=paper, book=book, verdict=verdict, source=source)
        found = list(self.values.get("findings", []))
        keys = [f["key"] for f in found]
        if key in keys:
            found[keys.index(key)] = entry
        else:
            found.append(entry)
        self.record("findings", found)

    def figure(self, name: str, chart) -> None:
        """Glue a chart for a numbered ``{glue:figure}`` (shown only there) and save its Vega-Lite spec next to
        the results."""
        from myst_nb import glue

        glue(name, chart, display=False)
        self.figures[name] = chart
        spec_dir = self.path.parent / "figures"
        spec_dir.mkdir(exist_ok=True)
        (spec_dir / f"{name}.vl.json").write_text(chart.to_json())
