"""What chapter 00 says about an exhaustive token search: each section's glued values (the sentences, and the "not
computed" values when a prompt or a model is missing), the tables it shows, the FAccT paper's published values next
to ours and the chapter's key findings.

Each function returns a :class:`Section` (``values`` to glue, ``records`` for the results JSON only, a ``table`` to
show); :func:`publish` glues and records one. The search itself is :func:`rmnb.analysis.token_search.search`, the
statistics are :mod:`rmnb.analysis.search_stats`'s, the MDS :mod:`rmnb.analysis.smacof`'s, the double-BOS comparison
:mod:`rmnb.analysis.bos`'s.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd

from rmnb.analysis import bos, search_stats, smacof, stand_ins, token_search
from rmnb.analysis.claims import Claim
from rmnb.analysis.greatest import facct_word_tops
from rmnb.base.labels import shown
from rmnb.data import reported_facct
from rmnb.data.lexicons import ENGLISH_WORD_RULE, big_two_nouns
from rmnb.models import registry

NOT_COMPUTED_PAIR = "not computed (the prompt set lacks best or worst)"
TOP_N_COMPARED = 5   # the top tokens set beside the FAccT paper's Table A6
TABLE2_N = 22        # the FAccT paper's Table 2 lists the 22 best and 22 worst tokens


@dataclass
class Section:
    """What one section of chapter 00 glues (``values``), records in the results JSON only (``records``) and shows
    (``table``, or none)."""

    values: dict
    records: dict = field(default_factory=dict)
    table: pd.DataFrame | None = None


def publish(results, section: Section) -> pd.DataFrame | None:
    """Glue ``section.values`` and record ``section.records`` with ``results`` (a :class:`rmnb.book.results.Results`);
    returns the section's table."""
    for name, value in section.values.items():
        results.glue(name, value)
    for name, value in section.records.items():
        results.record(name, value)
    return section.table


def _quoted(ids) -> str:
    return ", ".join(f'"{p}"' for p in ids) or "none"


# --- 1. the search ----------------------------------------------------------------------------------------------

def prompts_sentence(prompts: pd.DataFrame) -> str:
    """The searched prompts in prose: ``"greatest" ("What, in one word, is the greatest thing ever?"), ...``."""
    return ", ".join(f"“{r.prompt_id}” ({r.text})" for r in prompts.itertuples())


def search_section(found: token_search.SearchResult, seconds: float) -> Section:
    """What the search did: counts, the prompts searched each way, each model's filter, the time a whole-vocabulary
    prompt would take at this run's rate (``full_minutes_sentence``), a note on models with a random score head, the
    stand-in comparison with the paper's RMs; the plan as a table for readers."""
    plan, prompts = found.plan, found.prompts
    rated = plan[plan.tokens_per_s.notna()]  # a model with a recorded scoring time
    random_heads = plan[plan["head"].str.startswith("random")]
    size = stand_ins.size_ratio(list(plan.model_id), [m.id for m in registry.PAPER_RMS])
    values = {
        "search_seconds": seconds, "n_models": len(plan), "n_scored": len(found.scores),
        "search_scope": token_search.scope_sentence(prompts, plan),
        "full_prompt_list": _quoted(prompts.prompt_id[prompts.full]),
        "sample_prompt_list": _quoted(prompts.prompt_id[~prompts.full]),
        "n_sample": int(plan.n_sample.max()),
        "full_minutes_sentence": " and ".join(
            f"about {r.full_prompt_minutes:.0f} minutes for {r.model} ({r.n_filtered:,} tokens kept by the filter "
            f"“{r.filter}” at {r.tokens_per_s:.0f} a second)" for r in rated.itertuples())
        or "an unknown time (no scoring time recorded)",
        "plan_sentence": "; ".join(f"for {r.model} the filter “{r.filter}” keeps {r.n_filtered:,} of its "
                                   f"{r.vocab_size:,} tokens" for r in plan.itertuples()),
        "head_note": "" if random_heads.empty else
        f"Note: {', '.join(random_heads.model)} got a freshly initialised, seeded score head (a language model loaded "
        "as a reward model), so its scores carry no preference information; such runs only exercise the code.",
        "size_ratio_text": size["text"], "facct_size_min": size["theirs_min"], "facct_size_max": size["theirs_max"],
        "confound_sentence": stand_ins.tuning_confound(list(plan.model_id), "reward"),
    }
    table = plan[["model", "family", "head", "dtype", "vocab_size", "filter", "n_filtered", "n_sample", "seconds",
                  "tokens_per_s"]].rename(columns={"vocab_size": "vocabulary", "n_filtered": "kept by the filter",
                                                   "n_sample": "common sample", "tokens_per_s": "tokens a second"})
    return Section(values, {"search_plan": plan.to_dict(orient="records")}, table)


# --- 2. the top and the bottom ----------------------------------------------------------------------------------

def side_by_side(frame: pd.DataFrame, prompt_id: str) -> pd.DataFrame:
    """One column block per model (rank as :func:`rank_text`, token as shown, score) for one prompt of an
    :func:`extremes` table."""
    blocks = {m: g[["rank", "shown", "score"]].rename(columns={"shown": "token"}).reset_index(drop=True)
              .assign(rank=lambda f: f["rank"].map(rank_text))
              for m, g in frame[frame.prompt_id == prompt_id].groupby("model", sort=False)}
    return pd.concat(blocks, axis=1)


def rank_text(rank: float) -> str:
    """A rank for readers: ``"6"``, or ``"6.5"`` for tokens tied at places 6 and 7 (ties share their average)."""
    return f"{rank:.0f}" if float(rank).is_integer() else f"{rank:g}"


def prompt_rankings(frame: pd.DataFrame, prompts: pd.DataFrame, end: str = "top") -> list[tuple[str, pd.DataFrame]]:
    """Per searched prompt (``prompts``: ``prompt_id, text``), a heading in Markdown and its :func:`ranking_table`
    of an :func:`extremes` table, ``end`` "top" (best first) or "bottom" (the last row is the lowest)."""
    texts = dict(zip(prompts.prompt_id, prompts.text))
    n = int(frame.groupby(["model", "prompt_id"]).size().max()) if len(frame) else 0
    return [(f"**Prompt “{p}”**: {texts[p]}" if end == "top" else
             f"**Prompt “{p}”**, the {n} lowest-scored tokens (the last row is the lowest)", ranking_table(frame, p))
            for p in prompts.prompt_id]


def ranking_table(frame: pd.DataFrame, prompt_id: str) -> pd.DataFrame:
    """An :func:`extremes` table for one prompt as readers compare models: one row per place (``#``), one column per
    model holding ``token (score)``."""
    columns = {}
    for model, g in frame[frame.prompt_id == prompt_id].groupby("model", sort=False):
        columns[model] = [f"{t} ({s:.3f})" for t, s in zip(g.shown, g.score)]
    width = max((len(v) for v in columns.values()), default=0)
    table = pd.DataFrame({m: v + [None] * (width - len(v)) for m, v in columns.items()})
    table.insert(0, "#", range(1, width + 1))
    return table


def extremes_section(scores: pd.DataFrame, first_prompt: str, n: int) -> tuple[pd.DataFrame, pd.DataFrame, Section]:
    """The ``n`` top and bottom tokens of every (model, prompt) (:func:`rmnb.analysis.search_stats.extremes`), and
    what the chapter says about the first prompt: each model's top token (``top_sentence``) and the best rank of a
    variant of "love" (``love_sentence``). The table: the first prompt's top tokens (:func:`ranking_table`)."""
    top, bottom = search_stats.extremes(scores, n=n)
    keep = ["model", "prompt_id", "rank", "token_id", "shown", "score"]
    records = {name: frame[keep].assign(token=frame.response).drop(columns="shown").to_dict(orient="records")
               for name, frame in (("top_tokens", top), ("bottom_tokens", bottom))}
    first = top[top.prompt_id == first_prompt].drop_duplicates("model")
    searched = scores.groupby(["model", "prompt_id"]).size()
    love = love_ranks(scores, first_prompt)
    values = {"first_prompt": first_prompt,
              "top_sentence": "; ".join(f"{r.model}: “{r.shown}” ({r.score:.3f})" for r in first.itertuples()),
              "love_sentence": "; ".join(f"{r.model} ranks “{shown(r.response)}” at {r.rank:,.0f} of "
                                         f"{searched[(r.model, r.prompt_id)]:,}" for r in love.itertuples())
              or "no searched model has a token for it"}
    return top, bottom, Section(values, records, ranking_table(top, first_prompt))


def love_ranks(scores: pd.DataFrame, prompt_id: str) -> pd.DataFrame:
    """Per model, its best-ranked variant of "love" (``strip().lower()``) for ``prompt_id``: the score rows."""
    rows = scores[(scores.prompt_id == prompt_id) & (scores.response.str.strip().str.lower() == "love")]
    return rows.sort_values("rank").drop_duplicates("model")


def english_section(scores: pd.DataFrame, first_prompt: str, n: int = 20) -> Section:
    """How many of each model's top ``n`` tokens for "greatest" (the first prompt when "greatest" was not searched)
    are English words (:func:`rmnb.analysis.search_stats.english_in_top`)."""
    prompt = "greatest" if "greatest" in set(scores.prompt_id) else first_prompt
    english = search_stats.english_in_top(scores, prompt, n=n)
    values = {"english_rule": ENGLISH_WORD_RULE, "english_top_prompt": prompt,
              "english_top_sentence": "; ".join(f"{r.model} {r.english} of its top {r.n}" for r in english.itertuples())}
    return Section(values, {f"english_top20_{r.model_id}": int(r.english) for r in english.itertuples()}, english)


# --- 3. score distributions -------------------------------------------------------------------------------------

def moments_section(scores: pd.DataFrame, first_prompt: str) -> Section:
    """Mean, variance and skew of every (model, prompt) over the searched tokens and over the vocabulary every model
    shares (FAccT Table 3); the skew for the first prompt in words. The table: one row per model and prompt."""
    shared = search_stats.shared_vocabulary(scores)
    mom = pd.concat([search_stats.moments(scores).assign(vocabulary="searched"),
                     search_stats.moments(scores[scores.response.isin(shared)]).assign(vocabulary="shared")],
                    ignore_index=True)
    first = mom[(mom.vocabulary == "searched") & (mom.prompt_id == first_prompt)]
    values = {"skew_sentence": "; ".join(f"{r.model} {r.skew:+.2f}" for r in first.itertuples()),
              "n_positive_skew": int((first["skew"] > 0).sum())}
    table = mom.pivot_table(index=["model", "prompt_id"], columns="vocabulary", values=["n", "mean", "variance", "skew"],
                            sort=False)
    return Section(values, {"moments": mom.to_dict(orient="records")}, table)


# --- 4. best against worst ----------------------------------------------------------------------------------------

def best_worst_section(scores: pd.DataFrame) -> Section:
    """Spearman's rho between each token's "best" and "worst" scores, over all tokens scored for both and over the
    English words among them (:func:`rmnb.analysis.search_stats.best_worst_rho`), with the verdict on the English
    words; every value says "not computed" when the prompt set lacks one of the two prompts. The table: the
    English-word rho per model (no rows without both prompts)."""
    if not {"best", "worst"} <= set(scores.prompt_id):
        return Section({"best_worst_sentence": NOT_COMPUTED_PAIR, "n_pair_tokens": 0, "n_english_pair": 0,
                        "english_rho_sentence": NOT_COMPUTED_PAIR, "english_rho_verdict": ""},
                       table=pd.DataFrame(columns=["model_id", "model", "rho", "n"]))
    every = search_stats.best_worst_rho(scores, english_only=False)
    english = search_stats.best_worst_rho(scores, english_only=True)
    values = {"best_worst_sentence": "; ".join(f"{r.model} ρ = {r.rho:+.2f}" for r in every.itertuples()),
              "n_pair_tokens": int(every.n.min()), "n_english_pair": int(english.n.min()),
              "english_rho_sentence": "; ".join(f"{r.model} ρ = {r.rho:+.2f} over {r.n:,} words"
                                                for r in english.itertuples()),
              "english_rho_verdict": search_stats.rho_verdict(english)}
    records = {"best_worst_spearman": dict(zip(every.model, every.rho)),
               **{f"best_worst_rho_{r.model_id}": r.rho for r in english.itertuples()}}
    return Section(values, records, english)


# --- 5. agreement: Kendall's tau and MDS ----------------------------------------------------------------------

def agreement_section(scores: pd.DataFrame, first_prompt: str) -> Section:
    """Kendall's tau-b between every pair of models on the shared vocabulary of the first prompt, and the models
    placed by metric MDS on 1 - tau (recorded; with two models MDS only places them 1 - tau apart). The table: one
    row per pair."""
    shared = search_stats.shared_vocabulary(scores, [first_prompt])
    tau, tau_p = search_stats.kendall_matrix(search_stats.wide_scores(scores, first_prompt, shared))
    positions, stress = smacof.mds(tau)
    pairs = search_stats.tau_pairs(tau)
    pairs["p"] = [float(tau_p.loc[r.a, r.b]) for r in pairs.itertuples()]
    values = {"n_shared": len(shared), "mds_stress": stress,
              "tau_sentence": "; ".join(f"{r.a} vs {r.b}: τ = {r.tau:.3f}" for r in pairs.itertuples())
              or "only one model was searched, so there is nothing to compare"}
    records = {"kendall_tau": {a: tau.loc[a].to_dict() for a in tau.index},
               "kendall_p": {a: tau_p.loc[a].to_dict() for a in tau_p.index},
               "mds": positions.to_dict(orient="records")}
    return Section(values, records, pairs)


# --- 6. the authors' double BOS -----------------------------------------------------------------------------------

def bos_section(models, prompt: pd.DataFrame, device: str = "auto") -> Section:
    """The Big Two nouns scored as answers to ``prompt`` (one row) by each model with one BOS and with the FAccT
    authors' two (:mod:`rmnb.analysis.bos`): per model rho between the paths, the largest score difference and the
    category each path ranks higher; the table: :func:`rmnb.analysis.bos.path_table`."""
    agreement, medians = bos.compare_paths(bos.score_both(models, prompt, responses="big-two", device=device),
                                           big_two_nouns())
    labels = {m: registry.model_facts(m)["label"] for m in models}
    values = {"bos_prompt": prompt.text.iloc[0], "bos_n_nouns": int(agreement.n.max()),
              "bos_sentence": bos.summary_sentence(agreement, medians, labels)}
    for row in agreement.itertuples():
        values.update({f"bos_rho_{row.model_id}": row.rho, f"bos_maxdiff_{row.model_id}": row.max_abs_diff,
                       f"bos_pref_single_{row.model_id}": bos.preferred(medians, row.model_id, "single"),
                       f"bos_pref_authors_{row.model_id}": bos.preferred(medians, row.model_id, "authors")})
    return Section(values, {"bos_medians": medians.to_dict(orient="records")}, bos_table(agreement, medians, labels))


def bos_table(agreement: pd.DataFrame, medians: pd.DataFrame, labels: dict) -> pd.DataFrame:
    """:func:`rmnb.analysis.bos.path_table` for readers: the model's label (``labels``: id -> label), the median
    ranks as "<category>, one BOS" and "<category>, two BOS", "Spearman's ρ" and "largest score difference"."""
    paths = {"single": "one BOS", "authors": "two BOS"}
    table = bos.path_table(agreement, medians)
    names = {c: f"{c.split(' ', 1)[1]}, {paths[c.split(' ', 1)[0]]}" for c in table.columns if c.split(" ")[0] in paths}
    return (table.assign(model_id=table.model_id.map(labels))
            .rename(columns={"model_id": "model", "rho": "Spearman's ρ", "max_abs_diff": "largest score difference",
                             **names}))


# --- the FAccT paper's numbers next to ours -------------------------------------------------------------------

def facct_section(scores: pd.DataFrame, top: pd.DataFrame, moments: list[dict], first_prompt: str) -> Section:
    """The FAccT paper's published values beside this run's: who has "love" or "freedom" on top (Table A6) and our
    top five, the overlap of our top 22 with Table 2 for an RM that is one of its two (else "not applicable"), the
    skew of the "greatest" scores (Table 3) against ours over the shared vocabulary."""
    ours5 = top[(top.prompt_id == first_prompt) & (top.groupby(["model", "prompt_id"]).cumcount() < TOP_N_COMPARED)]
    t3 = reported_facct.table3()
    values = {**facct_word_tops(),
              "ours_top5": "; ".join(f"{m}: " + ", ".join(f"“{t}”" for t in g.shown)
                                     for m, g in ours5.groupby("model", sort=False)),
              "table2_overlap": table2_overlap(scores, first_prompt),
              "facct_n_positive_skew": int((t3["skew"] > 0).sum()), "facct_skew_min": float(t3["skew"].min()),
              "facct_skew_max": float(t3["skew"].max()),
              "ours_skew_range": ", ".join(f"{r['model']} {r['skew']:+.3f}" for r in shared_moments(moments, first_prompt))}
    return Section(values)


def shared_moments(moments: list[dict], prompt_id: str) -> list[dict]:
    """The recorded moments (:func:`moments_section`) of ``prompt_id`` over the vocabulary every model shares."""
    return [m for m in moments if m["vocabulary"] == "shared" and m["prompt_id"] == prompt_id]


def table_a6_top(n: int = TOP_N_COMPARED) -> pd.DataFrame:
    """The FAccT paper's Table A6, the top ``n`` tokens for "greatest" of each of its RMs (one column per RM, indexed
    by rank), the tokens as shown ("␣" for a leading space)."""
    return reported_facct.table_a6(n).map(shown)


def table2_overlap(scores: pd.DataFrame, first_prompt: str) -> str:
    """For a searched model that is one of the FAccT paper's Table 2 RMs (R-Gem-2B, R-Lla-3B), how many of its top
    22 tokens for "greatest" are in the published top 22; "not applicable" otherwise."""
    if first_prompt != "greatest":
        return "not applicable (the first prompt is not “greatest”)"
    top, _ = search_stats.extremes(scores[scores.prompt_id == first_prompt], n=TABLE2_N)
    found = [f"{m}: {len(set(reported_facct.table2(m).token) & set(top.response[top.model == m]))} of {TABLE2_N}"
             for m in reported_facct.TABLE2_TOP if (top.model == m).any()]
    return "; ".join(found) or "not applicable (neither R-Gem-2B nor R-Lla-3B was searched)"


def table2_blocks(scores: pd.DataFrame, first_prompt: str, end: str = "top") -> pd.DataFrame:
    """The FAccT paper's Table 2 (the ``end``, "top" or "bottom", 22 tokens of R-Gem-2B and R-Lla-3B, published)
    and, for the top, this run's 22 best tokens of each model, side by side (rank, token, score per block)."""
    blocks = {f"FAccT {m} (published)": reported_facct.table2(m, end).assign(token=lambda f: f.token.map(shown))[
        ["rank", "token", "score"]] for m in reported_facct.TABLE2_TOP}
    if end == "top":
        top, _ = search_stats.extremes(scores[scores.prompt_id == first_prompt], n=TABLE2_N)
        for m in dict.fromkeys(top.model):
            blocks[f"{m} (this book)"] = side_by_side(top[top.model == m], first_prompt)[m]
    return pd.concat(blocks, axis=1)


def moments_comparison(moments: list[dict], first_prompt: str) -> pd.DataFrame:
    """The FAccT paper's Table 3 (moments of the "greatest" scores over its ten RMs' shared vocabulary) and ours
    over the vocabulary the models searched here share: ``model, mean, variance, skew, source``."""
    ours = pd.DataFrame(shared_moments(moments, first_prompt), columns=["model", "mean", "variance", "skew"])
    return pd.concat([reported_facct.table3().assign(source=reported_facct.SOURCE), ours.assign(source="this book")],
                     ignore_index=True)


def figure2a_table() -> pd.DataFrame:
    """The FAccT paper's Kendall's tau values between full-size RMs (Figure 2a, as summarised)."""
    return pd.DataFrame(list(reported_facct.FIGURE2A_TAU.items()), columns=["FAccT Figure 2a", "Kendall's τ"])


def published_tau_range() -> tuple[float, float]:
    """The smallest and the largest Kendall's tau between two RMs in the FAccT paper's Figure 2a."""
    numbers = [float(x) for text in reported_facct.FIGURE2A_TAU.values() for x in re.findall(r"\d*\.\d+", text)]
    return min(numbers), max(numbers)


def paper_claims(scores: pd.DataFrame, moments: list[dict], tau_pairs: pd.DataFrame, first_prompt: str) -> list[Claim]:
    """Chapter 00's key findings against the FAccT paper (:mod:`rmnb.analysis.claims`), one check per searched model
    or pair: a variant of "love" is the top token for "greatest" (Table A6); the "greatest" scores are skewed to the
    right (Table 3, over the shared vocabulary); Kendall's tau between two RMs lies in the published range (Figure
    2a). A claim about "greatest" is not tested when the first prompt is another."""
    on_greatest = first_prompt == "greatest"
    tops, t3, (lo, hi) = facct_word_tops(), reported_facct.table3(), published_tau_range()
    love = love_ranks(scores, first_prompt)
    missing = sorted(set(scores.model) - set(love.model))  # a model without a variant of "love" fails the check
    ours_skew = shared_moments(moments, first_prompt)
    return [
        Claim("facct_love_top", 'A variant of "love" is the top token for "greatest" (FAccT Table A6)',
              f"the top token of {tops['facct_love_top1']} of {tops['facct_n_rms']} RMs",
              "; ".join([f"{r.model}: best variant “{shown(r.response)}” at rank {r.rank:,.0f}" for r in love.itertuples()]
                        + [f"{m}: no variant of “love”" for m in missing]),
              tuple([r.rank == 1 if on_greatest else None for r in love.itertuples()]
                    + [False if on_greatest else None for _ in missing]), reported_facct.SOURCE),
        Claim("facct_skew", 'The "greatest" scores are skewed to the right (FAccT Table 3)',
              f"skew > 0 in {int((t3['skew'] > 0).sum())} of {len(t3)} RMs ({t3['skew'].min():.3f} to "
              f"{t3['skew'].max():.3f})",
              "; ".join(f"{m['model']}: skew {m['skew']:+.3f}" for m in ours_skew) or "not computed",
              tuple(bool(m["skew"] > 0) if on_greatest else None for m in ours_skew), reported_facct.SOURCE),
        Claim("facct_tau", "Two RMs rank their shared vocabulary only partly alike (FAccT Figure 2a)",
              f"Kendall's τ = {lo:.2f} to {hi:.2f} between pairs of RMs",
              "; ".join(f"{r.a} vs {r.b}: τ = {r.tau:.3f}" for r in tau_pairs.itertuples()) or "one model: no pair",
              tuple(bool(lo <= r.tau <= hi) if on_greatest else None for r in tau_pairs.itertuples()),
              reported_facct.SOURCE),
    ]
