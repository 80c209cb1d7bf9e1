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

The chapter's steps (:func:`released_part`, :func:`search_rms`, :func:`language_models`, :func:`compare_sources`,
:func:`comparison_values`) return what it shows and glues, the "not computed" values included, and
:func:`paper_claims` its key findings.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from rmnb.analysis.claims import Claim, reported_claim
from rmnb.analysis.implicit import best_word, dedupe, same_word, shared_table
from rmnb.analysis.scores import released_scores
from rmnb.analysis.stats import FAMILIES
from rmnb.analysis.token_search import search
from rmnb.base.errors import RmnbError
from rmnb.base.labels import shown
from rmnb.data.lexicons import big_two_nouns
from rmnb.data.prompts import GREATEST
from rmnb.data.reported_facct import SOURCE, TABLE_A6_TOP20, a6_word_ranks
from rmnb.inference.language_model import ModelPool
from rmnb.models.registry import model_facts

WORDS = ("love", "freedom")
VARIANT_COLUMNS = ["model", "family", "source", "word", "response", "token_id", "score", "rank", "n", "shown"]
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


# --- chapter 07, step by step: each function returns what the chapter shows and glues ---------------------------

def facct_word_tops() -> dict:
    """From the FAccT paper's published Table A6 (each RM's top 20 tokens for "greatest"): in how many RMs a variant
    of "love" is the top token (``facct_love_top1``), of how many RMs (``facct_n_rms``), and the RMs whose top token
    is a variant of "freedom" (``facct_freedom_first``)."""
    a6 = a6_word_ranks()
    first = a6[a6.best_rank == 1]
    return {"facct_love_top1": int((first.word == "love").sum()), "facct_n_rms": int(a6.model.nunique()),
            "facct_freedom_first": ", ".join(first.model[first.word == "freedom"]) or "none of them"}


def added_rms(rms, extra_rms) -> list[str]:
    """The models of ``extra_rms`` that are not in ``rms`` (each once, in order): searched one by one."""
    return [m for m in dict.fromkeys(extra_rms or ()) if m not in set(rms or ())]


def released_part(include: bool, prompt_id: str = GREATEST) -> tuple[pd.DataFrame | None, pd.DataFrame, dict]:
    """The paper's RMs: their candidates for ``prompt_id`` (``None`` when ``include`` is false), the table shown
    (per RM the ranks of both words and the winner; no rows without them) and the glue values: per family
    ``rel_<family>_n``, ``_love_wins``, ``_love_rank`` and ``_freedom_rank`` (:func:`family_wins`; zeros and NaN
    without them) and ``rel_n_nouns``."""
    cands = released_candidates(prompt_id) if include else None
    h2h = head_to_head(word_summary(variant_ranks(cands), cands)) if include else None
    values = {f"rel_{fam.lower()}_{field}": value for fam, counts in family_wins(h2h, FAMILIES).items()
              for field, value in counts.items()}
    values["rel_n_nouns"] = int(cands.n.iloc[0]) if include else 0
    table = h2h if include else pd.DataFrame(columns=["model", "family", "source", "freedom", "love", "n", "winner"])
    return cands, table.rename(columns={"love": "rank of love", "freedom": "rank of freedom"}), values


@dataclass
class SearchedRMs:
    """Chapter 07's reward models searched over their vocabulary: the search ``plan`` (one row per model), the
    ``candidates`` (``None`` when no model was searched), the variants of both words and the glue ``values``."""

    plan: pd.DataFrame
    candidates: pd.DataFrame | None
    variants: pd.DataFrame
    values: dict


def search_rms(rms, extra, **settings) -> SearchedRMs:
    """The "greatest" prompt for ``rms`` in one search (chapter 00's search, so its cached scores are reused) and for
    each model of ``extra`` (:func:`added_rms`) on its own, with :func:`rmnb.analysis.token_search.search`'s
    ``settings``. Glue values: ``search_seconds``, ``which_tokens_06`` (what the ranks are ranks among),
    ``random_note`` (:func:`random_head_note`) and ``tok_sentence`` (:func:`rank_sentence`)."""
    start = time.perf_counter()
    searches = [search(list(rms), prompt_set="greatest", **settings)] if rms else []
    searches += [search([m], prompt_set="greatest", **settings) for m in extra]
    values = {"search_seconds": time.perf_counter() - start}
    if not searches:
        values.update(which_tokens_06="No reward model was searched in this run.",
                      random_note="No reward model was searched in this run.", tok_sentence="none searched")
        return SearchedRMs(pd.DataFrame(), None, pd.DataFrame(columns=VARIANT_COLUMNS), values)
    plan = pd.concat([s.plan for s in searches], ignore_index=True)
    tok = pd.concat([search_candidates(s.scores, "greatest") for s in searches], ignore_index=True)
    tok.loc[tok.model.isin(plan.model[plan.model_id.isin(extra)]), "source"] = "your reward model"
    variants = variant_ranks(tok)
    values.update(which_tokens_06=which_tokens_sentence(plan), random_note=random_head_note(plan),
                  tok_sentence=rank_sentence(head_to_head(word_summary(variants, tok))))
    return SearchedRMs(plan, tok, variants, values)


def which_tokens_sentence(plan: pd.DataFrame) -> str:
    """What a searched RM's rank is a rank among: the common sample (naming the models and its size) or the whole
    filtered vocabulary."""
    sampled = plan[plan.n_sample > 0]
    if sampled.empty:
        return "Here every searched RM answered \"greatest\" from its whole filtered vocabulary."
    return (f"Here {' and '.join(sampled.model)} answered \"greatest\" from a common sample of "
            f"{int(sampled.n_sample.max()):,} strings (every variant of both words included), so a rank is a rank "
            "within that sample.")


@dataclass
class LanguageModels:
    """Chapter 07's language models: one candidate table per model and for the implicit RM (``parts``), the glue
    ``values`` and the implicit RM's best and worst word as decoded (``None`` without an implicit RM)."""

    parts: list
    values: dict
    best_word: str | None = None
    worst_word: str | None = None


def language_models(lms, prompt: pd.DataFrame, device: str = "auto") -> LanguageModels:
    """Each language model's own next-token log-probabilities for ``prompt`` (one row: ``prompt_id, text``) as a
    chat turn and, with two or more models, the implicit RM from the first to the second (MWLR over the decoded
    strings both share). Glue values: ``n_lms``, ``implicit_label``, ``implicit_best_word`` and
    ``implicit_worst_word`` (``"not computed"`` without a pair)."""
    pool = ModelPool(device=device)
    lp, parts = {}, []
    for m in lms:
        table = pool.table(m, prompt, "live", "chat")
        lp[m] = dedupe(table.vocab.token_decoded, table.values[0])
        facts = model_facts(m, "lm")
        parts.append(logprob_candidates(facts["label"], facts["family"], lp[m]))
        pool.release(m)
    values = {"n_lms": len(lms), "implicit_label": "none (fewer than two language models)",
              "implicit_best_word": "not computed", "implicit_worst_word": "not computed"}
    if len(lms) < 2:
        return LanguageModels(parts, values)
    a, b = lms[0], lms[1]
    label = f"{model_facts(a, 'lm')['label']} → {model_facts(b, 'lm')['label']}"
    parts.append(implicit_candidates(label, lp[a], lp[b]))
    shared = shared_table(lp[a], lp[b])
    best, worst = best_word(shared, "top").token, best_word(shared, "bottom").token
    values.update(implicit_label=label, implicit_best_word=shown(best), implicit_worst_word=shown(worst))
    return LanguageModels(parts, values, best, worst)


def compare_sources(parts) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Every source side by side: the variants of both words (:func:`variant_ranks`), one row per model and word
    (:func:`word_summary`) and one per model (:func:`head_to_head`). ``None`` parts (a source this run left out) are
    skipped; no source at all is an error naming the fix."""
    parts = [p for p in parts if p is not None]
    if not parts:
        raise RmnbError("nothing to compare: set include_released, or list rms, extra_rms or lms.")
    cands = pd.concat(parts, ignore_index=True)
    variants = variant_ranks(cands)
    summary = word_summary(variants, cands)
    return variants, summary, head_to_head(summary)


def comparison_values(summary: pd.DataFrame, h2h: pd.DataFrame, lms) -> dict:
    """The glue values of the side-by-side comparison: :func:`win_counts` and ``implicit_sentence``
    (:func:`implicit_sentence`, naming the second language model)."""
    b_label = model_facts(lms[1], "lm")["label"] if len(lms) > 1 else ""
    return {**win_counts(h2h), "implicit_sentence": implicit_sentence(summary, h2h, b_label)}


def facct_rank_table(summary: pd.DataFrame) -> pd.DataFrame:
    """The FAccT paper's vocabulary rank of each word (Table A6, "not in top 20" when it is not there) next to the
    paper's RMs' ranks among the nouns in this run (``summary`` of the released RMs), one row per RM of Table A6."""
    a6 = a6_word_ranks().pivot(index="model", columns="word", values="best_rank")
    a6 = a6.astype(object).where(a6.notna(), "not in top 20")
    a6.columns = [f"FAccT vocabulary rank of {w}" for w in a6.columns]
    ours = summary[summary.source == "released RM"].pivot(index="model", columns="word", values="best_rank")
    ours.columns = [f"rank of {w} among the nouns (this book)" for w in ours.columns]
    return a6.join(ours, how="outer").reindex(list(TABLE_A6_TOP20)).rename_axis("model").reset_index()


def paper_claims(h2h: pd.DataFrame, lm: LanguageModels, released: dict, facct: dict) -> list[Claim]:
    """Chapter 07's claims (:mod:`rmnb.analysis.claims`): the implicit RM's best and worst word (the paper's Table 1),
    "freedom" above "love" for the implicit RM (Figure 3), and the Gemma-based RMs' preference for "love" (FAccT
    Table A6 against the released scores). A check this run cannot make (no implicit RM, no released RMs) is
    ``None``."""
    imp = h2h[h2h.source == "implicit RM"]
    label = lm.values["implicit_label"]

    def is_word(token, word):  # None: no token to compare (the model was not run)
        return None if token is None else same_word(str(token), word)

    gemma_n, gemma_love = released["rel_gemma_n"], released["rel_gemma_love_wins"]
    return [
        reported_claim("greatest_implicit_best", "The Gemma → Llama implicit RM's best word is \"Freedom\" (Table 1)",
                       f"“{lm.values['implicit_best_word']}” ({label})", [is_word(lm.best_word, "freedom")],
                       "table1_best"),
        reported_claim("greatest_implicit_worst", 'Its worst non-formatting word is "Love" (Table 1)',
                       f"“{lm.values['implicit_worst_word']}” ({label})", [is_word(lm.worst_word, "love")],
                       "table1_worst"),
        reported_claim("greatest_freedom_over_love", '"Freedom" beats "love" for the implicit RM (Figure 3)',
                       f"{imp.winner.iloc[0]} ranks higher ({label})" if len(imp) else "no implicit RM in this run",
                       [imp.winner.iloc[0] == "freedom" if len(imp) else None], "fig3_pairs"),
        Claim("greatest_gemma_love", 'Gemma-based RMs prefer "love" (FAccT Table A6)',
              f"a variant of “love” is the top token of {facct['facct_love_top1']} of {facct['facct_n_rms']} RMs",
              f"“love” ranks above “freedom” among the nouns for {gemma_love} of {gemma_n} Gemma-based RMs",
              (gemma_love == gemma_n if gemma_n else None,), SOURCE),
    ]
