"""The paper's top-k statistic: how many Big Two nouns are among each RM's top-10 tokens, averaged per family.

The paper reports, per base family, the mean number of communion and agency words in the RMs' top 10 (Gemma:
5 communion, 0 agency; Llama: 3.67 communion, 2.33 agency; ``rmnb.data.reported`` ``topk_gemma``/``topk_llama``).
The likely source is the FAccT study's Table A7 (each RM's top tokens for "What, in one word, is the greatest
thing ever?" over the vocabulary shared by all ten RMs; :func:`rmnb.data.reported_facct.table_a7`). The count
here: each of an RM's top ``k`` tokens, stripped of spaces and lower-cased, is looked up in the 263 Big Two nouns;
case and space variants count separately (" LOVE", "Love" and " love" are three communion tokens), as they are
separate rows of the table.
"""

from __future__ import annotations

import re

import pandas as pd

from rmnb.analysis.claims import Claim
from rmnb.data import reported
from rmnb.data.lexicons import big_two_nouns
from rmnb.data.reported_facct import table_a7
from rmnb.models.registry import PAPER_RMS

CATEGORIES = ("Communion", "Agency")


def top_k_counts(table: pd.DataFrame, lexicon: pd.DataFrame, k: int = 10) -> pd.DataFrame:
    """Per RM (one column of ``table``, rank 1 first): ``model, family, Communion, Agency, tokens`` = how many
    of its top ``k`` tokens are nouns of each category (``lexicon``: ``term, category``), and those tokens."""
    lookup = dict(zip(lexicon.term.str.strip().str.lower(), lexicon.category))
    family = {spec.nickname: spec.family for spec in PAPER_RMS}
    rows = []
    for model in table.columns:
        top = [str(t) for t in table[model].iloc[:k]]
        cats = [lookup.get(t.strip().lower()) for t in top]
        row = dict(model=model, family=family.get(model, "Other"))
        row.update({c: sum(x == c for x in cats) for c in CATEGORIES})
        row["tokens"] = ", ".join(f"{t!r}={c or '-'}" for t, c in zip(top, cats))
        rows.append(row)
    return pd.DataFrame(rows)


def family_means(counts: pd.DataFrame) -> pd.DataFrame:
    """Mean count per (family, category) over the family's RMs: ``family, category, n_rms, mean``."""
    long = counts.melt(id_vars=["model", "family"], value_vars=list(CATEGORIES), var_name="category",
                       value_name="count")
    out = long.groupby(["family", "category"], sort=False).agg(n_rms=("model", "size"), mean=("count", "mean"))
    return out.reset_index()


def paper_means() -> pd.DataFrame:
    """The four published means as ``family, category, paper, decimals`` (parsed from ``reported``)."""
    rows = []
    for family, key in (("Gemma", "topk_gemma"), ("Llama", "topk_llama")):
        text = reported.value(key)
        for category in CATEGORIES:
            number = re.search(rf"([\d.]+) {category.lower()}", text).group(1)
            decimals = len(number.split(".")[1]) if "." in number else 0
            rows.append(dict(family=family, category=category, paper=float(number), decimals=decimals))
    return pd.DataFrame(rows)


def compare_with_paper(table: pd.DataFrame | None = None, lexicon: pd.DataFrame | None = None,
                       k: int = 10) -> pd.DataFrame:
    """Tidy comparison of the book's family means with the paper's four: ``family, category, n_rms, book, paper,
    reproduced`` (``reproduced``: the book's mean rounds to the paper's number at the paper's printed precision).
    Defaults: the released Table A7 and the 263 Big Two nouns."""
    table = table_a7() if table is None else table
    lexicon = big_two_nouns() if lexicon is None else lexicon
    book = family_means(top_k_counts(table, lexicon, k)).rename(columns={"mean": "book"})
    out = paper_means().merge(book, on=["family", "category"], how="left")
    out["reproduced"] = [round(b, d) == round(p, d) for b, p, d in zip(out.book, out.paper, out.decimals)]
    return out[["family", "category", "n_rms", "book", "paper", "reproduced"]]


def mismatches(comparison: pd.DataFrame) -> str:
    """The published means that ``comparison`` (:func:`compare_with_paper`) does not reproduce, as text:
    ``"Llama agency: 1.17 here, 2.33 in the paper"``, joined with "; " ("none" when all four are reproduced)."""
    rows = comparison[~comparison.reproduced]
    return "; ".join(f"{r.family} {r.category.lower()}: {r.book:.2f} here, {r.paper:g} in the paper"
                     for r in rows.itertuples()) or "none"


def noun_top_k(ranks: pd.DataFrame, k: int = 10, framing: str = "positive") -> pd.DataFrame:
    """A different quantity from the paper's: per RM and ``framing`` prompt, how many of the ``k`` best-ranked of
    the lexicon's nouns (``ranks``: item ranks with ``family, model, prompt_id, framing, category, rank``) fall in
    each category, averaged over prompts and then over the RMs of a family. Rows: family; columns: category.
    Since every one of the top ``k`` is a noun of some category, the counts of a row add up to ``k`` (ties at the
    cut aside)."""
    top = ranks[(ranks.framing == framing) & (ranks["rank"] <= k)]
    per_prompt = top.groupby(["family", "model", "prompt_id", "category"], observed=True).size()
    per_model = per_prompt.unstack("category", fill_value=0).groupby(["family", "model"]).mean()
    return per_model.groupby("family").mean()


def claim(comparison: pd.DataFrame) -> Claim:
    """The paper's top-10 statistic as a claim (:mod:`rmnb.analysis.claims`): the book's four family means from
    :func:`compare_with_paper`, one check per mean (reproduced at the paper's printed precision)."""
    paper = "; ".join(f"{fam} RMs: {reported.value(key)}" for fam, key in (("Gemma", "topk_gemma"),
                                                                           ("Llama", "topk_llama")))
    book = "; ".join(f"{fam} RMs: " + ", ".join(f"{r.book:.2f} {r.category.lower()}"
                                                 + ("" if r.reproduced else " (not reproduced)")
                                                 for r in rows.itertuples())
                     for fam, rows in comparison.groupby("family", sort=False))
    return Claim("big2_topk", "Big Two words among the RMs' top-10 tokens (FAccT Table A7)", paper, book,
                 tuple(bool(r) for r in comparison.reproduced), reported.source("topk_gemma"))
