"""The implicit reward model between two language models (paper §3b): log-ratios, MWLR, Table 1, Figure 3 and
the metric-recovery score of Figure A3.

Two models A and B define, for a prompt x, next-token distributions p = A(.|x) and q = B(.|x). Moving from A to B
is what RLHF with reward ``r(y) = beta * log(q(y)/p(y)) + c(x)`` would do, so the log-ratio is an *implicit
reward* (paper §3b). Its exhaustive ranking is dominated by tail tokens where both probabilities are tiny; the
paper's fix is the **mixture-weighted log-ratio**

    MWLR(y) = 1/2 (p(y) + q(y)) (log q(y) - log p(y)),

positive = B-preferred (the paper: Llama), negative = A-preferred (Gemma). Summed over the vocabulary it equals
``1/2 [KL(q || p) - KL(p || q)]`` (:func:`mwlr_identity_gap` checks this).

All functions take natural-log probabilities (arrays or aligned Series) and never touch a model.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from rmnb.base.errors import RmnbError
from rmnb.base.labels import shown

# --- the metrics -----------------------------------------------------------------------------------------

def log_ratio(lp_a, lp_b):
    """Raw implicit reward A -> B: ``log q - log p`` (beta = 1, c(x) = 0); 0 where both are impossible."""
    lp_a, lp_b = np.asarray(lp_a, float), np.asarray(lp_b, float)
    with np.errstate(invalid="ignore"):
        out = lp_b - lp_a
    return np.where(np.isneginf(lp_a) & np.isneginf(lp_b), 0.0, out)


def floored_log_ratio(lp_a, lp_b, floor: float):
    """Log-ratio after flooring both log-probs at ``floor`` (tail tokens below it all score 0)."""
    return np.maximum(np.asarray(lp_b, float), floor) - np.maximum(np.asarray(lp_a, float), floor)


def mwlr(lp_a, lp_b):
    """Mixture-weighted log-ratio ``1/2 (p + q) (log q - log p)``; positive = B-preferred."""
    lp_a, lp_b = np.asarray(lp_a, float), np.asarray(lp_b, float)
    return 0.5 * (np.exp(lp_a) + np.exp(lp_b)) * log_ratio(lp_a, lp_b)


def kl(lp_p, lp_q) -> float:
    """KL(p || q) = sum p (log p - log q) for two full log-probability vectors."""
    lp_p, lp_q = np.asarray(lp_p, float), np.asarray(lp_q, float)
    p = np.exp(lp_p)
    with np.errstate(invalid="ignore"):
        terms = p * (lp_p - lp_q)
    return float(np.sum(np.where(p > 0, terms, 0.0)))


def mwlr_identity_gap(lp_a, lp_b) -> float:
    """``sum MWLR - 1/2 [KL(q || p) - KL(p || q)]``: zero (to rounding) for two full distributions."""
    return float(np.sum(mwlr(lp_a, lp_b)) - 0.5 * (kl(lp_b, lp_a) - kl(lp_a, lp_b)))


def candidate_metrics(floors=(-10.0, -15.0, -20.0)) -> dict[str, Callable]:
    """The implicit-reward candidates compared in Figure A3: the raw log-ratio, floored log-ratios, MWLR."""
    out: dict[str, Callable] = {"raw log-ratio": log_ratio}
    for f in floors:
        out[f"log-ratio floored at {f:g}"] = (lambda a, b, f=f: floored_log_ratio(a, b, f))
    out["MWLR"] = mwlr
    return out


# --- tokens shared by two vocabularies -------------------------------------------------------------------

def dedupe(decoded, logprobs) -> pd.Series:
    """One log-prob per decoded string: rows with a missing or empty string are dropped, and a string decoded
    from several token ids keeps its highest log-prob (the paper's Table 1 / Figure 3 rule)."""
    s = pd.Series(np.asarray(logprobs, float), index=pd.Index(list(decoded), dtype=object), name="logprob")
    s = s[s.index.notna() & (s.index != "")]
    s = s.sort_values(ascending=False, kind="stable")
    return s[~s.index.duplicated(keep="first")]


def shared_table(lp_a: pd.Series, lp_b: pd.Series) -> pd.DataFrame:
    """Decoded strings present in both (deduplicated) tables, with both log-probs, the mixture mass, the raw
    log-ratio and MWLR, sorted by MWLR (best for B first)."""
    common = lp_a.index.intersection(lp_b.index)
    frame = pd.DataFrame({"token": common, "logprob_a": lp_a.loc[common].to_numpy(),
                          "logprob_b": lp_b.loc[common].to_numpy()})
    frame["mass"] = 0.5 * (np.exp(frame.logprob_a) + np.exp(frame.logprob_b))
    frame["log_ratio"] = log_ratio(frame.logprob_a, frame.logprob_b)
    frame["mwlr"] = mwlr(frame.logprob_a, frame.logprob_b)
    frame["kind"] = frame.token.map(token_kind)
    return frame.sort_values("mwlr", ascending=False, kind="stable").reset_index(drop=True)



_SPECIAL = re.compile(r"^<[^<>\s]+>$|^\[[A-Z_]+\]$")


def token_kind(text: str) -> str:
    """``"special"`` (``<eos>``-like markers), ``"formatting"`` (no letter or digit: whitespace, Markdown ``**``,
    punctuation) or ``"word"``."""
    stripped = text.strip()
    if _SPECIAL.match(stripped):
        return "special"
    if not any(ch.isalnum() for ch in stripped):
        return "formatting"
    return "word"


def extremes(shared: pd.DataFrame, n: int = 15, score: str = "mwlr") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Table 1: the ``n`` best (B-preferred) and ``n`` worst (A-preferred) strings by ``score``, with ranks
    1..N over all shared strings, leading/trailing spaces shown as ``␣`` and formatting tokens flagged."""
    ordered = shared.sort_values(score, ascending=False, kind="stable").reset_index(drop=True)
    ordered["rank"] = np.arange(1, len(ordered) + 1)
    ordered["shown"] = ordered.token.map(shown)
    ordered["formatting"] = ordered.kind != "word"
    cols = ["rank", "shown", score, "formatting", "token"]
    return ordered.head(n)[cols].reset_index(drop=True), ordered.tail(n)[cols].reset_index(drop=True)


def best_word(shared: pd.DataFrame, end: str = "top", score: str = "mwlr") -> pd.Series:
    """The best (``end="top"``) or worst (``"bottom"``) string that is a word, not a formatting token."""
    words = shared[shared.kind == "word"].sort_values(score, ascending=(end == "bottom"), kind="stable")
    return words.iloc[0]


def variant_mask(tokens, word: str) -> np.ndarray:
    """Strings that are ``word`` up to case and surrounding whitespace (``strip().lower()``)."""
    return np.array([str(t).strip().lower() == word.lower() for t in tokens])


def word_scores(shared: pd.DataFrame, words, score: str = "mwlr") -> pd.DataFrame:
    """Per word: the mean ``score`` over its case/whitespace variants, the variants found, and the best rank of
    any variant among all shared strings (1 = most B-preferred)."""
    ranks = shared[score].rank(ascending=False, method="min").to_numpy()
    rows = []
    for word in words:
        mask = variant_mask(shared.token, word)
        rows.append(dict(word=word, score=float(shared.loc[mask, score].mean()) if mask.any() else np.nan,
                         n_variants=int(mask.sum()),
                         variants=", ".join(shown(t) for t in shared.token[mask]),
                         best_rank=float(ranks[mask].min()) if mask.any() else np.nan))
    return pd.DataFrame(rows)


def pair_word_mwlr(tables: dict[str, pd.Series], pairs, words=("Freedom", "Love")) -> pd.DataFrame:
    """Figure 3: for each (A, B) pair, MWLR of each word averaged over its variants, using only the strings
    shared by **all** models in ``tables`` (as the paper does over its 10 models). Columns: ``a, b``,
    ``<word>`` per word, ``gap`` (first word minus second), ``n_common``."""
    common = None
    for s in tables.values():
        common = s.index if common is None else common.intersection(s.index)
    rows = []
    for a, b in pairs:
        shared = shared_table(tables[a].loc[common], tables[b].loc[common])
        ws = word_scores(shared, words).set_index("word")
        row = dict(a=a, b=b, n_common=len(common))
        for w in words:
            row[w] = ws.loc[w, "score"]
            row[f"{w}_variants"] = ws.loc[w, "variants"]
        row["gap"] = row[words[0]] - row[words[1]]
        rows.append(row)
    return pd.DataFrame(rows)


# --- Figure A3: how well does a metric recover planted words? ---------------------------------------------

def recovery_scores(lp_base: np.ndarray, lp_boost: np.ndarray, targets, metrics: dict[str, Callable] | None = None,
                    k: int | None = None, prompt_ids=None) -> pd.DataFrame:
    """Rank the whole vocabulary by each metric (base -> boosted) and score how well the planted ``targets``
    (token ids) come out on top.

    ``lp_base``, ``lp_boost``: arrays ``[n_prompts, vocab]`` (or one prompt ``[vocab]``). Per metric and prompt:
    ``recall_at_k`` = share of the targets among the top ``k`` tokens (``k`` defaults to the number of targets,
    so it is also the precision) and ``median_rank`` of the targets (1 = top). Returns one row per
    (metric, prompt) with ``prompt_id``; :func:`summarise_recovery` averages over prompts.
    """
    metrics = metrics or candidate_metrics()
    base, boost = np.atleast_2d(np.asarray(lp_base, float)), np.atleast_2d(np.asarray(lp_boost, float))
    targets = np.unique(np.asarray(list(targets), dtype=np.int64))
    k = k or len(targets)
    prompt_ids = list(prompt_ids) if prompt_ids is not None else list(range(base.shape[0]))
    rows = []
    for name, fn in metrics.items():
        for i in range(base.shape[0]):
            score = np.asarray(fn(base[i], boost[i]), float)
            # rank 1 = highest score; ties share the worst rank, so a metric that scores many tokens equal (a
            # floor) gains nothing from the tie
            r = rankdata(-score, method="max")[targets]
            rows.append(dict(metric=name, prompt_id=prompt_ids[i], recall_at_k=float(np.mean(r <= k)),
                             median_rank=float(np.median(r)), mean_log10_rank=float(np.mean(np.log10(r)))))
    return pd.DataFrame(rows)


def summarise_recovery(per_prompt: pd.DataFrame) -> pd.DataFrame:
    """Mean recall@k, median of the per-prompt median ranks, per metric; best metric first."""
    out = per_prompt.groupby("metric", sort=False).agg(recall_at_k=("recall_at_k", "mean"),
                                                       median_rank=("median_rank", "median"),
                                                       mean_log10_rank=("mean_log10_rank", "mean")).reset_index()
    return out.sort_values(["recall_at_k", "mean_log10_rank"], ascending=[False, True], kind="stable") \
              .reset_index(drop=True)


# --- the chapter's model choices -------------------------------------------------------------------------

_PAPER_GEMMAS = ("google/gemma-2-2b-it", "google/gemma-2-9b-it", "google/gemma-2-27b-it")
_PAPER_LLAMAS = ("meta-llama/Llama-3.2-1B-Instruct", "meta-llama/Llama-3.2-3B-Instruct",
                 "meta-llama/Meta-Llama-3-8B-Instruct", "meta-llama/Llama-3.1-8B-Instruct",
                 "meta-llama/Meta-Llama-3-70B-Instruct", "meta-llama/Llama-3.1-70B-Instruct",
                 "meta-llama/Llama-3.3-70B-Instruct")

PRESETS = {
    "embedded": dict(a="gemma3-270m", b="smollm2-135m-instruct",
                     pairs=(("gemma3-270m", "smollm2-135m-instruct"), ("smollm2-135m-instruct", "gemma3-270m")),
                     boost="gemma3-270m"),
    # Figure 3's 21 pairs, ordered as the paper's plot: Llama version, then Llama size, then Gemma size, descending.
    "paper": dict(a="google/gemma-2-2b-it", b="meta-llama/Llama-3.2-3B-Instruct",
                  pairs=tuple((g, ll) for ll in reversed(_PAPER_LLAMAS) for g in reversed(_PAPER_GEMMAS)),
                  boost="google/gemma-2-2b"),
}


def parse_pairs(text: str) -> tuple[tuple[str, str], ...]:
    """``["A>B", "C>D"]`` (or ``"A>B,C>D"``) -> ((A, B), (C, D)); each item names model A (p) then model B (q)."""
    out = []
    for item in (text if isinstance(text, (list, tuple)) else str(text).split(",")):
        parts = [p.strip() for p in item.split(">")]
        if len(parts) != 2 or not all(parts) or parts[0] == parts[1]:
            raise RmnbError(f"Figure 3 pairs are written 'A>B' (two different model ids), separated by commas; "
                            f"{item!r} is not.")
        out.append((parts[0], parts[1]))
    return tuple(out)


def resolve_models(models: str, model_a=None, model_b=None, pairs=None, boost_base=None) -> dict:
    """The chapter's choices: a preset (``"embedded"`` or ``"paper"``) with optional overrides."""
    if models not in PRESETS:
        raise RmnbError(f"models must be one of {', '.join(PRESETS)}, not {models!r}.")
    out = dict(PRESETS[models])
    if model_a:
        out["a"] = model_a
    if model_b:
        out["b"] = model_b
    if pairs:
        out["pairs"] = parse_pairs(pairs)
    if boost_base:
        out["boost"] = boost_base
    if out["a"] == out["b"]:
        raise RmnbError("model_a and model_b must differ.")
    return out


# --- verdicts the chapter states -------------------------------------------------------------------------------

def mass_summary(shared: pd.DataFrame, n: int) -> dict:
    """Section 2 of chapter 04 in numbers: the mixture mass of the ``n`` top strings by the raw log-ratio
    (``raw_top_mass``, per string ``raw_top_median_mass``) and by MWLR (``mwlr_top_mass``), the median mass of
    all shared strings, ``mass_ratio`` = MWLR's top mass / the raw ratio's, and ``mass_verdict``."""
    top_raw, top_mwlr = shared.nlargest(n, "log_ratio"), shared.nlargest(n, "mwlr")
    ratio = float(top_mwlr.mass.sum() / max(top_raw.mass.sum(), 1e-300))
    return {"raw_top_mass": float(top_raw.mass.sum()), "mwlr_top_mass": float(top_mwlr.mass.sum()),
            "raw_top_median_mass": float(top_raw.mass.median()), "shared_median_mass": float(shared.mass.median()),
            "mass_ratio": ratio,
            "mass_verdict": "MWLR ranks answers the models might actually give" if ratio > 1
            else "here the raw log-ratio's favourites are not rarer than MWLR's"}


def same_word(token: str, reported: str) -> bool:
    """Whether ``token`` (stripped, any case) is the reported word."""
    return token.strip().lower() == reported.strip().lower()


def matches_word(token: str, reported: str) -> str:
    """``"matches"`` when ``token`` (stripped, any case) is the reported word, else ``"differs from"``."""
    return "matches" if same_word(token, reported) else "differs from"


def metric_key(metric: str) -> str:
    """A metric's name as a glue-key fragment: ``"log-ratio floored at -10"`` -> ``"log_ratio_floored_at__10"``."""
    return metric.lower().replace(" ", "_").replace("-", "_").replace(".", "")


def recovery_verdict(summary: pd.DataFrame, metric: str = "MWLR", baseline: str = "raw log-ratio") -> dict:
    """Figure A3 in words, from :func:`summarise_recovery` (best metric first): the best metric and its recall,
    ``metric``'s and ``baseline``'s recall and median rank, ``position`` ("2 of 5"), ``best`` (``metric`` is first
    and strictly ahead of the second: the paper's claim, as a check) and ``beats_all`` (the same in words)."""
    by_name = summary.set_index("metric")
    position = int(summary.index[summary.metric == metric][0]) + 1
    ahead = len(summary) == 1 or summary.recall_at_k.iloc[0] > summary.recall_at_k.iloc[1]
    return {"best_metric": summary.metric.iloc[0], "best_recall": float(summary.recall_at_k.iloc[0]),
            "recall": float(by_name.loc[metric, "recall_at_k"]),
            "median_rank": float(by_name.loc[metric, "median_rank"]),
            "baseline_recall": float(by_name.loc[baseline, "recall_at_k"]),
            "baseline_median_rank": float(by_name.loc[baseline, "median_rank"]),
            "position": f"{position} of {len(summary)}", "best": bool(position == 1 and ahead),
            "beats_all": "beats every other candidate" if position == 1 and ahead
            else "does not beat every other candidate"}


ENDS_NEGLIGIBLE = 0.01  # a word whose |MWLR| is below this share of the table's larger end barely moves the reward


def ends_comparison(shared: pd.DataFrame, words=("Freedom", "Love")) -> dict:
    """Table 1's two ends against the value words, on one pair's shared strings (:func:`shared_table`): the top
    (most B-preferred) and bottom strings with their MWLR and their rank among the preferring model's own most
    probable strings (``top_rank_in_b``, ``bottom_rank_in_a``; 1 = its most probable first string); per word its
    variant-averaged MWLR (``<word>_mwlr``) and ``<word>_ratio`` = |MWLR| over the larger end's |MWLR|; and
    ``verdict``, whether the words are negligible at that scale (every ratio below :data:`ENDS_NEGLIGIBLE`)."""
    ordered = shared.sort_values("mwlr", ascending=False, kind="stable").reset_index(drop=True)
    top, bottom = ordered.iloc[0], ordered.iloc[-1]
    scale = max(abs(top.mwlr), abs(bottom.mwlr))
    out = {"top": top.token, "top_mwlr": float(top.mwlr), "bottom": bottom.token, "bottom_mwlr": float(bottom.mwlr),
           "top_rank_in_b": int((shared.logprob_b > top.logprob_b).sum()) + 1,
           "bottom_rank_in_a": int((shared.logprob_a > bottom.logprob_a).sum()) + 1}
    scores = word_scores(shared, words).set_index("word")["score"]
    ratios = []
    for w in words:
        out[f"{w.lower()}_mwlr"] = float(scores[w])
        out[f"{w.lower()}_ratio"] = abs(float(scores[w])) / scale if scale > 0 else float("nan")
        ratios.append(out[f"{w.lower()}_ratio"])
    worst = max(ratios)
    if not np.isfinite(ratios).all():
        out["verdict"] = "a word has no variant among the shared strings, so the comparison is undefined"
    elif worst < ENDS_NEGLIGIBLE:
        out["verdict"] = (f"both words score under {ENDS_NEGLIGIBLE:.0%} of it, so the implicit reward between these "
                          "two models is dominated by the strings at its ends and these words barely register in it")
    else:
        out["verdict"] = (f"a word reaches {worst:.0%} of it, so the words are among the strings that make the "
                          "implicit reward between these two models")
    return out


def fig3_direction(fig3: pd.DataFrame, families: dict) -> dict:
    """Figure 3 in the paper's orientation: among :func:`pair_word_mwlr` rows whose A is a Gemma model and whose B
    is not (``families``: model id -> family), how often "Freedom" scores above "Love" (``wins`` of ``n``, pairs
    with an undefined word left out), ``checks`` (per such pair, whether "Freedom" scores above "Love", for
    ``findings.verdict``) and ``verdict``: ``"agrees with the paper"`` (every pair), ``"opposite to the paper"``
    (none), ``"mixed"``, or why there is nothing to compare; ``text`` says it in one line."""
    oriented = fig3[[families.get(a) == "Gemma" and families.get(b) != "Gemma" for a, b in zip(fig3.a, fig3.b)]]
    oriented = oriented.dropna(subset=["Freedom", "Love"])
    checks = tuple(bool(w) for w in oriented.Freedom > oriented.Love)
    n, wins = len(checks), sum(checks)
    if n == 0:
        return {"n": 0, "wins": 0, "checks": (), "verdict": "not comparable",
                "text": "no listed pair has a Gemma model as A, another family as B and both words shared"}
    verdict = "agrees with the paper" if wins == n else "opposite to the paper" if wins == 0 else "mixed"
    return {"n": n, "wins": wins, "checks": checks, "verdict": verdict,
            "text": f"Freedom above Love in {wins} of {n} pair{'s' if n > 1 else ''} with a Gemma model as A: {verdict}"}
