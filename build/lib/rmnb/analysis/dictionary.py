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
    f_tests: pd.DataFrame         # joint Wald F-test per model term
    panels: pd.DataFrame          # Gemma vs Llama per (category, framing) panel
    per_model: pd.DataFrame       # each RM's mean / SD / SE of its prompt-level medians
    n_items: int                  # items ranked per (model, prompt)

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
    return DictionaryAnalysis(
        category=category, ranks=ranks, med=med, mixed=mixed, f_tests=stats.term_f_tests(mixed, result),
        panels=stats.panel_tests(med, category, n_permutations, seed), per_model=stats.per_model_means(med, category),
        n_items=int(ranks.groupby(["model", "prompt_id"]).size().max()),
    )


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
