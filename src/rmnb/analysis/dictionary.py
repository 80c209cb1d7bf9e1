"""The §2 pipeline shared by the Big Two and MFD2 chapters: ranks -> median ranks -> mixed model -> panel
tests -> per-model means, the same family comparisons with the reward model as the unit of analysis (exact
permutation tests over every family labeling, :func:`rm_level_test` and its neighbours), plus the glue names of the
results JSON."""

from __future__ import annotations

from dataclasses import dataclass
from math import comb

import numpy as np
import pandas as pd
from scipy import stats as sps

from rmnb.analysis import stats
from rmnb.analysis.claims import Claim, p_text, reported_claim, significant
from rmnb.data import reported


@dataclass
class DictionaryAnalysis:
    category: str                 # the lexicon's category column ("category" or "foundation")
    ranks: pd.DataFrame           # item ranks within (model, prompt)
    med: pd.DataFrame             # median rank per (model, category, prompt): the paper's sum_value
    mixed: pd.DataFrame           # fixed effects of the mixed model
    f_tests: pd.DataFrame         # marginal Wald F-test per model term (treatment-coded coefficients)
    panels: pd.DataFrame          # Gemma vs Llama per (category, framing) panel
    per_model: pd.DataFrame       # each RM's mean / SD / SE of its prompt-level medians
    n_items: int                  # items ranked per (model, prompt)
    sequential: pd.DataFrame | None = None  # R's anova(lme): sequential F-test per term (fit to nlme's optimum)

    def term(self, name: str) -> pd.Series:
        """The mixed-model row whose term mentions all of ``name``'s ':'-separated factors."""
        wanted = name.split(":")
        rows = self.mixed[[all(w in t for w in wanted) and t.count(":") == len(wanted) - 1
                           for t in self.mixed.term]]
        return rows.iloc[0]


def analyse(scores: pd.DataFrame, lexicon: pd.DataFrame, category: str = "category",
            n_permutations: int = 9999, seed: int = 42) -> DictionaryAnalysis:
    ranks = stats.item_ranks(scores, lexicon, category)
    med = stats.median_ranks(scores, lexicon, category)
    mixed, result = stats.fit_mixed_model(med, category)
    # the sequential table from a second fit run to nlme's REML optimum (stats.TIGHT_FIT); the Wald table and the
    # coefficients keep statsmodels' default fit
    _, tight = stats.fit_mixed_model(med, category, fit_kwargs=stats.TIGHT_FIT)
    return DictionaryAnalysis(
        category=category, ranks=ranks, med=med, mixed=mixed, f_tests=stats.term_f_tests(mixed, result),
        panels=stats.panel_tests(med, category, n_permutations, seed), per_model=stats.per_model_means(med, category),
        n_items=int(ranks.groupby(["model", "prompt_id"]).size().max()),
        sequential=stats.sequential_f_tests(tight),
    )


def term_tests(analysis: DictionaryAnalysis) -> pd.DataFrame:
    """The two term tables side by side (:func:`rmnb.analysis.stats.term_test_table`)."""
    return stats.term_test_table(analysis.f_tests, analysis.sequential)


def glue_sequential(results, analysis: DictionaryAnalysis, prefix: str = "") -> None:
    """Glue ``<prefix>seq_<term>_{F,num_df,den_df,p}`` for every row of the sequential table (``term`` with ':'
    as '_', the intercept as ``intercept``)."""
    for row in analysis.sequential.itertuples(index=False):
        key = "intercept" if row.term == "(Intercept)" else row.term.replace(":", "_")
        results.glue(f"{prefix}seq_{key}_F", float(row.F))
        results.glue(f"{prefix}seq_{key}_num_df", int(row.num_df))
        results.glue(f"{prefix}seq_{key}_den_df", int(row.den_df))
        results.glue(f"{prefix}seq_{key}_p", float(row.p))


def median_shift(scores: pd.DataFrame, lexicon_a: pd.DataFrame, lexicon_b: pd.DataFrame,
                 category: str = "category") -> pd.DataFrame:
    """How the median ranks move from ``lexicon_a`` to ``lexicon_b`` (e.g. one foundation per word -> all of a
    word's foundations): one row per (model, category, prompt) with ``sum_value_a``, ``sum_value_b`` and
    ``shift = b - a`` (rows missing from either side are dropped)."""
    keys = ["model", "family", category, "prompt_id", "framing"]
    a = stats.median_ranks(scores, lexicon_a, category)
    b = stats.median_ranks(scores, lexicon_b, category)
    out = a[keys + ["sum_value"]].merge(b[keys + ["sum_value"]], on=keys, suffixes=("_a", "_b"))
    out["shift"] = out.sum_value_b - out.sum_value_a
    return out


def shift_summary(shift: pd.DataFrame) -> dict:
    """``max_abs``, ``median_abs`` and ``share_moved`` (share of median ranks that changed) of
    :func:`median_shift`'s ``shift``."""
    absolute = shift["shift"].abs()
    return dict(max_abs=float(absolute.max()), median_abs=float(absolute.median()),
                share_moved=float((absolute > 0).mean()))


def d_by_panel(panels: pd.DataFrame) -> str:
    """Each panel's absolute Cohen's d as text, ``"Agency/positive 0.41, ..."`` (panels in table order)."""
    return ", ".join(f"{r.category}/{r.framing} {abs(r.cohen_d):.2f}" for r in panels.itertuples(index=False))


def better_family(row) -> str:
    """The family whose mean median rank is lower (= better) in a panel row."""
    return "Llama" if row.mean_llama < row.mean_gemma else "Gemma"


def glue_panels(results, panels: pd.DataFrame, prefix: str = "") -> None:
    """Glue ``<category>_<framing>_{mean_gemma,mean_llama,p_welch_bonf,p_perm_bonf,cohen_d,...}`` per panel."""
    for row in panels.itertuples(index=False):
        key = f"{prefix}{row.category.lower()}_{row.framing}"
        for field in ("mean_gemma", "mean_llama", "diff", "t", "dof", "p_welch", "p_welch_bonf", "p_perm",
                      "p_perm_bonf", "cohen_d", "bf10", "stars_welch", "stars_perm"):
            results.glue(f"{key}_{field}", getattr(row, field))
        results.glue(f"{key}_better", better_family(row))


def glue_f_test(results, analysis: DictionaryAnalysis, term: str, name: str) -> None:
    """Glue ``<name>_{F,num_df,den_df,p}`` for one row of the marginal Wald table (``term`` such as
    ``"family:foundation:framing"``)."""
    row = analysis.f_tests.set_index("term").loc[term]
    results.glue(f"{name}_F", float(row.F))
    results.glue(f"{name}_num_df", int(row.num_df))
    results.glue(f"{name}_den_df", int(row.den_df))
    results.glue(f"{name}_p", float(row.p))


def glue_term(results, table_row: pd.Series, name: str) -> None:
    """Glue ``<name>_{estimate,se,df,t,p,z,p_z}`` for one fixed effect."""
    for field, column in (("estimate", "estimate"), ("se", "se"), ("df", "df"), ("t", "t"), ("p", "p_t"),
                          ("z", "z"), ("p_z", "p_z")):
        results.glue(f"{name}_{field}", table_row[column])


# --- the reward model as the unit of analysis -------------------------------------------------------------------
# The mixed model and the panel tests above treat every prompt-level median rank as an observation. The families
# are properties of the RMs, though, so the independent units are the RMs (4 Gemma and 6 Llama in the paper). Here
# each RM contributes one number per quantity (its mean over its prompts), and the families are compared with
# Welch's t and an exact permutation test over every way to label the RMs (C(10, 4) = 210 labelings).

RM_ALPHA = 0.05   # the significance level of the RM-level verdicts (Bonferroni-corrected over panels, as above)
SURVIVES = "survives at the RM level"  # rm_level_verdict's words for an effect that holds with the RMs as units
SHORT_VERDICTS = {SURVIVES: "survives", "does not survive at the RM level": "does not survive",
                  "is significant at the RM level only": "RM level only"}  # in a table headed by the RM level
RM_POWER_D = 1.0  # the RM-level effect (family difference over the within-family SD of the RMs) at which the exact
                  # test's power is stated: "large" by Cohen's convention


def rm_level_test(gemma, llama) -> dict:
    """Gemma against Llama with one value per RM: family means, ``diff`` (Llama - Gemma), Cohen's d, Welch's t
    with its df and p, and the exact permutation p of Welch's t over all labelings (``p_exact``, ``n_labelings``)."""
    gemma, llama = np.asarray(gemma, float), np.asarray(llama, float)
    if min(len(gemma), len(llama)) < 2:  # one RM in a family: no within-family spread, nothing to test
        nan = float("nan")
        return dict(n_gemma=len(gemma), n_llama=len(llama), mean_gemma=gemma.mean() if len(gemma) else nan,
                    mean_llama=llama.mean() if len(llama) else nan, diff=nan, cohen_d=nan, t=nan, dof=nan,
                    p_welch=nan, p_exact=nan, n_labelings=comb(len(gemma) + len(llama), len(gemma)))
    va, vb = gemma.var(ddof=1) / len(gemma), llama.var(ddof=1) / len(llama)
    t = stats.welch_t(gemma, llama)
    dof = (va + vb) ** 2 / (va ** 2 / (len(gemma) - 1) + vb ** 2 / (len(llama) - 1))
    p_exact, n_labelings = stats.exact_permutation_p(gemma, llama)
    return dict(n_gemma=len(gemma), n_llama=len(llama), mean_gemma=gemma.mean(), mean_llama=llama.mean(),
                diff=llama.mean() - gemma.mean(), cohen_d=stats.cohen_d(gemma, llama), t=t, dof=dof,
                p_welch=float(2 * sps.t.sf(abs(t), dof)), p_exact=p_exact, n_labelings=n_labelings)


def family_groups(values: pd.Series | pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The Gemma rows and the Llama rows of a table indexed by (family, model)."""
    family = values.index.get_level_values("family")
    return tuple(values[family == f].to_numpy(float) for f in stats.FAMILIES)


def rm_cells(per_model: pd.DataFrame, category: str = "category") -> pd.DataFrame:
    """Each RM's mean prompt-level median rank per (category, framing): one row per RM (index ``family, model``),
    one column per cell; from :func:`rmnb.analysis.stats.per_model_means`."""
    data = per_model[per_model.family.isin(stats.FAMILIES)]
    return data.pivot_table(index=["family", "model"], columns=[category, "framing"], values="mean", observed=True)


def rm_level_panels(per_model: pd.DataFrame, category: str = "category") -> pd.DataFrame:
    """:func:`rm_level_test` in every (category, framing) panel of Figure 1a, on each RM's mean of its
    prompt-level median ranks there; ``p_exact_bonf`` and ``p_welch_bonf`` are Bonferroni-corrected over the
    panels, as the prompt-level panel tests are."""
    cells = rm_cells(per_model, category)
    rows = [dict(category=cat, framing=framing, **rm_level_test(*family_groups(cells[(cat, framing)])))
            for cat, framing in cells.columns]
    out = pd.DataFrame(rows)
    out["p_exact_bonf"] = np.minimum(out.p_exact * len(out), 1.0)
    out["p_welch_bonf"] = np.minimum(out.p_welch * len(out), 1.0)
    return out


def rm_contrast(per_model: pd.DataFrame, first: str = "Agency", second: str = "Communion",
                category: str = "category") -> pd.Series:
    """Each RM's interaction contrast, ``(first - second under positive prompts) - (first - second under negative
    prompts)`` of its mean median ranks, indexed by ``family, model``. The Llama-minus-Gemma difference of its
    family means is the mixed model's three-way coefficient (balanced data)."""
    c = rm_cells(per_model, category)
    contrast = (c[(first, "positive")] - c[(second, "positive")]) - (c[(first, "negative")] - c[(second, "negative")])
    return contrast.rename("contrast")


def rm_interaction_profiles(per_model: pd.DataFrame, category: str = "foundation") -> pd.DataFrame:
    """Each RM's category x framing interaction: per category, its mean median rank under negative minus under
    positive prompts, centred on the RM's mean over the categories (index ``family, model``, one column per
    category; the columns of a row sum to 0, so k categories carry k - 1 free values)."""
    c = rm_cells(per_model, category)
    cats = list(dict.fromkeys(c.columns.get_level_values(0)))
    shift = pd.DataFrame({cat: c[(cat, "negative")] - c[(cat, "positive")] for cat in cats})
    return shift.sub(shift.mean(axis=1), axis=0)


def rm_level_interaction(per_model: pd.DataFrame, category: str = "foundation") -> dict:
    """The RM-level analogue of the family x category x framing term: do the families' mean interaction profiles
    (:func:`rm_interaction_profiles`) differ? Hotelling's T² on k - 1 of the k centred columns (any k - 1 give
    the same T²) as an F test (``F, df1, df2, p_f``) and the exact permutation p of T² over every labeling
    (``p_exact``, ``n_labelings``)."""
    gemma, llama = family_groups(rm_interaction_profiles(per_model, category).iloc[:, :-1])
    if len(gemma) + len(llama) < gemma.shape[1] + 2 or min(len(gemma), len(llama)) < 1:  # T² needs df2 >= 1
        nan = float("nan")
        return dict(n_gemma=len(gemma), n_llama=len(llama), t2=nan, F=nan, df1=gemma.shape[1], df2=0, p_f=nan,
                    p_exact=nan, n_labelings=comb(len(gemma) + len(llama), len(gemma)))
    t2 = stats.hotelling_t2(gemma, llama)
    df1, df2 = gemma.shape[1], len(gemma) + len(llama) - gemma.shape[1] - 1
    f = t2 * df2 / (df1 * (len(gemma) + len(llama) - 2))  # Hotelling's T² as F(df1, df2)
    p_exact, n_labelings = stats.exact_permutation_p(gemma, llama, stats.hotelling_t2)
    return dict(n_gemma=len(gemma), n_llama=len(llama), t2=t2, F=f, df1=df1, df2=df2,
                p_f=float(sps.f.sf(f, df1, df2)), p_exact=p_exact, n_labelings=n_labelings)


def rm_level_verdict(p_prompt: float, p_rm: float, same_sign: bool = True, alpha: float = RM_ALPHA) -> str:
    """The rule, read after the name of an effect: significant means p < ``alpha``; an effect significant with
    prompt-level observations ``"survives at the RM level"`` when the RM-level p is significant too, with the same
    sign (``same_sign``), else it ``"does not survive at the RM level"``; an effect that is not
    significant with prompt-level observations ``"is significant at the RM level only"`` or ``"is significant at
    neither level"``. A NaN RM-level p (a family with fewer than two RMs) cannot be tested."""
    if p_rm is None or np.isnan(p_rm):
        return "cannot be tested at the RM level (a family has fewer than two RMs)"
    rm_sig = p_rm < alpha and same_sign
    if p_prompt < alpha:
        return SURVIVES if rm_sig else "does not survive at the RM level"
    return "is significant at the RM level only" if rm_sig else "is significant at neither level"


def rm_level_design(n_gemma: int, n_llama: int, n_panels: int, alpha: float = RM_ALPHA, seed: int = 0) -> dict:
    """What an exact test with these RMs can show: ``n_units``, ``n_labelings``, the smallest attainable p
    (``p_min``) and its Bonferroni-corrected value over ``n_panels`` (``p_min_bonf``), how many of the labelings
    the observed one must beat to reach ``alpha`` (``n_reject``, uncorrected, and ``n_reject_bonf``), and the
    test's power at ``alpha`` for an RM-level effect of :data:`RM_POWER_D` (``power``, seeded simulation)."""
    n_labelings = comb(n_gemma + n_llama, n_gemma)
    p_min = stats.smallest_exact_p(n_gemma, n_llama)
    return dict(n_units=n_gemma + n_llama, n_labelings=n_labelings, p_min=p_min,
                p_min_bonf=min(1.0, p_min * n_panels), n_reject=int(np.ceil(alpha * n_labelings)) - 1,
                n_reject_bonf=int(np.ceil(alpha / n_panels * n_labelings)) - 1, power_d=RM_POWER_D,
                power=stats.exact_test_power(n_gemma, n_llama, RM_POWER_D, alpha, seed=seed)
                if min(n_gemma, n_llama) >= 2 else float("nan"))


def rm_panel_verdicts(panels: pd.DataFrame, rm_panels: pd.DataFrame, alpha: float = RM_ALPHA) -> pd.DataFrame:
    """The prompt-level panel tests (:func:`rmnb.analysis.stats.panel_tests`) next to the RM-level ones
    (:func:`rm_level_panels`), one row per panel: both Llama-minus-Gemma differences, the Bonferroni-corrected
    prompt-level Welch p, the RM-level Welch and exact p (corrected) and :func:`rm_level_verdict`."""
    keys = ["category", "framing"]
    left = panels[keys + ["diff", "p_welch_bonf"]].rename(columns={"diff": "diff_prompts", "p_welch_bonf": "p_prompts"})
    right = rm_panels[keys + ["diff", "p_welch_bonf", "p_exact_bonf"]]
    out = left.merge(right.rename(columns={"diff": "diff_rms", "p_welch_bonf": "p_welch_rms",
                                           "p_exact_bonf": "p_exact_rms"}), on=keys)
    out["verdict"] = [rm_level_verdict(r.p_prompts, r.p_exact_rms, np.sign(r.diff_prompts) == np.sign(r.diff_rms),
                                       alpha) for r in out.itertuples()]
    return out


def rm_panel_table(verdicts: pd.DataFrame) -> pd.DataFrame:
    """:func:`rm_panel_verdicts` for readers: one row per panel (``"Agency/positive"``), the Llama-minus-Gemma
    difference (Δ) and the Bonferroni-corrected p with prompts as observations and with RMs as units (the exact p),
    and the verdict in short (:data:`SHORT_VERDICTS`)."""
    return pd.DataFrame({"panel": verdicts.category.astype(str) + "/" + verdicts.framing.astype(str),
                         "Δ prompts": verdicts.diff_prompts, "p prompts": verdicts.p_prompts,
                         "Δ RMs": verdicts.diff_rms, "exact p RMs": verdicts.p_exact_rms,
                         "verdict": verdicts.verdict.map(lambda v: SHORT_VERDICTS.get(v, v))})


def rm_panel_sentence(verdicts: pd.DataFrame) -> str:
    """``"Agency/positive does not survive at the RM level (exact p = 0.91, corrected); ..."``, in table order."""
    return "; ".join(f"{r.category}/{r.framing} {r.verdict} (exact p = {r.p_exact_rms:.2g}, corrected)"
                     for r in verdicts.itertuples(index=False))


def glue_rm_level(results, name: str, test: dict) -> None:
    """Glue ``<name>_<field>`` for every field of an RM-level test (:func:`rm_level_test`,
    :func:`rm_level_interaction` or :func:`rm_level_design`)."""
    for field, value in test.items():
        results.glue(f"{name}_{field}", value.item() if isinstance(value, np.generic) else value)


def rm_tests_agree(p_welch: float, p_exact: float, alpha: float = RM_ALPHA) -> str:
    """Whether the RM-level Welch and exact tests reach the same decision at ``alpha``, as a clause."""
    level = f"{alpha:.2f}".lstrip("0")
    if np.isnan(p_welch) or np.isnan(p_exact):
        return "neither RM-level test can be computed"
    if (p_welch < alpha) == (p_exact < alpha):
        return f"the two RM-level tests agree at {level}"
    return (f"the two RM-level tests disagree at {level}; the verdict follows the exact test, which assumes no "
            "distribution")


# --- the paper's claims, checked (chapters 01 and 02; rmnb.analysis.claims) -----------------------------------

# Figure 1a as the paper reports it: the family whose RMs rank the category better in each panel (under positive
# prompts Llama agency and Gemma communion; the pattern reverses under negative prompts, where rank 1 = the worst)
PAPER_BETTER = {("Agency", "positive"): "Llama", ("Communion", "positive"): "Gemma",
                ("Agency", "negative"): "Gemma", ("Communion", "negative"): "Llama"}


def direction_claim(panels: pd.DataFrame, alpha: float = RM_ALPHA) -> Claim:
    """Figure 1a's direction as a claim: per panel of :data:`PAPER_BETTER` in ``panels``
    (:func:`rmnb.analysis.stats.panel_tests`), the family whose RMs rank the category better, |Cohen's d| and the
    Bonferroni-corrected Welch p (``"Agency/positive: Llama (d = 0.42, p = 0.0020); ..."``); a panel's check holds when that family is the paper's and p < ``alpha``."""
    rows = [r for r in panels.itertuples(index=False) if (r.category, r.framing) in PAPER_BETTER]
    checks = [better_family(r) == PAPER_BETTER[(r.category, r.framing)] and r.p_welch_bonf < alpha for r in rows]
    book = "; ".join(f"{r.category}/{r.framing}: {better_family(r)} (d = {abs(r.cohen_d):.2f}, "
                     f"{p_text(r.p_welch_bonf)})" for r in rows)
    paper = f"{reported.value('big2_direction')}; d {reported.value('big2_d')}"
    return Claim("big2_direction", "Llama RMs favour agency, Gemma RMs communion (Figure 1a)", paper,
                 book or "no Figure 1a panel in this run", tuple(checks), reported.source("big2_direction"))


def interaction_claim(key: str, claim: str, paper_key: str, prompt_level: str, p_prompt: float, rm_level: dict,
                      rm_verdict: str) -> Claim:
    """The base x category x framing interaction as a claim: the prompt-level test (``prompt_level``, such as
    ``"t(1064) = -7.94"``, and its ``p_prompt``) and the RM-level test (:func:`rm_level_test` or
    :func:`rm_level_interaction`, read with :func:`rm_level_verdict`'s ``rm_verdict``). Two checks: significant
    with prompt-level observations (the paper's analysis), and significant with the RMs as units (same sign)."""
    rm_made = not np.isnan(rm_level["p_exact"])
    book = (f"{prompt_level}, {p_text(p_prompt)} with prompt-level observations; with the "
            f"{rm_level['n_gemma'] + rm_level['n_llama']} RMs as units, exact p = "
            + (f"{rm_level['p_exact']:.3f} over {rm_level['n_labelings']} labelings" if rm_made else "not computed")
            + f": it {rm_verdict}")
    rm_check = rm_verdict in (SURVIVES, "is significant at the RM level only") if rm_made else None
    return reported_claim(key, claim, book, (significant(p_prompt), rm_check), paper_key)
