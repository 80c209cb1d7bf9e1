"""The exercises' reference answers, computed at check time from the notebook's own tables.

The student edition of a chapter holds no solution code and no reference value: its check cell,
``check(answer, "01.2", globals())`` (:func:`rmnb.book.exercises.check`), asks this module for the chapter's value
of exercise 2 of chapter 01. :func:`expected` calls the function registered under that key with the notebook
variables its parameters name (``med``, ``panels``, ...), so a chapter run with other parameters or another model
is checked against its own tables. The book's solution cells glue the same value with
``answers.expected("01.2", globals())``, so the solution text and the check share one computation.

How an exercise is written (chapter sources, ``## Exercises``; :mod:`rmnb.seminar.handout` names the tags):

1. a ``{admonition} Exercise k: ...`` (``:class: tip``) that asks for a prediction first ("Predict first: ...");
2. a code cell tagged ``exercise``: a comment, any set-up lines the student needs, ``answer = None``, the marker
   ``# --- solution ---`` and the reference solution (the student edition keeps only the lines above the marker);
3. a code cell tagged ``check`` holding only ``check(answer, "NN.k", globals())`` (and its import);
4. a code cell tagged ``solution`` (with ``remove-cell``) that glues what the solution text quotes, the answer via
   :func:`expected`; every value the Exercises section glues is glued there (none is left in ``res.values`` of
   the student edition);
5. a ``{admonition} Solution`` (``:class: dropdown``) quoting only glued values;
6. here, a function registered with ``@reference("NN.k")`` whose parameters are the notebook variables it reads.
"""

from __future__ import annotations

import inspect
import math
import numbers
from collections.abc import Callable

from rmnb.base.errors import RmnbError

NAN = float("nan")
DEFAULT_TOL = 0.01  # relative tolerance of a number that is not a count


REFERENCES: dict[str, tuple[Callable, float]] = {}


def reference(key: str, rel_tol: float = DEFAULT_TOL):
    """Register the reference answer of exercise ``key`` (``"NN.k"``: chapter number, exercise number)."""
    def register(fn: Callable) -> Callable:
        if key in REFERENCES:
            raise ValueError(f"exercise {key} has two reference answers")
        REFERENCES[key] = (fn, rel_tol)
        return fn
    return register


def _entry(key: str) -> tuple[Callable, float]:
    if key not in REFERENCES:
        raise RmnbError(f"there is no exercise {key!r} to check against (known: {', '.join(sorted(REFERENCES))}). "
                        "Fix: check the key in the check cell (chapter number, a dot, the exercise's number).")
    return REFERENCES[key]


def tolerance(key: str) -> float:
    return _entry(key)[1]


def inputs(key: str) -> list[str]:
    """The notebook variables the reference answer of ``key`` reads (its parameters without a default)."""
    return [name for name, p in inspect.signature(_entry(key)[0]).parameters.items() if p.default is p.empty]


def expected(key: str, namespace: dict):
    """The chapter's value for exercise ``key``, from the notebook variables in ``namespace``."""
    fn, _ = _entry(key)
    names = inputs(key)
    missing = [n for n in names if n not in namespace]
    if missing:
        raise RmnbError(f"this notebook has not defined {', '.join(missing)} yet. Fix: run the chapter's cells "
                        "above first (Run > Run All Above).")
    return fn(**{n: namespace[n] for n in names})


def shape(value) -> str:
    """What an answer looks like, without its value: a count and its order of magnitude, a number's sign and
    decade, or text ("what you should see" in the handout)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "no value in the book's run (its settings leave it undefined; the solution says why)"
    if isinstance(value, str):
        return "a word or a name (text)"
    if isinstance(value, bool):
        return "True or False"
    if isinstance(value, numbers.Integral):
        digits = len(str(abs(int(value))))
        return ("a whole number from 0 to 9" if digits == 1 and value >= 0 else
                f"a whole number with {digits} digits" + (" (negative)" if value < 0 else ""))
    value = float(value)
    if abs(value) < 0.01:
        return "a number between -0.01 and 0.01"  # zero included: "zero" would be the answer itself
    sign = "a positive" if value > 0 else "a negative"
    decade = math.floor(math.log10(abs(value)))
    low, high = 10.0 ** decade, 10.0 ** (decade + 1)
    if value < 0:
        low, high = -high, -low
    def shown(x: float) -> str:
        return f"{x:,.0f}" if abs(x) >= 1 else f"{x:g}"

    return f"{sign} number between {shown(low)} and {shown(high)}"


# --- 00 · token search ---------------------------------------------------------------------------------------------

def _first_rows(frame, plan, the_prompts):
    return frame[(frame.model == plan.model.iloc[0]) & (frame.prompt_id == the_prompts.prompt_id[0])]


@reference("00.1")
def sampled_best_rank(scores, plan, the_prompts) -> int:
    """The full-search rank of the best token among every 100th token (by id), first model and prompt."""
    sample = _first_rows(scores, plan, the_prompts).sort_values("token_id").iloc[::100]
    return int(sample.sort_values("score", ascending=False)["rank"].iloc[0])


@reference("00.2")
def letter_share(top, plan, the_prompts) -> float:
    """The share of letter-only tokens among the first model's top tokens for the first prompt."""
    return float(_first_rows(top, plan, the_prompts).response.str.fullmatch(r" ?[A-Za-z]+").mean())


@reference("00.3")
def all_token_rho(scores, plan) -> float:
    """Spearman's rho of "best" against "worst" scores over all tokens, first model (undefined without both)."""
    from rmnb.analysis import search_stats

    if not {"best", "worst"} <= set(scores.prompt_id):
        return NAN
    rho = search_stats.best_worst_rho(scores, english_only=False).set_index("model").rho
    return float(rho[plan.model.iloc[0]])


# --- 01 · Big Two --------------------------------------------------------------------------------------------------

@reference("01.1")
def n_significant_permutation(panels) -> int:
    return int((panels.p_perm_bonf < 0.05).sum())


PAIR = ("R-Gem-2B", "R-Lla-3B")  # the two Ray2333 GRM reward models of exercise 01.2: one developer, both families


@reference("01.2")
def pair_agency_d(med) -> float:
    """Cohen's d (Llama minus Gemma) of the agency nouns under positive prompts, from :data:`PAIR` alone."""
    from rmnb.analysis import stats

    cell = med[(med.category == "Agency") & (med.framing == "positive")]
    gemma, llama = (cell.loc[cell.model == m, "sum_value"].to_numpy(float) for m in PAIR)
    return float(stats.cohen_d(gemma, llama)) if len(gemma) > 1 and len(llama) > 1 else NAN


@reference("01.3")
def agency_median_rank(med, m, p) -> float:
    return float(med.set_index(["model", "category", "prompt_id"]).sum_value[(m, "Agency", p)])


# --- 02 · moral foundations ----------------------------------------------------------------------------------------

def full_memberships():
    """MFD2.0 as distributed, every foundation of a word (``term, foundation`` rows)."""
    from rmnb.data import lexicons

    return lexicons.mfd2_distributed()[["term", "foundation"]].drop_duplicates()


def median_shift_summary(long, mfd_all) -> dict:
    """How the median ranks move from one foundation per word (``mfd_all``) to every membership
    (:func:`rmnb.analysis.dictionary.shift_summary`: ``max_abs``, ``median_abs``, ``share_moved``)."""
    from rmnb.analysis import dictionary as da

    return da.shift_summary(da.median_shift(long, mfd_all, full_memberships(), "foundation"))


@reference("02.1")
def largest_median_shift(long, mfd_all) -> float:
    return float(median_shift_summary(long, mfd_all)["max_abs"])


@reference("02.2")
def n_significant_corrected(corrected) -> int:
    return int((corrected.panels.p_perm_bonf < 0.05).sum())


@reference("02.3")
def gemma_family_mean(corrected, f, fr) -> float:
    pm = corrected.per_model  # each RM's mean over its prompts; the family mean is their mean (equal prompt counts)
    return float(pm[(pm.foundation == f) & (pm.framing == fr) & (pm.family == "Gemma")]["mean"].mean())


# --- 03 · base-model log-probabilities -----------------------------------------------------------------------------

THREE_WAY = "category:valence:model"


def three_way(med):
    """The ANOVA row of the category x valence x model interaction (``F``, ``p``, ``df``, ``df_resid``)."""
    from rmnb.analysis import base_logprobs

    return base_logprobs.anova(med).set_index("term").loc[THREE_WAY]


def one_word_prompts(analysis):
    """The instruction-tuned pair's median ranks (strict rule) from the ``*_one`` prompts only, or ``None`` when
    a valence has fewer than two of them (the ANOVA then has no residual degrees of freedom)."""
    med = analysis[("instruct", "strict")]["med"]
    subset = med[med.prompt_id.str.endswith("_one")]
    per_valence = subset.groupby("valence").prompt_id.nunique()
    return subset if len(per_valence) == 2 and per_valence.min() >= 2 else None


@reference("03.1")
def one_word_prompts_f(analysis) -> float:
    subset = one_word_prompts(analysis)
    return float(three_way(subset).F) if subset is not None else NAN


@reference("03.2")
def swapped_sides_f(analysis) -> float:
    """Swapping the two models' labels leaves the F of the unswapped table."""
    return float(three_way(analysis[("instruct", "strict")]["med"]).F)


def summed_probability_ranks(matches, lp_tables, prompt_frame, pairs):
    """(ranks, median ranks) of the instruction-tuned pair, broad rule, a noun scored by the log of the summed
    probability of its variants."""
    from rmnb.analysis import base_logprobs
    from rmnb.inference import token_match

    a, b = pairs["instruct"]
    word_lp = token_match.word_logprobs(matches["instruct"]["broad"],
                                        {m: lp_tables["instruct"][m].values for m in (a, b)},
                                        prompt_frame.prompt_id, agg="logsumexp")
    return base_logprobs.median_rank_table(word_lp)


@reference("03.3")
def summed_probability_f(matches, lp_tables, prompt_frame, pairs) -> float:
    return float(three_way(summed_probability_ranks(matches, lp_tables, prompt_frame, pairs)[1]).F)


# --- 04 · implicit reward ------------------------------------------------------------------------------------------

FLOORS = (-5.0, -30.0)  # the floors the solution of exercise 04.1 compares; the exercise asks for the first
FLOOR = FLOORS[0]


@reference("04.1")
def floored_recall(lp_base, lp_boost, targets, recovery_k, floor: float = FLOOR) -> float:
    from rmnb.analysis import implicit

    scores = implicit.recovery_scores(lp_base, lp_boost, targets.token_id, k=recovery_k,
                                      metrics={"floor": lambda a, b: implicit.floored_log_ratio(a, b, floor)})
    return float(scores.recall_at_k.mean())


@reference("04.2")
def most_probable_mwlr_rank(shared) -> int:
    """The MWLR rank (1 = most B-preferred, ties share the best rank) of model B's most probable shared string."""
    token = shared.loc[shared.logprob_b.idxmax(), "token"]
    return int(shared.mwlr.rank(ascending=False, method="min")[shared.token == token].iloc[0])


def freedom_minus_love(tables, A, B) -> float:
    """The variant-averaged MWLR of "Freedom" minus that of "Love", A -> B, over the strings both models share."""
    from rmnb.analysis import implicit

    return float(implicit.pair_word_mwlr({A: tables[A], B: tables[B]}, [(A, B)], words=("Freedom", "Love")).gap.iloc[0])


@reference("04.3")
def worst_freedom_minus_love(worst_lp, A, B) -> float:
    return freedom_minus_love(worst_lp, A, B)


# --- 05 · training ablations ---------------------------------------------------------------------------------------

LOOSE_TOL = 0.2  # the looser stability band of exercise 05.1
THIRD = 1 / 3    # "about one-third of the way through training" (the paper's claim, exercise 05.3)


def loose_band(dyn):
    """The Skywork-80K gaps' stabilisation (per category) with the looser band :data:`LOOSE_TOL`."""
    from rmnb.analysis import ablations

    return ablations.stabilisation_of(ablations.stabilisation(dyn, tol=LOOSE_TOL), "sky_80k")


@reference("05.1")
def loose_band_stable_from(dyn) -> int:
    return int(loose_band(dyn).loc["Agency"].stable_from)


@reference("05.2")
def llama_agency_sizes(gaps) -> int:
    """How many released sizes end with Llama ranking the agency tokens better (a negative final gap)."""
    return int((gaps[gaps.category == "Agency"].gap < 0).sum())


@reference("05.3")
def stable_by_a_third(stab) -> int:
    """How many released gaps (file x category) are stable by one-third of training."""
    return int((stab.progress <= THIRD + 1e-9).sum())


# --- 06 · live training (for the lead's conversion of the chapter: its three exercises as they stand) -------------

@reference("06.1")
def widest_seed_spread(acc) -> float:
    """The larger of the two bases' spreads (max - min over seeds) of final overall held-out accuracy."""
    final = acc[(acc.when == "final") & (acc.framing == "all")]
    return float(final.groupby("base").accuracy.agg(lambda a: a.max() - a.min()).max())


@reference("06.2")
def last_interval_gain(curve) -> float:
    """Mean over runs of the overall accuracy at the last checkpoint minus at the one before (0 for one checkpoint)."""
    overall = curve[curve.framing == "all"].sort_values("step")
    gains = overall.groupby(["base", "seed"]).accuracy.agg(lambda a: a.iloc[-1] - a.iloc[-2] if len(a) > 1 else 0.0)
    return float(gains.mean())


@reference("06.3")
def agency_climbers(changes, vn_bases) -> int:
    """Agency nouns among the top climbers of the words-that-moved figure, both bases together."""
    from rmnb.analysis import checkpoints

    return int(sum(checkpoints.mover_summary(changes[b])["up_agency"] for b in vn_bases))


# --- 07 · the greatest thing ever ----------------------------------------------------------------------------------

def worst_summary():
    """Per paper RM and word, the best rank as the answer to "the worst thing ever" (released scores)."""
    from rmnb.analysis import greatest

    worst = greatest.released_candidates("worst_ever_one")
    return greatest.word_summary(greatest.variant_ranks(worst), worst)


@reference("07.1")
def worst_love_mean_rank(include_released) -> float:
    if not include_released:
        return NAN
    summary = worst_summary()
    return float(summary[summary.word == "love"].best_rank.mean())


@reference("07.2")
def love_variant_spread(variants, m, src) -> float:
    ranks = variants[(variants.model == m) & (variants.source == src) & (variants.word == "love")]["rank"]
    return float(ranks.max() - ranks.min()) if len(ranks) else NAN


@reference("07.3")
def worst_love_wins(include_released):
    from rmnb.analysis import greatest

    if not include_released:
        return NAN
    return int((greatest.head_to_head(worst_summary()).winner == "love").sum())
