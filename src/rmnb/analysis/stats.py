"""The paper's statistics: ranks, median ranks, the §2 mixed model and the per-panel tests."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats as sps

TIGHT_FIT = {"method": "bfgs", "gtol": 1e-10}  # MixedLM.fit options that reach nlme's REML optimum
FAMILIES = ("Gemma", "Llama")  # the two base families compared throughout; Gemma is the reference level


# --- ranks -----------------------------------------------------------------------------------------------

def rank_within(frame: pd.DataFrame, by, score: str = "score") -> pd.Series:
    """Rank of each row's ``score`` within its ``by`` group: 1 = highest score, ties get the average rank
    (R's ``rank(-score)``)."""
    return frame.groupby(by, sort=False)[score].rank(method="average", ascending=False)


def median_ranks(scores: pd.DataFrame, lexicon: pd.DataFrame, category: str = "category") -> pd.DataFrame:
    """The paper's ``sum_value``: join scores with the lexicon, rank within (model, prompt), then take the
    median rank per (model, category, prompt).

    ``scores`` has ``model, family, response, prompt_id, framing, score``; ``lexicon`` has ``term`` and the
    ``category`` column. Returns one row per (model, category, prompt) with ``sum_value`` and ``n_items``.
    """
    joined = scores.merge(lexicon[["term", category]], left_on="response", right_on="term", how="inner")
    joined["rank"] = rank_within(joined, ["model", "prompt_id"])
    keys = ["model", "family", category, "prompt_id", "framing"]
    out = joined.groupby(keys, sort=False, observed=True)["rank"].agg(sum_value="median", n_items="size")
    return out.reset_index()


def item_ranks(scores: pd.DataFrame, lexicon: pd.DataFrame, category: str = "category") -> pd.DataFrame:
    """Per-item ranks within (model, prompt) after the lexicon join (for word-level tables)."""
    joined = scores.merge(lexicon[["term", category]], left_on="response", right_on="term", how="inner")
    joined["rank"] = rank_within(joined, ["model", "prompt_id"])
    return joined.drop(columns="term")


# --- descriptives ----------------------------------------------------------------------------------------

def per_model_means(med: pd.DataFrame, category: str = "category") -> pd.DataFrame:
    """Each model's mean, SD and SE of its prompt-level median ranks per (category, framing)."""
    grouped = med.groupby(["model", "family", category, "framing"], sort=False, observed=True)["sum_value"]
    out = grouped.agg(mean="mean", sd="std", n="size").reset_index()
    out["se"] = out["sd"] / np.sqrt(out["n"])
    return out


def family_avg_ranks(ranks: pd.DataFrame, category: str = "category") -> pd.DataFrame:
    """The R script's "avg ranks": per model x category x framing the median rank over all (word, prompt)
    rows, averaged over the models of each family; ``diff = Llama - Gemma``."""
    per_model = ranks.groupby(["model", "family", category, "framing"], observed=True)["rank"].median()
    fam = per_model.groupby(["family", category, "framing"], observed=True).mean().unstack("family")
    fam = fam.reindex(columns=[f for f in FAMILIES if f in fam.columns])
    if set(FAMILIES) <= set(fam.columns):
        fam["diff"] = fam["Llama"] - fam["Gemma"]
    return fam.reset_index()


# --- the mixed model -------------------------------------------------------------------------------------

def fit_mixed_model(med: pd.DataFrame, category: str = "category", reference: str | None = None,
                    fit_kwargs: dict | None = None):
    """``sum_value ~ base * category * framing`` with a random intercept per model, REML (statsmodels MixedLM).

    Treatment coding with references Gemma, ``reference`` (default: the first category alphabetically) and
    positive framing, as in the authors' ``nlme::lme``. Returns ``(table, result)`` where ``table`` has, per
    fixed effect: estimate, SE, z and its p (statsmodels' Wald test), and the same statistic read as t with
    nlme's containment denominator df and its p. ``fit_kwargs`` go to ``MixedLM.fit`` (e.g. :data:`TIGHT_FIT`,
    which converges as far as nlme does: statsmodels' default stops where the variance parameters still differ
    from nlme's in the 5th digit, enough to move an intercept F in its 5th digit).

    For term-level tests see :func:`sequential_f_tests` (R's ``anova(lme)``) and :func:`term_f_tests`
    (marginal Wald tests of the treatment-coded coefficients).
    """
    import statsmodels.formula.api as smf

    data = med[med.family.isin(FAMILIES)].copy()
    ref = reference or sorted(data[category].unique())[0]
    formula = (f"sum_value ~ C(family, Treatment('Gemma')) * C({category}, Treatment('{ref}'))"
               " * C(framing, Treatment('positive'))")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = smf.mixedlm(formula, data, groups=data["model"])
        result = model.fit(reml=True, **(fit_kwargs or {}))
    fe = result.fe_params
    se = result.bse_fe
    z = fe / se
    df = containment_df(model.exog, model.exog_names, data["model"].to_numpy())
    table = pd.DataFrame({
        "term": [_pretty(n) for n in fe.index], "estimate": fe.values, "se": se.values, "z": z.values,
        "p_z": 2 * sps.norm.sf(np.abs(z.values)), "df": [df[n] for n in fe.index],
    })
    table["t"] = table["z"]
    table["p_t"] = 2 * sps.t.sf(np.abs(table["t"]), table["df"])
    return table, result


def containment_df(exog: np.ndarray, names, groups: np.ndarray) -> dict[str, int]:
    """nlme's denominator df for a single grouping level: columns constant within every group (between-group
    terms) get ``n_groups - n_between - 1``; the intercept and within-group terms get
    ``N - n_groups - n_within``."""
    n_obs, codes = len(groups), pd.factorize(groups)[0]
    n_groups = codes.max() + 1
    between = {}
    for j, name in enumerate(names):
        if name == "Intercept":
            continue
        col = exog[:, j]
        spread = pd.Series(col).groupby(codes).agg(lambda s: s.max() - s.min())
        between[name] = bool((spread == 0).all())
    n_between = sum(between.values())
    n_within = len(between) - n_between
    out = {"Intercept": n_obs - n_groups - n_within}
    for name, is_between in between.items():
        out[name] = n_groups - n_between - 1 if is_between else n_obs - n_groups - n_within
    return out


def term_f_tests(table: pd.DataFrame, result) -> pd.DataFrame:
    """Marginal Wald F-test of every model term: all its treatment-coded coefficients tested jointly against 0,
    given every other coefficient, with the containment df of its coefficients as denominator df.

    This is nlme's ``anova(fit, type = "marginal")`` table, *not* R's default ``anova(lme)``, which is sequential
    (type I, :func:`sequential_f_tests`). With treatment coding a lower-order row here tests the effect at the
    reference levels of the other factors (e.g. ``family`` = Gemma-vs-Llama for the reference category and
    positive framing), not a main effect. Only the highest-order term (the three-way interaction, entered last)
    means the same in both tables.
    """
    names = list(result.fe_params.index)
    cov = result.cov_params().loc[names, names].to_numpy()
    pretty = [_pretty(n) for n in names]
    terms = {}
    for i, p in enumerate(pretty):
        if p == "(Intercept)":
            continue
        key = ":".join(part.split("[")[0] for part in p.split(":"))
        terms.setdefault(key, []).append(i)
    rows = []
    beta = result.fe_params.to_numpy()
    for key, idx in terms.items():
        b, v = beta[idx], cov[np.ix_(idx, idx)]
        f = float(b @ np.linalg.solve(v, b)) / len(idx)
        den = int(table.iloc[idx[0]]["df"])
        rows.append(dict(term=key, num_df=len(idx), den_df=den, F=f, p=sps.f.sf(f, len(idx), den)))
    return pd.DataFrame(rows)


def sequential_f_tests(result) -> pd.DataFrame:
    """Sequential (type I) F-test of each term, as R's default ``anova(lme_fit)`` prints it (nlme ``anova.lme``,
    ``type = "sequential"``), with nlme's containment denominator df (:func:`nlme_term_df`).

    ``result`` is a statsmodels ``MixedLMResults`` fitted from a formula (REML, one grouping factor), e.g. the
    second value of :func:`fit_mixed_model`. Terms are entered in R's order (:func:`r_term_order`): the intercept,
    main effects, two-way, then three-way interactions, each group in the formula's order. For the paper's
    ``base * category * framing`` model only the last row, the three-way interaction, equals the marginal Wald
    test of :func:`term_f_tests`; every earlier row tests a term *after* the terms before it, ignoring those
    after it (in a balanced design: averaged over the factors it does not involve, not at their reference levels).

    Validated against R/nlme's published ``anova(lme(distance ~ age * Sex, random = ~1 | Subject))`` of the
    Orthodont data (``tests/test_stats.py``); fit with :data:`TIGHT_FIT` to match nlme's numbers to print precision.

    Method (nlme): with fixed effects ``beta`` and their covariance ``V`` from the fit, take the upper-triangular
    Cholesky factor ``U`` of ``V^-1`` (``V^-1 = U'U``; nlme's ``R / sigma`` from the QR decomposition of the
    GLS-transformed design). ``c = U beta`` splits the fitted fixed part into orthogonal pieces, one per column
    in column order; a term's F is the mean of ``c**2`` over its columns. Each term is so tested after the terms
    before it and ignoring those after it; the last term's F equals its marginal Wald F
    (:func:`term_f_tests`). Returns ``term, num_df, den_df, F, p`` (``p`` is NaN where ``den_df`` < 1).
    """
    model = result.model
    names = list(result.fe_params.index)
    assign = r_term_order(model.formula, model.data.frame, names)
    order = [i for idx in assign.values() for i in idx]  # columns regrouped term by term, R's term order
    beta = result.fe_params.to_numpy()[order]
    cov = result.cov_params().loc[names, names].to_numpy()[np.ix_(order, order)]
    upper = np.linalg.cholesky(np.linalg.inv(cov)).T
    c0 = pd.Series(upper @ beta, index=order)
    den = nlme_term_df(model.exog, assign, model.groups)
    rows = []
    for term, idx in assign.items():
        f = float(np.sum(c0.loc[idx].to_numpy() ** 2)) / len(idx)
        d = den[term]
        p = float(sps.f.sf(f, len(idx), d)) if d >= 1 else float("nan")
        rows.append(dict(term=_term_label(term), num_df=len(idx), den_df=int(d), F=f, p=p))
    return pd.DataFrame(rows)


def term_test_table(wald: pd.DataFrame, sequential: pd.DataFrame) -> pd.DataFrame:
    """The marginal Wald table (:func:`term_f_tests`) and R's sequential table (:func:`sequential_f_tests`) side
    by side, one row per term in R's order: ``term, num_df, den_df, F_sequential, p_sequential, F_wald, p_wald,
    same_hypothesis``. ``same_hypothesis`` is True for the highest-order term only (the one row where both tables
    test the same thing); the intercept has no Wald row (NaN)."""
    seq = sequential.rename(columns={"F": "F_sequential", "p": "p_sequential"})
    wal = wald[["term", "F", "p"]].rename(columns={"F": "F_wald", "p": "p_wald"})
    out = seq.merge(wal, on="term", how="left")
    order = out.term.map(lambda t: -1 if t == "(Intercept)" else t.count(":"))
    out["same_hypothesis"] = order == order.max()
    return out[["term", "num_df", "den_df", "F_sequential", "p_sequential", "F_wald", "p_wald", "same_hypothesis"]]


def r_term_order(formula: str, frame: pd.DataFrame, exog_names) -> dict[str, list[int]]:
    """Term name -> indices into ``exog_names``, terms in R's order: the intercept, then by degree (main effects,
    two-way, three-way), ties in the formula's expansion order (R's ``terms()``; patsy itself groups columns by
    their numeric factors instead, which would change a sequential table)."""
    import patsy

    desc = patsy.ModelDesc.from_formula(formula)
    position = {t.name(): i for i, t in enumerate(desc.rhs_termlist)}
    rhs = patsy.ModelDesc([], desc.rhs_termlist)
    info = patsy.dmatrix(rhs, frame, return_type="dataframe").design_info
    where = {name: i for i, name in enumerate(exog_names)}
    assign = {term: [where[info.column_names[j]] for j in range(sl.start, sl.stop)]
              for term, sl in info.term_name_slices.items()}
    ranked = sorted(assign, key=lambda t: (0 if t == "Intercept" else t.count(":") + 1, position[t]))
    return {t: assign[t] for t in ranked}


def nlme_term_df(exog: np.ndarray, assign: dict[str, list[int]], groups) -> dict[str, int]:
    """nlme's denominator df per *term* for one grouping level (``getFixDF``'s ``terms``).

    A term is estimated between groups when all its columns are constant within every group, else within
    groups. Between-group terms get ``n_groups - (their parameters) - 1`` (the 1 is the intercept); within-group
    terms get ``N - n_groups - (their parameters)``; the intercept gets the larger of the two. ``assign`` maps
    term name -> column indices (``"Intercept"`` for the intercept column).
    """
    codes = pd.factorize(np.asarray(groups))[0]
    n_obs, n_groups = len(codes), int(codes.max()) + 1
    between_df, within_df = n_groups, n_obs - n_groups
    stratum = {}
    for term, idx in assign.items():
        if term == "Intercept":
            continue
        frame = pd.DataFrame(exog[:, idx]).groupby(codes)
        varies = bool(((frame.max() - frame.min()).abs() > 1e-12).to_numpy().any())
        stratum[term] = "within" if varies else "between"
        if varies:
            within_df -= len(idx)
        else:
            between_df -= len(idx)
    if "Intercept" in assign:
        between_df -= 1
    else:
        within_df += 1
    out = {t: (within_df if s == "within" else between_df) for t, s in stratum.items()}
    if "Intercept" in assign:
        out["Intercept"] = max(between_df, within_df)
    return out


def _term_label(term: str) -> str:
    """``"C(family, Treatment('Gemma')):C(framing, ...)"`` -> ``"family:framing"``; ``Intercept`` ->
    ``(Intercept)``."""
    if term == "Intercept":
        return "(Intercept)"
    return ":".join(p.split("C(")[1].split(",")[0].rstrip(")") if p.startswith("C(") else p
                    for p in term.split(":"))


def _pretty(name: str) -> str:
    if name == "Intercept":
        return "(Intercept)"
    parts = []
    for part in name.split(":"):
        factor = part.split("C(")[1].split(",")[0] if part.startswith("C(") else part
        level = part.split("[T.")[1].rstrip("]") if "[T." in part else ""
        parts.append(f"{factor}[{level}]" if level else factor)
    return ":".join(parts)


# --- per-panel tests -------------------------------------------------------------------------------------

def welch_t(a: np.ndarray, b: np.ndarray) -> float:
    """Welch's t statistic for mean(b) - mean(a)."""
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    return (b.mean() - a.mean()) / np.sqrt(va + vb)


def permutation_p(a: np.ndarray, b: np.ndarray, n_permutations: int, seed: int) -> float:
    """Two-sided Monte-Carlo permutation p of Welch's t (labels shuffled), ``(k + 1) / (n + 1)``."""
    rng = np.random.default_rng(seed)
    pooled = np.concatenate([a, b])
    observed = abs(welch_t(a, b))
    perms = np.argsort(rng.random((n_permutations, len(pooled))), axis=1)
    shuffled = pooled[perms]
    xa, xb = shuffled[:, : len(a)], shuffled[:, len(a):]
    t = (xb.mean(1) - xa.mean(1)) / np.sqrt(xa.var(1, ddof=1) / len(a) + xb.var(1, ddof=1) / len(b))
    return (np.sum(np.abs(t) >= observed - 1e-12) + 1) / (n_permutations + 1)


def cohen_d(a: np.ndarray, b: np.ndarray) -> float:
    """Cohen's d of mean(b) - mean(a) over the pooled SD."""
    na, nb = len(a), len(b)
    pooled = np.sqrt(((na - 1) * a.var(ddof=1) + (nb - 1) * b.var(ddof=1)) / (na + nb - 2))
    return (b.mean() - a.mean()) / pooled


def significance(p: float, alpha: float = 0.05) -> str:
    """``"significant"`` when ``p < alpha``, else ``"not significant"`` (NaN: ``"not testable"``), for prose."""
    if p is None or np.isnan(p):
        return "not testable"
    return "significant" if p < alpha else "not significant"


def stars(p: float) -> str:
    return "***" if p < 0.001 else "**" if p < 0.01 else "*" if p < 0.05 else "n.s."


def panel_tests(med: pd.DataFrame, category: str = "category", n_permutations: int = 9999,
                seed: int = 42) -> pd.DataFrame:
    """Gemma vs Llama prompt-level median ranks in every (category, framing) panel.

    Welch t (with pingouin's BF10), Cohen's d of Llama - Gemma over the pooled SD (negative = Llama ranks the
    category better, since rank 1 is best), a seeded label-permutation test of Welch's t, and Bonferroni
    correction over the panels: ``min(p * n_panels, 1)``.
    """
    import pingouin as pg

    rows = []
    panels = med[[category, "framing"]].drop_duplicates().itertuples(index=False)
    for i, (cat, framing) in enumerate(panels):
        cell = med[(med[category] == cat) & (med.framing == framing)]
        gem = cell.loc[cell.family == "Gemma", "sum_value"].to_numpy(float)
        lla = cell.loc[cell.family == "Llama", "sum_value"].to_numpy(float)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tt = pg.ttest(lla, gem, correction=True)
        rows.append(dict(category=cat, framing=framing, n_gemma=len(gem), n_llama=len(lla),
                         mean_gemma=gem.mean(), mean_llama=lla.mean(), diff=lla.mean() - gem.mean(),
                         t=float(tt["T"].iloc[0]), dof=float(tt["dof"].iloc[0]), p_welch=float(tt["p_val"].iloc[0]),
                         bf10=float(tt["BF10"].iloc[0]), cohen_d=cohen_d(gem, lla),
                         p_perm=permutation_p(gem, lla, n_permutations, seed + i)))
    out = pd.DataFrame(rows)
    k = len(out)
    out["p_welch_bonf"] = np.minimum(out.p_welch * k, 1.0)
    out["p_perm_bonf"] = np.minimum(out.p_perm * k, 1.0)
    out["stars_welch"] = out.p_welch_bonf.map(stars)
    out["stars_perm"] = out.p_perm_bonf.map(stars)
    return out


# --- exact tests with few units (the RM as the unit of analysis) ------------------------------------------

def labelings(n: int, k: int) -> np.ndarray:
    """Every way to mark ``k`` of ``n`` units as the first group: a boolean array of shape (C(n, k), n), in
    ``itertools.combinations`` order (the first row marks units 0..k-1)."""
    from itertools import combinations

    rows = list(combinations(range(n), k))
    out = np.zeros((len(rows), n), dtype=bool)
    for i, chosen in enumerate(rows):
        out[i, list(chosen)] = True
    return out


def exact_permutation_p(a, b, statistic=None) -> tuple[float, int]:
    """Two-sided exact permutation test of ``statistic(a, b)`` (default: Welch's t): the share of **all**
    C(n_a + n_b, n_a) relabelings of the pooled units whose ``|statistic|`` is at least the observed one (the
    observed labeling is one of them, so p >= 1 / that count). ``a`` and ``b`` hold one unit per row (a vector
    of values or a units x features matrix). Returns ``(p, number of labelings)``."""
    statistic = statistic or welch_t
    a, b = np.asarray(a, float), np.asarray(b, float)
    pooled = np.concatenate([a, b])
    with np.errstate(all="ignore"):
        observed = abs(statistic(a, b))
    marks = labelings(len(pooled), len(a))
    if not np.isfinite(observed):  # too few units in a group for the statistic: not testable
        return float("nan"), len(marks)
    values = np.array([abs(statistic(pooled[m], pooled[~m])) for m in marks])
    return float(np.mean(values >= observed - 1e-9 * max(1.0, observed))), len(marks)


def smallest_exact_p(n_a: int, n_b: int) -> float:
    """The smallest p :func:`exact_permutation_p` can return for groups of ``n_a`` and ``n_b`` units: 1 over the
    number of labelings, or 2 over it when the groups are equal in size (swapping them gives the same |t|)."""
    from math import comb

    return (2 if n_a == n_b else 1) / comb(n_a + n_b, n_a)


def hotelling_t2(a, b) -> float:
    """Two-sample Hotelling T² of two groups of units (rows) x features (columns), pooled covariance."""
    a, b = np.atleast_2d(np.asarray(a, float)), np.atleast_2d(np.asarray(b, float))
    na, nb = len(a), len(b)
    pooled = ((na - 1) * np.cov(a, rowvar=False, ddof=1) + (nb - 1) * np.cov(b, rowvar=False, ddof=1)) / (na + nb - 2)
    d = b.mean(0) - a.mean(0)
    return float(na * nb / (na + nb) * d @ np.linalg.solve(np.atleast_2d(pooled), d))


def exact_test_power(n_a: int, n_b: int, d: float, alpha: float = 0.05, n_sims: int = 2000,
                     seed: int = 0) -> float:
    """Monte-Carlo power of the exact Welch permutation test (:func:`exact_permutation_p`) for normal units whose
    group means differ by ``d`` within-group SDs: the share of ``n_sims`` seeded draws with p < ``alpha``."""
    rng = np.random.default_rng(seed)
    marks = labelings(n_a + n_b, n_a)
    draws = rng.normal(size=(n_sims, n_a + n_b))
    draws[:, n_a:] += d
    ka = marks.sum(1)[0]
    t = np.empty((n_sims, len(marks)))
    for i, m in enumerate(marks):
        xa, xb = draws[:, m], draws[:, ~m]
        t[:, i] = np.abs(xb.mean(1) - xa.mean(1)) / np.sqrt(xa.var(1, ddof=1) / ka + xb.var(1, ddof=1) / (len(m) - ka))
    observed = t[:, 0]  # the first labeling marks units 0..n_a-1: the true groups
    p = np.mean(t >= observed[:, None] - 1e-9, axis=1)
    return float(np.mean(p < alpha))
