"""Tables for readers: a DataFrame shown as a real Markdown table, never as a raw DataFrame.

``tables.show(df)`` is a chapter's last expression (or ``display(tables.show(df))``). It renders every cell in full
(no truncation), with no index column (a meaningful index becomes ordinary columns), readable headers (underscores
become spaces, or the ``labels`` given), whole numbers as integers (a rank of ``5.0`` shows as ``5``), p-values as
``< 0.001`` or three significant digits, other floats with ``decimals`` places and never in exponent notation, and a
dash for a value that is not set (``None``, ``NaN``, ``NA``, empty). Numeric columns are right-aligned; the book's
stylesheet (``book/_static/rmnb.css``) keeps right-aligned cells on one line, so a number never wraps.

The output is Markdown (``text/markdown``): a GitHub-flavoured table, which JupyterLab and the book both render.
With ``caption`` (and ``name``), a chapter executed by rmnb for the book wraps it in a MyST ``{table}`` directive,
so it is numbered ("Table 5.1") and ``{numref}`` can point at it; run in Jupyter, the caption is a bold line above
the table.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from rmnb.analysis.claims import P_FLOOR  # p-values below this show as "< 0.001" (the prose's threshold too)

DASH = "—"                 # a value that is not set
GROUPED_FROM = 10_000      # integers from this size on get thousands separators (1,652 stays 1652)
_P_NAME = re.compile(r"^p$|^p[_ -]|[_ ]p$|^p_?val|p-value|p value", re.IGNORECASE)
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>|$~&#!])")


def is_missing(value) -> bool:
    """``None``, ``NaN``, ``pd.NA``, ``NaT`` and the empty string: the values a table shows as a dash."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # a list or array: set
        return False


def format_p(p) -> str:
    """A p-value for a reader: ``"< 0.001"`` below :data:`P_FLOOR`, else three significant digits (``0.0123``,
    ``0.500``); a dash when not set."""
    if is_missing(p):
        return DASH
    p = float(p)
    return f"< {P_FLOOR:g}" if p < P_FLOOR else f"{p:#.3g}"  # from 0.001 up, never in exponent notation


def format_int(value) -> str:
    """A whole number: ``5``, ``1652``, ``13,258`` (separators from :data:`GROUPED_FROM`)."""
    value = int(round(float(value)))
    return f"{value:,}" if abs(value) >= GROUPED_FROM else str(value)


def format_float(value, decimals: int = 2) -> str:
    """A float with ``decimals`` places (``-0.42``); a value too small for them keeps two significant digits
    (``0.00034``, so a small value never shows as ``0.00`` or ``-0.00``), never exponent notation; ``inf`` as
    ``∞``."""
    value = float(value)
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    if value != 0 and abs(value) < 0.5 * 10 ** -decimals:
        return np.format_float_positional(value, precision=2, unique=False, fractional=False, trim="k")
    return f"{value:,.{decimals}f}" if abs(value) >= GROUPED_FROM else f"{value:.{decimals}f}"


def _whole(values: pd.Series) -> bool:
    numbers = pd.to_numeric(values, errors="coerce").dropna()
    return len(numbers) > 0 and bool(np.all(np.isfinite(numbers)) and np.all(numbers == np.round(numbers)))


def column_kind(name, values: pd.Series, p_columns=()) -> str:
    """How a column is shown: ``"p"``, ``"int"``, ``"float"``, ``"bool"`` or ``"text"``."""
    present = values[~values.map(is_missing)]
    if name in p_columns or (_P_NAME.search(str(name)) and pd.api.types.is_numeric_dtype(present.infer_objects())
                             and len(present)):
        return "p"
    if len(present) and all(isinstance(v, (bool, np.bool_)) for v in present):
        return "bool"
    if len(present) and all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
                            for v in present):
        return "int" if _whole(present) else "float"
    return "text"


def format_cell(value, kind: str, decimals: int = 2) -> str:
    """One cell as text, by column kind (:func:`column_kind`)."""
    if is_missing(value):
        return DASH
    if kind == "p":
        return format_p(value)
    if kind == "int":
        return format_int(value)
    if kind == "float":
        return format_float(value, decimals)
    if kind == "bool":
        return "yes" if value else "no"
    if isinstance(value, (list, tuple, set, np.ndarray)):
        return ", ".join(DASH if is_missing(v) else str(v) for v in value)
    return str(value)


def header(name, labels: dict | None = None) -> str:
    """A column header for readers: ``labels[name]`` if given; a tuple (MultiIndex) joined with " · "; otherwise
    the name with underscores as spaces."""
    if labels and name in labels:
        return str(labels[name])
    if isinstance(name, tuple):
        return " · ".join(header(part) for part in name if not is_missing(part) and str(part))
    return str(name).replace("_", " ")


def escape_markdown(text: str) -> str:
    """Backslash-escape the characters Markdown or MyST would read as markup (and ``$``, which starts math), and
    turn line breaks into spaces: the cell shows exactly ``text``."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", str(text)).replace("\r", " ").replace("\n", " ").strip()


@dataclass
class Table:
    """A formatted table: ``frame`` (strings, readable headers), ``kinds`` (per column), ``markdown`` (what the
    book and Jupyter render)."""

    frame: pd.DataFrame
    kinds: list[str]
    markdown: str

    def _repr_markdown_(self) -> str:
        return self.markdown

    def __repr__(self) -> str:
        return self.frame.to_string(index=False)


def _with_index(df: pd.DataFrame, index: bool | None) -> pd.DataFrame:
    keep = index if index is not None else not (isinstance(df.index, pd.RangeIndex) and df.index.name is None)
    if not keep:
        return df.reset_index(drop=True)
    names = [n if n is not None else ("" if df.index.nlevels == 1 else f"level {i}")
             for i, n in enumerate(df.index.names)]
    out = df.copy()
    out.index = out.index.set_names(names)
    return out.reset_index()


def markdown_table(headers: list[str], rows: list[list[str]], right: list[bool] | None = None) -> str:
    """A GitHub-flavoured Markdown table of already formatted text (escaped here); ``right`` marks right-aligned
    (numeric) columns."""
    right = right or [False] * len(headers)
    lines = ["| " + " | ".join(escape_markdown(h) for h in headers) + " |",
             "|" + "|".join("---:" if r else "---" for r in right) + "|"]
    lines += ["| " + " | ".join(escape_markdown(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def show(df: pd.DataFrame, *, labels: dict | None = None, p: tuple | list = (), decimals: int | dict = 2,
         index: bool | None = None, caption: str | None = None, name: str | None = None) -> Table:
    """``df`` as a table for readers (see the module docstring).

    ``labels``: column -> header; ``p``: columns holding p-values (names such as ``p``, ``p_fdr``, ``welch_p``
    are found without it); ``decimals``: places for floats, one number or ``{column: places}`` (default 2);
    ``index``: keep the index as columns (default: only a named or non-default index); ``caption`` / ``name``: a
    numbered table in the book (``name`` is its label for ``{numref}``)."""
    if not isinstance(df, pd.DataFrame):
        df = pd.DataFrame(df)
    frame = _with_index(df, index)
    columns = list(frame.columns)
    kinds = [column_kind(c, frame.iloc[:, i], p) for i, c in enumerate(columns)]
    places = [decimals.get(c, 2) if isinstance(decimals, dict) else decimals for c in columns]
    cells = [[format_cell(v, kinds[j], places[j]) for j, v in enumerate(row)]
             for row in frame.itertuples(index=False, name=None)]
    headers = [header(c, labels) for c in columns]
    right = [k in ("p", "int", "float") for k in kinds]
    text = markdown_table(headers, cells, right)
    if caption:
        text = _captioned(text, caption, name)
    shown = pd.DataFrame(cells, columns=headers) if cells else pd.DataFrame(columns=headers)
    return Table(frame=shown, kinds=kinds, markdown=text)


def _captioned(table: str, caption: str, name: str | None) -> str:
    """In a chapter rmnb executes for the book (``RMNB_CHAPTER`` set), a numbered MyST ``{table}``; elsewhere
    (Jupyter) a bold caption line above the table."""
    if os.environ.get("RMNB_CHAPTER"):
        options = f":name: {name}\n" if name else ""
        return f":::{{table}} {caption}\n{options}:align: left\n\n{table}\n:::"
    return f"**{caption}**\n\n{table}"
