"""Known-answer tests of the statistics: they fail if the definitions drift."""

import numpy as np
import pandas as pd
import pytest

from rmnb.analysis import stats


def test_rank_within_highest_is_one_ties_averaged():
    frame = pd.DataFrame({"g": ["a"] * 5 + ["b"] * 2, "score": [3.0, 1.0, 3.0, 2.0, 0.5, 1.0, 2.0]})
    ranks = stats.rank_within(frame, "g").tolist()
    assert ranks == [1.5, 4.0, 1.5, 3.0, 5.0, 2.0, 1.0]


def test_median_ranks_joins_lexicon_and_takes_medians():
    scores = pd.DataFrame({"model": "m", "family": "Gemma", "prompt_id": "best_ever_one", "framing": "positive",
                           "response": ["a1", "a2", "c1", "c2", "extra"], "score": [4.0, 1.0, 3.0, 2.0, 9.0]})
    lexicon = pd.DataFrame({"term": ["a1", "a2", "c1", "c2"], "category": ["A", "A", "C", "C"]})
    med = stats.median_ranks(scores, lexicon).set_index("category")
    # "extra" is dropped before ranking: ranks a1=1, c1=2, c2=3, a2=4
    assert med.loc["A", "sum_value"] == 2.5 and med.loc["C", "sum_value"] == 2.5
    assert med.loc["A", "n_items"] == 2


def _simulated(planted: float, seed: int = 0, n_models: int = 10, n_gemma: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for m in range(n_models):
        family = "Gemma" if m < n_gemma else "Llama"
        offset = rng.normal(0, 3)
        for category in ("Agency", "Communion"):
            for p in range(54):
                framing = "positive" if p < 27 else "negative"
                three = planted * (family == "Llama") * (category == "Communion") * (framing == "negative")
                rows.append(dict(model=f"m{m}", family=family, category=category, framing=framing,
                                 prompt_id=f"p{p}", sum_value=100 + offset + three + rng.normal(0, 5)))
    return pd.DataFrame(rows)


def test_mixed_model_recovers_planted_interaction_with_nlme_df():
    table, _ = stats.fit_mixed_model(_simulated(planted=-20.0))
    three = table[table.term.str.count(":") == 2].iloc[0]
    assert three.estimate == pytest.approx(-20.0, abs=3.0)
    assert three.p_t < 1e-6
    assert three.df == 1080 - 10 - 6
    assert table.set_index("term").loc["family[Llama]", "df"] == 8


def test_mixed_model_with_one_model_per_family_leaves_family_untestable():
    # chapter 01's exercise 2: one RM per family leaves 0 between-model df for the family term
    table, _ = stats.fit_mixed_model(_simulated(planted=-20.0, n_models=2, n_gemma=1))
    terms = table.set_index("term")
    assert terms.loc["family[Llama]", "df"] == 0 and np.isnan(terms.loc["family[Llama]", "p_t"])
    three = table[table.term.str.count(":") == 2].iloc[0]
    assert three.estimate == pytest.approx(-20.0, abs=8.0) and three.p_t < 1e-3  # SE about 2.7


def test_mixed_model_null_interaction_is_not_significant():
    table, _ = stats.fit_mixed_model(_simulated(planted=0.0, seed=3))
    three = table[table.term.str.count(":") == 2].iloc[0]
    assert abs(three.estimate) < 4 and three.p_t > 0.01


def test_welch_and_cohen_d_known_values():
    a, b = np.array([1.0, 2.0, 3.0, 4.0]), np.array([3.0, 4.0, 5.0, 6.0, 7.0])
    # mean diff 2.5; var a 1.6667, var b 2.5 -> t = 2.5 / sqrt(1.6667/4 + 2.5/5)
    assert stats.welch_t(a, b) == pytest.approx(2.5 / np.sqrt(1.6666667 / 4 + 0.5), rel=1e-6)
    pooled = np.sqrt((3 * 1.6666667 + 4 * 2.5) / 7)
    assert stats.cohen_d(a, b) == pytest.approx(2.5 / pooled, rel=1e-6)


def test_permutation_p_is_seeded_and_bounded():
    rng = np.random.default_rng(1)
    a, b = rng.normal(0, 1, 30), rng.normal(0, 1, 30)
    p1 = stats.permutation_p(a, b, 999, seed=5)
    assert p1 == stats.permutation_p(a, b, 999, seed=5)
    assert 1 / 1000 <= p1 <= 1
    far = stats.permutation_p(a, b + 10, 999, seed=5)
    assert far == pytest.approx(1 / 1000)


def test_panel_tests_bonferroni_and_direction():
    med = _simulated(planted=-20.0)
    panels = stats.panel_tests(med, n_permutations=199)
    assert len(panels) == 4
    assert (panels.p_welch_bonf == np.minimum(panels.p_welch * 4, 1)).all()
    cell = panels[(panels.category == "Communion") & (panels.framing == "negative")].iloc[0]
    assert cell.mean_llama < cell.mean_gemma and cell.cohen_d < 0 and cell.stars_welch != "n.s."
