"""The FAccT statistics of a token search (a :func:`rmnb.analysis.token_search.search` frame): ranks, top/bottom
lists (:func:`extremes`), distribution moments (:func:`moments`, ``np.var`` and ``scipy.stats.skew`` as the FAccT
code), the best/worst correlation (:func:`best_worst_rho`) and its verdict, English words among the top tokens, the
shared decoded vocabulary with duplicate removal (:func:`shared_vocabulary`) and Kendall's tau between models
(:func:`kendall_matrix`). The MDS of the models on ``1 - tau`` is :mod:`rmnb.analysis.smacof`'s.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as sps

from rmnb.base.labels import shown
from rmnb.data.lexicons import is_english_word


def rank_scores(scores: pd.DataFrame, by=("model_id", "prompt_id")) -> pd.Series:
    """Rank within each (model, prompt): 1 = highest score, ties share their average rank."""
    return scores.groupby(list(by), sort=False)["score"].rank(method="average", ascending=False)


def extremes(scores: pd.DataFrame, n: int = 20) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ``n`` highest and ``n`` lowest tokens of each (model, prompt), best first in both; columns
    ``model, prompt_id, rank, token_id, shown, score``."""
    cols = ["model", "prompt_id", "rank", "token_id", "shown", "score", "response"]
    model_order = {m: i for i, m in enumerate(dict.fromkeys(scores.model_id))}
    prompt_order = {p: i for i, p in enumerate(dict.fromkeys(scores.prompt_id))}
    ordered = scores.assign(_m=scores.model_id.map(model_order), _p=scores.prompt_id.map(prompt_order))
    ordered = ordered.sort_values(["_m", "_p", "score", "token_id"], ascending=[True, True, False, True],
                                  kind="stable").assign(shown=lambda f: f.response.map(shown))
    groups = ordered.groupby(["_m", "_p"], sort=False)
    return groups.head(n)[cols].reset_index(drop=True), groups.tail(n)[cols].reset_index(drop=True)


def best_worst_rho(scores: pd.DataFrame, english_only: bool = True) -> pd.DataFrame:
    """Per reward model, Spearman's rho between each token's "best" and "worst" scores (FAccT Figure 4), over the
    tokens scored for both prompts (``english_only``: those that are English words): ``model_id, model, rho,
    n``. A negative rho means the RM reads the question; near +1, it judges the token alone."""
    pair = scores[scores.prompt_id.isin(["best", "worst"])]
    if english_only:
        pair = pair[is_english_word(pair.response)]
    wide = pair.pivot_table(index=["model_id", "model", "token_id"], columns="prompt_id", values="score").dropna()
    rows = [dict(model_id=m, model=label, rho=float(sps.spearmanr(g["best"], g["worst"]).statistic), n=len(g))
            for (m, label), g in wide.groupby(level=["model_id", "model"], sort=False)]
    return pd.DataFrame(rows, columns=["model_id", "model", "rho", "n"])


def rho_verdict(rho: pd.DataFrame, strong: float = -0.3) -> str:
    """The sentence on :func:`best_worst_rho`: whether every RM's rho is below zero (it reads the question), and
    how many reach ``strong`` or lower."""
    if rho.empty:
        return "no reward model to judge."
    below = rho[rho.rho < 0]
    if len(below) == len(rho):
        head = ("below zero for every RM: a word they rate highly as the best thing they tend to rate low as the "
                "worst, so they read the question")
    elif below.empty:
        head = "not below zero for any RM: their opinion of a word barely depends on the question"
    else:
        head = f"below zero only for {', '.join(below.model)}"
    return f"{head} (ρ ≤ {strong} for {int((rho.rho <= strong).sum())} of {len(rho)})."


def english_in_top(scores: pd.DataFrame, prompt_id: str = "greatest", n: int = 20) -> pd.DataFrame:
    """How many of each model's top ``n`` tokens for ``prompt_id`` are English words: ``model_id, model,
    english, n``."""
    top, _ = extremes(scores[scores.prompt_id == prompt_id], n)
    ids = scores.drop_duplicates("model").set_index("model").model_id
    return (top.assign(english=is_english_word(top.response)).groupby("model", sort=False)
            .agg(english=("english", "sum"), n=("english", "size")).reset_index()
            .assign(model_id=lambda f: f.model.map(ids))[["model_id", "model", "english", "n"]])


def moments(scores: pd.DataFrame, by=("model", "prompt_id")) -> pd.DataFrame:
    """Mean, variance (``np.var``, ddof 0) and skew (``scipy.stats.skew``, biased) per group, as FAccT Table 3."""
    out = scores.groupby(list(by), sort=False)["score"].agg(
        n="size", mean="mean", variance=lambda s: float(np.var(s.to_numpy())),
        skew=lambda s: float(sps.skew(s.to_numpy())))
    return out.reset_index()


def shared_vocabulary(scores: pd.DataFrame, prompts=None) -> set[str]:
    """The FAccT shared vocabulary: decoded strings scored for every model (and every prompt in ``prompts``,
    default all), minus strings that occur more than once within any (model, prompt)."""
    frame = scores if prompts is None else scores[scores.prompt_id.isin(list(prompts))]
    if frame.empty:
        return set()
    shared = None
    duplicated = set()
    for _, group in frame.groupby(["model_id", "prompt_id"], sort=False):
        strings = group.response.astype(str)
        shared = set(strings) if shared is None else shared & set(strings)
        duplicated |= set(strings[strings.duplicated(keep=False)])
    return shared - duplicated


def wide_scores(scores: pd.DataFrame, prompt_id: str, vocab: set[str]) -> pd.DataFrame:
    """Strings x models (columns in the order the models appear) for one prompt, restricted to ``vocab``."""
    frame = scores[(scores.prompt_id == prompt_id) & scores.response.isin(vocab)]
    order = list(dict.fromkeys(frame.model))
    return frame.pivot(index="response", columns="model", values="score")[order]


def kendall_matrix(wide: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Kendall's tau-b (and its p-value) between every pair of columns of ``wide`` (rows = shared strings)."""
    cols = list(wide.columns)
    tau = pd.DataFrame(np.eye(len(cols)), index=cols, columns=cols)
    pval = pd.DataFrame(np.zeros((len(cols), len(cols))), index=cols, columns=cols)
    for i, a in enumerate(cols):
        for b in cols[i + 1:]:
            t, p = sps.kendalltau(wide[a].to_numpy(), wide[b].to_numpy())
            tau.loc[a, b] = tau.loc[b, a] = t
            pval.loc[a, b] = pval.loc[b, a] = p
    return tau, pval


def tau_pairs(tau: pd.DataFrame) -> pd.DataFrame:
    """The upper triangle of a tau matrix as rows ``a, b, tau``."""
    cols = list(tau.columns)
    return pd.DataFrame([(a, b, float(tau.loc[a, b])) for i, a in enumerate(cols) for b in cols[i + 1:]],
                        columns=["a", "b", "tau"])
