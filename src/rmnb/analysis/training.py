"""Paper §4 (chapter 05): what the checkpoints of a reward-model training run say. Figure 4a's median ranks per
category across checkpoints, Figure 5's rank changes of the Big Two nouns, held-out accuracy tables.
"""

from __future__ import annotations

import pandas as pd

from rmnb.analysis.stats import rank_within
from rmnb.inference.vocabulary import normalise_noun


def checkpoint_median_ranks(scores: pd.DataFrame, matched: pd.DataFrame) -> pd.DataFrame:
    """Figure 4a's statistic: rank the matched tokens within each checkpoint (1 = highest score, ties averaged;
    each case/space variant is its own row), then the median rank per category.

    ``scores``: ``step, token_id, score``; ``matched``: ``token_id, category`` (:func:`rmnb.inference.vocabulary.
    matched_vocabulary`). Returns ``step, category, median_rank, n_tokens``.
    """
    joined = scores.merge(matched[["token_id", "category"]], on="token_id", how="inner")
    joined["rank"] = rank_within(joined, ["step"])
    out = joined.groupby(["step", "category"], observed=True)["rank"].agg(median_rank="median", n_tokens="size")
    return out.reset_index()


def noun_ranks(scores: pd.DataFrame, nouns: pd.DataFrame) -> pd.DataFrame:
    """Figure 5's ranks: tokens normalised (ASCII, strip, lowercase) and joined to the Big Two nouns; the scores
    of a noun's variants averaged per checkpoint; nouns ranked within each checkpoint.
    Returns ``step, word, category, score, n_variants, rank``."""
    joined = scores.assign(word=scores.response.map(normalise_noun)).merge(
        nouns.rename(columns={"term": "word"})[["word", "category"]], on="word", how="inner")
    avg = joined.groupby(["step", "word", "category"], observed=True).score.agg(score="mean", n_variants="size")
    avg = avg.reset_index()
    avg["rank"] = rank_within(avg, ["step"])
    return avg


def rank_changes(ranks: pd.DataFrame, first: int, last: int) -> pd.DataFrame:
    """``rank_change = rank(first checkpoint) - rank(last checkpoint)`` per noun (positive = preferred late in
    training), sorted from most improved to most worsened."""
    wide = ranks.pivot_table(index=["word", "category"], columns="step", values="rank", observed=True)
    out = pd.DataFrame({"rank_first": wide[first], "rank_last": wide[last]}).reset_index()
    out["rank_change"] = out.rank_first - out.rank_last
    return out.sort_values(["rank_change", "word"], ascending=[False, True]).reset_index(drop=True)


def top_movers(changes: pd.DataFrame, k: int = 10) -> pd.DataFrame:
    """The ``k`` most improved and ``k`` most worsened nouns (Figure 5's bars)."""
    k = min(k, len(changes) // 2)
    return pd.concat([changes.head(k), changes.tail(k)]).drop_duplicates("word").reset_index(drop=True)


def heldout_table(runs: dict, labels: dict | None = None) -> pd.DataFrame:
    """Held-out accuracy of each run at step 0 (untrained head) and at the end, one row per (base, when)."""
    rows = []
    for base, run in runs.items():
        for when, key in (("step 0 (untrained head)", "step0"), ("final", "final")):
            rows.append({"base": base, "base_label": (labels or {}).get(base, base), "when": when,
                         "step": 0 if key == "step0" else run.manifest["plan"]["steps"], **run.heldout[key]})
    return pd.DataFrame(rows)
