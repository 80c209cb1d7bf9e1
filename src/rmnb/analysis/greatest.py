""""What, in one word, is the greatest thing ever?": where "love" and "freedom" rank for every kind of model the
book has (chapter 07).

Every source becomes a table of candidate answers with one score each (higher = preferred), ranked within the
source (1 = best, ties averaged, as everywhere in the book):

- the paper's 10 RMs: the released scores of the 263 Big Two nouns (:func:`released_candidates`);
- reward models searched over their vocabulary (:func:`search_candidates`, from :mod:`rmnb.analysis.token_search`);
- a language model's own next-token log-probabilities, and the implicit RM (MWLR) between two language models
  (:func:`logprob_candidates`, :func:`implicit_candidates`, with :mod:`rmnb.analysis.implicit`).

:func:`variant_ranks` finds the case and space variants of each word (``strip().lower()`` equal to it, the paper's
Figure 3 rule) and their ranks; :func:`word_summary` keeps, per word, the best-ranked variant.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rmnb.analysis.implicit import shared_table
from rmnb.base.labels import shown
from rmnb.data.lexicons import big_two_nouns
from rmnb.inference.scores import released_scores

WORDS = ("love", "freedom")
SOURCES = {  # source id -> what its candidates are (display text)
    "released RM": "paper's RM, 263 Big Two nouns (released scores)",
    "reward model": "reward model, vocabulary tokens",
    "implicit RM": "implicit RM (MWLR), shared decoded strings",
    "language model": "language model, next-token log-probability",
}


def candidates(model: str, family: str, source: str, responses, scores, token_ids=None) -> pd.DataFrame:
    """One source's candidates: ``model, family, source, response, token_id, score, rank, n``."""
    frame = pd.DataFrame({"response": [str(r) for r in responses], "score": np.asarray(scores, float)})
    frame["token_id"] = pd.array(list(token_ids) if token_ids is not None else [None] * len(frame), dtype="Int64")
    frame = frame[np.isfinite(frame.score)].reset_index(drop=True)
    frame["rank"] = frame.score.rank(method="average", ascending=False)
    frame["n"] = len(frame)
    frame.insert(0, "source", source)
    frame.insert(0, "family", family)
    frame.insert(0, "model", model)
    return frame


def variant_ranks(cands: pd.DataFrame, words=WORDS) -> pd.DataFrame:
    """Rows of ``cands`` whose response is one of ``words`` up to case and surrounding whitespace, with a
    ``word`` column and the response as shown (``␣`` = a space). A word with no variant gets no row."""
    key = cands.response.str.strip().str.lower()
    out = cands[key.isin([w.lower() for w in words])].copy()
    out.insert(3, "word", out.response.str.strip().str.lower())
    out["shown"] = out.response.map(shown)
    return out.sort_values(["model", "word", "rank"], kind="stable").reset_index(drop=True)


def word_summary(variants: pd.DataFrame, cands: pd.DataFrame, words=WORDS) -> pd.DataFrame:
    """Per (model, word): the best-ranked variant, its rank and score, how many variants were found, the number of
    candidates ``n`` and ``share`` = rank / n (the fraction of candidates ranked at or above it). Words with no
    variant among a model's candidates are kept with missing ranks."""
    rows = []
    for (model, family, source), group in cands.groupby(["model", "family", "source"], sort=False):
        n = int(group.n.iloc[0])
        for word in words:
            hits = variants[(variants.model == model) & (variants.source == source) & (variants.word == word.lower())]
            best = hits.sort_values("rank", kind="stable").iloc[0] if len(hits) else None
            rows.append(dict(model=model, family=family, source=source, word=word, n=n,
                             best_rank=float(best["rank"]) if best is not None else np.nan,
                             best_variant=best["shown"] if best is not None else "",
                             best_score=float(best["score"]) if best is not None else np.nan,
                             n_variants=len(hits), variants=", ".join(hits.shown),
                             share=float(best["rank"]) / n if best is not None else np.nan))
    return pd.DataFrame(rows)


def head_to_head(summary: pd.DataFrame, first: str = "freedom", second: str = "love") -> pd.DataFrame:
    """Per model: both words' best ranks, the number of candidates ``n`` and which word ranks higher (``winner``;
    ``tie`` or ``n/a``)."""
    keys = ["model", "family", "source", "n"]
    wide = summary.pivot(index=keys, columns="word", values="best_rank")
    wide = wide.reindex(pd.MultiIndex.from_frame(summary[keys].drop_duplicates())).reset_index()
    for w in (first, second):
        if w not in wide:
            wide[w] = np.nan

    def winner(row):
        a, b = row[first], row[second]
        if pd.isna(a) or pd.isna(b):
            return "n/a"
        return first if a < b else second if b < a else "tie"

    wide["winner"] = wide.apply(winner, axis=1)
    return wide[["model", "family", "source", first, second, "n", "winner"]]


# --- the sources ------------------------------------------------------------------------------------------------

def released_candidates(prompt_id: str = "greatest_ever_one", models=None) -> pd.DataFrame:
    """The paper's RMs on the 263 Big Two nouns for ``prompt_id`` (the two extra scored responses dropped, as in
    chapter 01)."""
    long = released_scores("big_two", models)
    long = long[(long.prompt_id == prompt_id) & long.response.isin(set(big_two_nouns().term))]
    return pd.concat([candidates(m, g.family.iloc[0], "released RM", g.response, g.score)
                      for m, g in long.groupby("model", sort=False)], ignore_index=True)


def search_candidates(scores: pd.DataFrame, prompt_id: str = "greatest") -> pd.DataFrame:
    """Reward models' token scores (a :func:`rmnb.analysis.token_search.search` frame) for one FAccT prompt."""
    frame = scores[scores.prompt_id == prompt_id]
    return pd.concat([candidates(m, g.family.iloc[0], "reward model", g.response, g.score, g.token_id)
                      for m, g in frame.groupby("model", sort=False)], ignore_index=True)


def logprob_candidates(model: str, family: str, lp: pd.Series) -> pd.DataFrame:
    """A language model's log-probs, one per decoded string (``rmnb.analysis.implicit.dedupe``: a string decoded from
    several ids keeps its highest log-prob)."""
    return candidates(model, family, "language model", lp.index, lp.to_numpy())


def implicit_candidates(model: str, lp_a: pd.Series, lp_b: pd.Series, family: str = "Implicit") -> pd.DataFrame:
    """The implicit RM A -> B: MWLR over the decoded strings shared by the two (deduplicated) tables; a high score
    = preferred by B."""
    shared = shared_table(lp_a, lp_b)
    return candidates(model, family, "implicit RM", shared.token, shared.mwlr)


# --- verdicts the chapter states -------------------------------------------------------------------------------

def family_wins(h2h: pd.DataFrame | None, families=("Gemma", "Llama")) -> dict[str, dict]:
    """Per family of :func:`head_to_head` rows: the number of models ``n``, how often "love" wins
    (``love_wins``) and the mean best ranks of both words (NaN without models). ``h2h=None`` (no models at all)
    gives zeros and NaN for every family."""
    out = {}
    for fam in families:
        sub = h2h[h2h.family == fam] if h2h is not None else pd.DataFrame(columns=["winner", "love", "freedom"])
        out[fam] = {"n": len(sub), "love_wins": int((sub.winner == "love").sum()),
                    "love_rank": float(sub.love.mean()) if len(sub) else float("nan"),
                    "freedom_rank": float(sub.freedom.mean()) if len(sub) else float("nan")}
    return out


def win_counts(h2h: pd.DataFrame) -> dict:
    """Over the models where one word wins (not a tie, both found): ``n_compared``, ``n_love_wins``,
    ``n_freedom_wins`` and ``family_sentence`` ("Gemma: 3 of 5; Llama: 1 of 5", love's wins per family)."""
    wins = h2h[h2h.winner.isin(["love", "freedom"])]
    by_family = wins.groupby("family").winner.apply(lambda w: f"{(w == 'love').sum()} of {len(w)}")
    return {"n_compared": len(wins), "n_love_wins": int((wins.winner == "love").sum()),
            "n_freedom_wins": int((wins.winner == "freedom").sum()),
            "family_sentence": "; ".join(f"{fam}: {txt}" for fam, txt in by_family.items())}


def rank_sentence(h2h: pd.DataFrame) -> str:
    """Each model's best ranks of "love" and "freedom" and its number of candidates, in one line."""
    return "; ".join(f"{r.model}: “love” {r.love:,.0f}, “freedom” {r.freedom:,.0f} of {r.n:,}"
                     for r in h2h.itertuples())


def random_head_note(plan: pd.DataFrame) -> str:
    """A warning naming the searched models whose score head is random (``head`` starts with "random"), or
    ``""`` when there is none."""
    random = plan["head"].str.startswith("random")
    if not random.any():
        return ""
    return ("Note: " + ", ".join(plan.model[random]) + " got a seeded, untrained score head (a language model "
            "loaded as a reward model); its ranks carry no preference information.")


def implicit_sentence(summary: pd.DataFrame, h2h: pd.DataFrame, b_label: str) -> str:
    """Where the implicit RM A -> B ranks both words among its shared strings and which one B prefers;
    ``"not computed"`` without an implicit RM."""
    imp = h2h[h2h.source == "implicit RM"]
    if not len(imp):
        return "not computed"
    row = summary[summary.source == "implicit RM"].set_index("word")
    return (f"“freedom” ranks {row.loc['freedom', 'best_rank']:,.0f} and "
            f"“love” {row.loc['love', 'best_rank']:,.0f} of {int(row.n.iloc[0]):,} shared strings, "
            f"so {imp.winner.iloc[0]} is the more {b_label}-preferred word")


def third(rank: float, n: int) -> str:
    """Where ``rank`` (1 = the highest score) falls among ``n`` candidates, in words: ``"in the top third"``,
    ``"in the middle third"`` or ``"in the bottom third"`` (``"not ranked"`` when missing)."""
    if rank is None or np.isnan(rank):
        return "not ranked"
    share = rank / n
    if share <= 1 / 3:
        return "in the top third"
    return "in the middle third" if share <= 2 / 3 else "in the bottom third"
