"""The §2 pipeline shared by the Big Two and MFD2 chapters: ranks -> median ranks -> mixed model -> panel
tests -> per-model means, plus the glue names of the results JSON."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from rmnb.analysis import stats


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


def glue_term(results, table_row: pd.Series, name: str) -> None:
    """Glue ``<name>_{estimate,se,df,t,p,z,p_z}`` for one fixed effect."""
    for field, column in (("estimate", "estimate"), ("se", "se"), ("df", "df"), ("t", "t"), ("p", "p_t"),
                          ("z", "z"), ("p_z", "p_z")):
        results.glue(f"{name}_{field}", table_row[column])
