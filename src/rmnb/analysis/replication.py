"""Chapter 06's pre-registered test: do reward models trained on identical value-neutral data on two bases rank the
Big Two the way the paper's Gemma and Llama RMs do, and does the difference follow the bases' own log-probabilities?

Everything here is fixed before any result is read (the chapter states it first):

- **Unit of analysis.** A seed: one pair of runs (one per base) with the same data, order, settings and seed. Seeds
  are the independent units; tokens and prompts are repeated measures within a seed.
- **Primary statistic** (:func:`split_contrasts`): per seed, the *split contrast* ``s * (communion gap - agency
  gap)``, where a category's gap is its median rank under the first base's RM minus under the second's and
  ``s = +1`` when the second base is the Gemma one (``-1`` when the first is). Positive = the paper's direction
  (the Gemma-side RM ranks communion better and agency worse than the other). One-sample t-test against 0,
  two-sided, alpha :data:`ALPHA`, with a 95% t interval (:func:`preregistered_test`).
- **Verdict** (:func:`verdict`): "agrees with the paper" (p < alpha, mean > 0), "opposite to the paper"
  (p < alpha, mean < 0), else "inconclusive at n seeds (about m needed)", m being the seeds a two-sided one-sample
  t-test needs for :data:`POWER` power at the observed effect size (Cohen's d = mean / SD).
- **Secondary**: per category, the sign test (how many seeds have the paper's sign; exact binomial, two-sided) and
  the one-sample t of the gap (:func:`category_tests`).
- **Prediction and check** (:func:`prediction_check`): per category, the base whose log-probabilities rank that
  category better under positive prompts (chapter 03) against the base whose RMs rank it better (the seed mean of
  the gap, decided when its 95% interval excludes 0).
- **Inheritance word by word** (:func:`inheritance`): over the Big Two nouns both bases have as single tokens,
  Spearman's rho between the RMs' rank difference (mean over seeds and positive prompts) and the bases' log-prob
  rank difference, with a permutation null over words; the same statistic at step 0 (the untrained heads) is the
  control.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats as sps

from rmnb.analysis.claims import p_text
from rmnb.analysis.value_neutral import paper_sign, seed_interval
from rmnb.data import reported

ALPHA = 0.05          # design constant: two-sided significance level of the pre-registered tests
POWER = 0.80          # design constant: the power the "seeds needed" estimate asks for
N_PERMUTATIONS = 9999  # design constant: word shufflings of the inheritance test's permutation null
AGREES, OPPOSITE = "agrees with the paper", "opposite to the paper"


def contrast_sign(families: tuple[str, str]) -> int | None:
    """+1 when the paper's direction is a positive (communion gap - agency gap), i.e. the second base is the Gemma
    one; -1 when the first is; ``None`` when the pair is not one Gemma base and one other."""
    sign = paper_sign("Communion", families)
    return None if sign is None else sign


def split_contrasts(gaps: pd.DataFrame, families: tuple[str, str]) -> pd.DataFrame:
    """Per seed and checkpoint (``when``): the agency and communion gaps and the split contrast (NaN without a paper
    direction). ``gaps``: :func:`rmnb.analysis.value_neutral.seed_gaps` (``seed, when, category, gap``)."""
    wide = gaps.pivot_table(index=["when", "seed"], columns="category", values="gap", observed=True)
    wide.columns = [f"gap_{str(c).lower()}" for c in wide.columns]
    sign = contrast_sign(families)
    contrast = (wide.gap_communion - wide.gap_agency) * (sign if sign is not None else math.nan)
    return wide.assign(contrast=contrast).reset_index()


def seeds_needed(d: float, alpha: float = ALPHA, power: float = POWER) -> int | None:
    """Seeds a two-sided one-sample t-test needs to reach ``power`` at effect size ``d`` (``None``: d = 0)."""
    if not np.isfinite(d) or d == 0:
        return None
    from statsmodels.stats.power import TTestPower

    n = TTestPower().solve_power(effect_size=abs(d), alpha=alpha, power=power, alternative="two-sided")
    return max(2, math.ceil(n))


def verdict(mean: float, p: float, n: int, needed: int | None, alpha: float = ALPHA) -> str:
    """The pre-registered verdict (see the module docstring)."""
    if n >= 2 and np.isfinite(p) and p < alpha:
        return AGREES if mean > 0 else OPPOSITE
    more = f"about {needed} needed" if needed else "no effect to power"
    return f"inconclusive at {n} seed{'s' if n != 1 else ''} ({more})"


def preregistered_test(contrasts, alpha: float = ALPHA) -> dict:
    """The primary test on per-seed split contrasts: ``n, mean, sd, t, p, low, high, d, power, seeds_needed,
    verdict`` (``power``: the power the test had at the observed d with these n seeds)."""
    x = np.asarray(list(contrasts), dtype=float)
    if x.size == 0 or np.isnan(x).all():
        return dict(n=0, mean=math.nan, sd=math.nan, t=math.nan, p=math.nan, low=math.nan, high=math.nan,
                    d=math.nan, power=math.nan, seeds_needed=None,
                    verdict="no paper direction (the pair is not one Gemma base and one other)")
    iv = seed_interval(x, 1 - alpha)
    n, sd = iv["n"], iv["sd"]
    if n < 2:
        t = p = d = power = math.nan
    elif sd == 0:
        t, p, d, power = math.copysign(math.inf, iv["mean"]), 0.0 if iv["mean"] else 1.0, math.nan, math.nan
    else:
        t, p = (float(v) for v in sps.ttest_1samp(x, 0.0))
        d = iv["mean"] / sd
        from statsmodels.stats.power import TTestPower

        power = float(TTestPower().power(effect_size=abs(d), nobs=n, alpha=alpha, alternative="two-sided"))
    needed = seeds_needed(d, alpha) if np.isfinite(d) else None
    return dict(n=n, mean=iv["mean"], sd=sd, t=t, p=p, low=iv["low"], high=iv["high"], d=d, power=power,
                seeds_needed=needed, verdict=verdict(iv["mean"], p, n, needed, alpha))


def category_tests(gaps: pd.DataFrame, families: tuple[str, str], when: str = "final",
                   alpha: float = ALPHA) -> pd.DataFrame:
    """Per category at ``when``: the seed mean gap with its t interval, the one-sample t and p, and the sign test
    (``k`` of ``n`` seeds with the paper's sign; exact binomial, two-sided)."""
    rows = []
    for cat, g in gaps[gaps.when == when].groupby("category", observed=True, sort=True):
        x = g.sort_values("seed").gap.to_numpy(dtype=float)
        sign = paper_sign(str(cat), families)
        iv = seed_interval(x, 1 - alpha)
        t, p = (float(v) for v in sps.ttest_1samp(x, 0.0)) if x.size > 1 and x.std() > 0 else (math.nan, math.nan)
        k = int((np.sign(x) == sign).sum()) if sign is not None else None
        sign_p = float(sps.binomtest(k, x.size, 0.5).pvalue) if sign is not None else math.nan
        rows.append(dict(category=str(cat), n=x.size, mean_gap=iv["mean"], low=iv["low"], high=iv["high"], t=t,
                         p=p, paper_sign=sign, k_paper_sign=k, sign_p=sign_p))
    return pd.DataFrame(rows)


def prediction_check(prediction: dict, tests: pd.DataFrame, bases: tuple[str, str]) -> pd.DataFrame:
    """Per category: ``predicted`` (the base chapter 03's log-probs favour:
    :func:`rmnb.analysis.base_logprobs.positive_prediction`), ``observed`` (the base whose RMs rank
    the category better: the second when the mean gap is positive; "no clear difference" when the interval
    contains 0) and ``agree`` ("yes", "no" or "undecided")."""
    rows = []
    for row in tests.itertuples():
        predicted = prediction.get(row.category)
        clear = np.isfinite(row.low) and (row.low > 0 or row.high < 0)
        observed = (bases[1] if row.mean_gap > 0 else bases[0]) if clear else "no clear difference"
        agree = "undecided" if not clear or predicted is None else ("yes" if observed == predicted else "no")
        rows.append(dict(category=row.category, predicted=predicted, observed=observed, agree=agree))
    return pd.DataFrame(rows)


def mean_rank_difference(ranks: pd.DataFrame, first: str, second: str) -> pd.Series:
    """Per word: its mean rank under ``first`` minus under ``second`` (``ranks``: ``model, word, rank``, one row per
    model, word and repetition: prompts, seeds); positive = ``second`` ranks the word better."""
    mean = ranks.groupby(["model", "word"], observed=True)["rank"].mean().unstack("model")
    return (mean[first] - mean[second]).dropna()


def within_ranks(scores: pd.DataFrame, by: list[str], words) -> pd.DataFrame:
    """Rank ``words`` within each group of ``by`` by ``score`` (1 = highest; ties averaged), other words dropped:
    the input rows plus ``rank``."""
    kept = scores[scores.word.isin(set(words))].copy()
    kept["rank"] = kept.groupby(by, observed=True).score.rank(ascending=False, method="average")
    return kept


def inheritance(rm_diff: pd.Series, lm_diff: pd.Series, n_permutations: int = N_PERMUTATIONS, seed: int = 0,
                alpha: float = ALPHA) -> dict:
    """Spearman's rho between two per-word differences (aligned on their shared words) and its permutation p
    (two-sided, ``(k + 1) / (n_permutations + 1)``, words shuffled); ``n_words``, ``verdict``."""
    joined = pd.concat([rm_diff.rename("rm"), lm_diff.rename("lm")], axis=1, join="inner").dropna()
    n = len(joined)
    if n < 3:
        return dict(rho=math.nan, p=math.nan, n_words=n, n_permutations=n_permutations,
                    verdict="too few shared words to test")
    a, b = sps.rankdata(joined.rm), sps.rankdata(joined.lm)
    a, b = (a - a.mean()) / a.std(), (b - b.mean()) / b.std()
    rho = float(np.mean(a * b))
    rng = np.random.default_rng(seed)
    null = np.array([np.mean(a * rng.permutation(b)) for _ in range(n_permutations)])
    p = float((np.sum(np.abs(null) >= abs(rho) - 1e-12) + 1) / (n_permutations + 1))
    if p < alpha:
        text = ("the RMs' preference follows the base models' log-probabilities" if rho > 0 else
                "the RMs' preference runs against the base models' log-probabilities")
    else:
        text = "no word-level link between the RMs and the base models' log-probabilities"
    return dict(rho=rho, p=p, n_words=n, n_permutations=n_permutations, verdict=text)


def noun_logprobs(bases: tuple[str, str], device: str = "auto") -> dict:
    """Chapter 03's measurement for two bases: next-token log-probs after each of the paper's 54 prompts in chat
    format (its instruction-tuned condition; from the disk cache once computed), the Big Two nouns that are one
    token in both vocabularies (the strict rule), and chapter 03's cell-by-cell tests. Returns ``word_lp``
    (``model, prompt_id, term, category, logprob``), ``post`` (:func:`rmnb.analysis.base_logprobs.posthoc`, with
    ``bases[0]`` as model A) and ``from_cache`` per base."""
    from rmnb.analysis.base_logprobs import median_rank_table, posthoc
    from rmnb.data import lexicons
    from rmnb.data.prompts import load_prompts
    from rmnb.inference.language_model import ModelPool
    from rmnb.inference.token_match import strict_match, word_logprobs

    pool, frame = ModelPool(device=device), load_prompts("paper54")
    tables = {}
    for base in bases:
        tables[base] = pool.table(base, frame, "live", "chat")
        pool.release(base)
    strict = strict_match(lexicons.big_two_nouns(), {b: t.vocab for b, t in tables.items()})
    word_lp = word_logprobs(strict, {b: t.values for b, t in tables.items()}, frame.prompt_id)
    _, med = median_rank_table(word_lp)
    return dict(word_lp=word_lp, post=posthoc(med, *bases), from_cache=dict(pool.from_cache))


def lm_rank_difference(word_lp: pd.DataFrame, first: str, second: str) -> pd.Series:
    """Per noun: its mean log-prob rank under positive prompts for ``first`` minus for ``second`` (ranks among the
    nouns, within each model and prompt; positive = ``second`` ranks the noun better)."""
    from rmnb.data.prompts import framing_of

    positive = word_lp[word_lp.prompt_id.map(framing_of) == "positive"]
    scores = positive.rename(columns={"term": "word", "logprob": "score"})
    return mean_rank_difference(within_ranks(scores, ["model", "prompt_id"], scores.word.unique()), first, second)


def rm_rank_difference(tables: dict, first: str, second: str, words, when: str = "final") -> pd.Series:
    """Per noun: its mean reward rank (among ``words``, within each run and positive prompt; mean over seeds and
    prompts) under ``first``'s RMs minus under ``second``'s, at step 0 or the end (``tables``: ``{(base, seed):
    SeedTables}``; positive = ``second``'s RMs rank the noun better)."""
    frames = []
    for (base, seed), t in tables.items():
        step = 0 if when == "step0" else t.final_step
        nouns = t.nouns[t.nouns.step == step].astype({"response": str, "prompt_id": str})
        frames.append(nouns.rename(columns={"response": "word"}).assign(model=base, seed=seed))
    scores = pd.concat(frames, ignore_index=True)
    ranks = within_ranks(scores, ["model", "seed", "prompt_id"], words)
    return mean_rank_difference(ranks, first, second)


# Why the step-0 control has a known answer: a score head drawn at random is as likely drawn with the opposite sign,
# which reverses each base's whole ranking and so the sign of every seed's split contrast.
MIRROR = ("a random head and its mirror image (the same head with the opposite sign, drawn as often) rank every "
          "token in reverse, so the untrained heads' split contrast is zero in expectation")


def _stats_text(test: dict) -> str:
    ci = ("" if not np.isfinite(test["low"]) else
          f" (95% interval {test['low']:+.1f} to {test['high']:+.1f})")
    t = f"t({test['n'] - 1}) = {test['t']:.2f}, {p_text(test['p'])}" if np.isfinite(test["t"]) else p_text(test["p"])
    return f"the mean split contrast over {test['n']} seeds is {test['mean']:+.1f} rank points{ci}, {t}"


def _no_test(test: dict) -> str | None:
    if test["n"] < 2 or not np.isfinite(test["mean"]):
        return f"{test['n']} seed{'s' if test['n'] != 1 else ''}: no test ({test['verdict']})"
    return None


def test_sentence(test: dict) -> str:
    """The primary test in words: mean split contrast, interval, t, p, d, power and seeds needed."""
    if (none := _no_test(test)) is not None:
        return none
    extra = ""
    if np.isfinite(test["d"]):
        extra = (f"; effect size d = {test['d']:.2f}, so the test had {test['power']:.0%} power with "
                 f"{test['n']} seeds, and {test['seeds_needed']} seeds give {POWER:.0%}")
    return f"{_stats_text(test)}{extra}: {test['verdict']}"


def control_result(test: dict, alpha: float = ALPHA) -> str:
    """The step-0 control's result in a table cell. Its null hypothesis is true by construction (:data:`MIRROR`),
    so a p below ``alpha`` is a false positive, not a direction."""
    if not np.isfinite(test.get("p", math.nan)):
        return "no test"
    return (f"p < {alpha:g} by chance (zero in expectation)" if test["p"] < alpha else
            "no difference, as expected")


def control_sentence(test: dict, alpha: float = ALPHA) -> str:
    """The step-0 control in words: the same statistics as :func:`test_sentence`, read against its known answer
    (zero in expectation) instead of the paper's direction."""
    if (none := _no_test(test)) is not None:
        return none
    if test["p"] < alpha:
        return (f"{_stats_text(test)}; that p is below {alpha:g}, yet {MIRROR}: a false positive, which a test at "
                f"this level makes in {alpha:.0%} of controls")
    return f"{_stats_text(test)}: no difference, as expected, since {MIRROR}"


def sign_sentence(cats: pd.DataFrame) -> str:
    """The secondary tests in words: per category, seeds with the paper's sign (sign test) and the gap's t-test."""
    parts = []
    for r in cats.itertuples():
        if r.paper_sign is None or pd.isna(r.paper_sign):
            parts.append(f"{r.category.lower()}: no paper direction for this pair")
            continue
        t = f", t({r.n - 1}) = {r.t:.2f}, {p_text(r.p)}" if np.isfinite(r.t) else ""
        parts.append(f"{r.category.lower()}: {r.k_paper_sign} of {r.n} seeds have the paper's sign (sign test "
                     f"{p_text(r.sign_p)}; mean gap {r.mean_gap:+.1f}{t})")
    return "; ".join(parts)


def test_table(test: dict, cats: pd.DataFrame) -> pd.DataFrame:
    """The pre-registered results as one table for readers: the primary test at the end and at step 0, then the
    per-category tests."""
    rows = []
    for when, name in (("final", "split contrast, after training"), ("step0", "split contrast, step 0 (control)")):
        t = test[when]
        rows.append({"statistic": name, "seeds": t["n"], "mean": t["mean"], "95% interval": _interval(t),
                     "p": t["p"], "result": t["verdict"] if when == "final" else control_result(t)})
    for r in cats.itertuples():
        rows.append({"statistic": f"{r.category} gap, after training", "seeds": r.n, "mean": r.mean_gap,
                     "95% interval": _interval({"low": r.low, "high": r.high}), "p": r.p,
                     "result": (f"{r.k_paper_sign} of {r.n} seeds with the paper's sign (sign test "
                                f"{p_text(r.sign_p)})") if r.k_paper_sign is not None else "no paper direction"})
    return pd.DataFrame(rows)


def _interval(t: dict) -> str:
    return "-" if not np.isfinite(t["low"]) else f"{t['low']:+.1f} to {t['high']:+.1f}"


def prediction_sentence(check: pd.DataFrame, labels: dict) -> str:
    """Chapter 03's prediction against what the RMs did, per category, and how many agree."""
    def name(x):
        return labels.get(x, x)

    parts = [f"for {r.category.lower()} the log-probs favour {name(r.predicted)} and the RMs "
             + (f"favour {name(r.observed)}" if r.observed in labels else "show no clear difference")
             for r in check.itertuples()]
    agree = int((check.agree == "yes").sum())
    decided = int((check.agree != "undecided").sum())
    head = (f"The prediction holds in {agree} of {len(check)} categories" if decided == len(check) else
            f"The prediction holds in {agree} of the {decided} categories where the RMs differ clearly "
            f"({len(check) - decided} undecided)")
    return f"{head}: " + "; ".join(parts) + "."


def inheritance_sentence(link: dict) -> str:
    """The word-level statistic in words: rho, permutation p, and its verdict."""
    if not np.isfinite(link["rho"]):
        return link["verdict"]
    return (f"Spearman's rho = {link['rho']:+.2f} (permutation {p_text(link['p'])}, {link['n_permutations']:,} "
            f"shufflings): {link['verdict']}")


def inheritance_points(tables: dict, word_lp: pd.DataFrame, bases, words) -> pd.DataFrame:
    """The scatter's points: per noun and checkpoint, the log-prob and reward rank differences and the category."""
    from rmnb.data import lexicons

    categories = lexicons.big_two_nouns().set_index("term").category
    lm = lm_rank_difference(word_lp, *bases)
    frames = []
    for when, shown in (("step0", "step 0 (untrained heads)"), ("final", "final")):
        rm = rm_rank_difference(tables, *bases, words, when)
        joined = pd.concat([lm.rename("lm_diff"), rm.rename("rm_diff")], axis=1, join="inner")
        frames.append(joined.rename_axis("word").reset_index().assign(checkpoint=shown))
    out = pd.concat(frames, ignore_index=True)
    return out.assign(category=out.word.map(categories))


# The paper column of the word-level claim, which the paper does not test: what its thesis implies for it.
THESIS_LINK = "not tested by the paper; its thesis implies rho > 0 (each RM follows its own base)"


def claims(test: dict, check: pd.DataFrame, link: dict, alpha: float = ALPHA) -> list[dict]:
    """The chapter's claims next to the paper's, for its comparison table and the landing page's findings: per
    claim ``key, claim, paper_key`` (a key of :mod:`rmnb.data.reported`, or ``None``), ``book`` (our numbers in
    words), ``checks`` (``True``: agrees with the paper or its thesis, ``False``: against it, ``None``: undecided)
    and ``inconclusive`` (the test ran and could not decide); ``paper`` and ``source``: the paper's words and where
    they are from, or, for a claim beyond the paper, what its thesis implies (:data:`THESIS_LINK`) and ``None``."""
    direction = {AGREES: True, OPPOSITE: False}.get(test["verdict"])
    agree = [{"yes": True, "no": False}.get(a) for a in check.agree]
    linked = (link["rho"] > 0) if np.isfinite(link["p"]) and link["p"] < alpha else None
    short = key_results(test, check, link)  # the table's "this book" column: the key-result box's words
    rows = [
        dict(key="live_direction", claim="Direction on identical data (the Gemma-side RM ranks communion better, "
             "the other agency)", paper_key="train_direction", book=short["direction"], checks=[direction],
             inconclusive=test["verdict"].startswith("inconclusive")),
        dict(key="live_prediction", claim="Predicted by the base models' log-probs (chapter 03)",
             paper_key="traced_to_base", book=short["prediction"], checks=agree, inconclusive=True),
        dict(key="live_inheritance", claim="Inherited word by word (beyond the paper)", paper_key=None,
             book=short["link"], checks=[linked], inconclusive=np.isfinite(link["rho"])),
    ]
    for row in rows:
        key = row["paper_key"]
        row.update(paper=reported.value(key) if key else THESIS_LINK, source=reported.source(key) if key else None)
    return rows


def prediction_short(check: pd.DataFrame) -> str:
    """How the observed per-category direction compares with chapter 03's prediction (a :func:`prediction_check`
    table): "1 of 2 categories as chapter 03's log-probs predict, 1 with no clear difference between the bases"."""
    counts = check.agree.value_counts()
    n = len(check)
    parts = [f"{counts.get('yes', 0)} of {n} categories as chapter 03's log-probs predict"]
    if counts.get("no", 0):
        parts.append(f"{counts['no']} opposite to the prediction")
    if counts.get("undecided", 0):
        parts.append(f"{counts['undecided']} with no clear difference between the bases (or no prediction)")
    return ", ".join(parts)


def key_results(test: dict, check: pd.DataFrame, link: dict) -> dict[str, str]:
    """Short versions of the claims for the chapter's "Key result" box: ``direction``, ``prediction``, ``link``."""
    if not np.isfinite(test["mean"]):
        mean = ""
    elif test["n"] < 2:
        mean = f"split contrast {test['mean']:+.1f} rank points from one seed"
    else:
        mean = f"mean split contrast {test['mean']:+.1f} rank points, 95% interval {_interval(test)}, {p_text(test['p'])}"
    link_text = (link["verdict"] if not np.isfinite(link["rho"]) else
                 f"rho = {link['rho']:+.2f} over {link['n_words']} nouns, permutation {p_text(link['p'])}: "
                 f"{link['verdict']}")
    return {"direction": f"{test['verdict']}" + (f"; {mean}" if mean else ""),
            "prediction": prediction_short(check),
            "link": link_text}
