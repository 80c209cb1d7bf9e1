"""Paper §4 (chapters 05 and 06): what the checkpoints of a reward-model training run say. Figure 4a's median ranks per
category across checkpoints, Figure 5's rank changes of the Big Two nouns, held-out accuracy tables.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from rmnb.analysis.stats import rank_within
from rmnb.base.errors import RmnbError
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


# --- verdicts the chapter states -------------------------------------------------------------------------------

def chance_verdict(ci_low: float, ci_high: float, chance: float = 0.5) -> str:
    """Held-out accuracy against chance from its confidence interval: ``"above chance"`` when the whole interval
    lies above ``chance``, ``"below chance"`` when it lies below, else ``"not distinguishable from chance"``."""
    if ci_low > chance:
        return "above chance"
    if ci_high < chance:
        return "below chance"
    return "not distinguishable from chance"


MANIFEST_KEYS = ("plan", "consumed_order", "settings", "data")


def manifest_checks(first: dict, second: dict, keys=MANIFEST_KEYS) -> dict[str, bool]:
    """Per manifest entry (training plan, consumed pair order, settings, data fingerprints): equal in both runs?"""
    return {key: first[key] == second[key] for key in keys}


def identical_word(checks: dict[str, bool]) -> str:
    """``"identical"`` when every check of :func:`manifest_checks` holds, else ``"NOT identical"``."""
    return "identical" if all(checks.values()) else "NOT identical"


def same_strings_word(first: pd.DataFrame, second: pd.DataFrame) -> str:
    """``"the same"`` when two matched vocabularies hold the same set of strings (``response``), else
    ``"different"``."""
    return "the same" if set(first.response) == set(second.response) else "different"


def better_base(label1: str, rank1: float, label2: str, rank2: float) -> str:
    """Of two bases, the label of the one with the lower (better) median rank; ``"neither"`` on a tie or a
    missing rank."""
    return label1 if rank1 < rank2 else label2 if rank2 < rank1 else "neither"


def preferred_category(agency: float, communion: float) -> str:
    """Which category one model ranks better (lower median rank): ``"agency"``, ``"communion"`` or
    ``"neither category"`` (a tie or a missing rank)."""
    return "agency" if agency < communion else "communion" if communion < agency else "neither category"


def compare_at_step(med: pd.DataFrame, base_ids, step: int, labels: dict) -> pd.DataFrame:
    """The two bases at one checkpoint, from :func:`checkpoint_median_ranks` rows with a ``base`` column: one row
    per category (``Agency``, ``Communion``) with each base's median rank (a column per base id), ``better``
    (the label of the base that ranks the category better, or ``"neither"``) and ``gap`` (absolute difference)."""
    wide = med.pivot_table(index=["step", "category"], columns="base", values="median_rank", observed=True)
    b1, b2 = base_ids
    rows = {}
    for cat in ("Agency", "Communion"):
        r1, r2 = wide.loc[(step, cat), b1], wide.loc[(step, cat), b2]
        rows[cat] = {b1: r1, b2: r2, "better": better_base(labels[b1], r1, labels[b2], r2), "gap": abs(r2 - r1)}
    return pd.DataFrame.from_dict(rows, orient="index")


def split_verdict(agency_better: str, communion_better: str) -> str:
    """The sentence on whether two bases split the Big Two, from the labels that rank each category better
    (``"neither"`` for a tie)."""
    a, c = agency_better, communion_better
    if "neither" not in (a, c) and a != c:
        return (f"the two bases split the categories, {a} on agency and {c} on communion (in the paper the Llama "
                "RMs rank agency better and the Gemma RMs communion)")
    if a == c and a != "neither":
        return f"this is no split: {a} ranks both categories better"
    return "at least one category is tied between the bases"


def mover_summary(changes: pd.DataFrame, k: int = 10, n_named: int = 3) -> dict:
    """Figure 5 in words, from :func:`rank_changes`: among the :func:`top_movers`, the ``n_named`` biggest
    climbers (``top_up``) and fallers (``top_down``, biggest first; ``"none"`` if there are none), the number of
    climbers ``n_up`` and of agency nouns among them ``up_agency``; ``n_nouns`` = nouns ranked."""
    top = top_movers(changes, k)
    up, down = top[top.rank_change > 0], top[top.rank_change < 0]
    return {"n_nouns": len(changes), "top_up": ", ".join(up.word.head(n_named)) or "none",
            "up_agency": int((up.category == "Agency").sum()), "n_up": len(up),
            "top_down": ", ".join(down.word.tail(n_named)[::-1]) or "none"}


# The authors' per-checkpoint full-vocabulary scores behind the paper's Figures 5 and A6. Not released: the figure
# code reads them, but they are in neither the authors' repository nor rmnb's data registry. A reader who has them
# points chapter 05's ``authors_checkpoints_dir`` at the folder holding them.
AUTHORS_CHECKPOINT_FILES = {"Gemma": "greatest_ever_one_across_checkpoints_gemma.parquet",
                            "Llama": "greatest_ever_one_across_checkpoints_llama.parquet",
                            "Qwen": "greatest_ever_one_across_checkpoints_qwen.parquet"}


def authors_checkpoint_scores(folder) -> dict[str, pd.DataFrame]:
    """The authors' checkpoint scores found in ``folder`` (``{family: step, response, score}``; families whose file
    is absent are left out; ``None`` = no folder). Each file has ``token_decoded`` and one ``step-N`` column per
    checkpoint."""
    if folder is None:
        return {}
    out = {}
    for family, name in AUTHORS_CHECKPOINT_FILES.items():
        path = Path(folder).expanduser() / name
        if not path.exists():
            continue
        wide = pd.read_parquet(path)
        steps = {c: c.removeprefix("step-") for c in wide.columns if str(c).startswith("step-")}
        bad = [c for c, n in steps.items() if not n.isdigit()]
        if "token_decoded" not in wide.columns or not steps or bad:
            raise RmnbError(f"{path} is not in the layout of the authors' figure code (a token_decoded column and "
                            f"step-N columns; found {list(wide.columns)[:8]}). Fix: point authors_checkpoints_dir at "
                            "the authors' unmodified files.")
        long = wide.melt(id_vars="token_decoded", value_vars=list(steps), var_name="step", value_name="score")
        long["step"] = long.step.map(steps).astype(int)
        out[family] = long.rename(columns={"token_decoded": "response"})[["step", "response", "score"]]
    return out
