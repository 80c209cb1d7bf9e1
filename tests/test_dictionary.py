"""The reward model as the unit of analysis (rmnb.analysis.dictionary, chapters 01 and 02): exact permutation
tests over every family labeling, Hotelling's T², and the RM-level verdicts, on synthetic RMs whose answer is
known."""

from itertools import combinations
from math import comb

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from rmnb.analysis import dictionary as da
from rmnb.analysis import stats


def _rms(planted: dict, rm_sd: float = 0.0, noise: float = 5.0, seed: int = 0, categories=("Agency", "Communion"),
         n_gemma: int = 4, n_models: int = 10, column: str = "category") -> pd.DataFrame:
    """Prompt-level median ranks of synthetic RMs: ``planted`` maps (category, framing) to a Llama-minus-Gemma
    shift; every RM also gets its own random shift per cell (SD ``rm_sd``) and each prompt noise (SD ``noise``)."""
    rng = np.random.default_rng(seed)
    rows = []
    for m in range(n_models):
        family = "Gemma" if m < n_gemma else "Llama"
        offset = rng.normal(0, 3)
        for cat in categories:
            for framing in ("positive", "negative"):
                own = rng.normal(0, rm_sd)
                shift = planted.get((cat, framing), 0.0) * (family == "Llama")
                for p in range(27):
                    rows.append({"model": f"m{m}", "family": family, column: cat, "framing": framing,
                                 "prompt_id": f"{framing}{p}",
                                 "sum_value": 100 + offset + own + shift + rng.normal(0, noise)})
    return pd.DataFrame(rows)


# --- the exact test --------------------------------------------------------------------------------------------

def test_all_210_labelings_of_4_gemma_and_6_llama_rms():
    marks = stats.labelings(10, 4)
    assert marks.shape == (210, 10) == (comb(10, 4), 10)
    assert (marks.sum(axis=1) == 4).all()
    assert len({tuple(np.flatnonzero(m)) for m in marks}) == 210  # every labeling once
    assert np.flatnonzero(marks[0]).tolist() == [0, 1, 2, 3]


def test_exact_p_matches_brute_force_and_its_floor():
    rng = np.random.default_rng(3)
    a, b = rng.normal(0, 1, 4), rng.normal(0.5, 1, 6)
    p, n = stats.exact_permutation_p(a, b)
    pooled = np.concatenate([a, b])
    observed = abs(stats.welch_t(a, b))
    count = 0
    for chosen in combinations(range(10), 4):
        mask = np.zeros(10, bool)
        mask[list(chosen)] = True
        count += abs(stats.welch_t(pooled[mask], pooled[~mask])) >= observed - 1e-9
    assert n == 210 and p == pytest.approx(count / 210)
    assert p >= 1 / 210


def test_perfectly_separated_families_reach_the_smallest_p_and_no_lower():
    gemma, llama = np.array([1.0, 2.0, 3.0, 4.0]), np.array([50.0, 51.0, 52.0, 53.0, 54.0, 55.0])
    p, n = stats.exact_permutation_p(gemma, llama)
    assert n == 210 and p == pytest.approx(1 / 210) == pytest.approx(stats.smallest_exact_p(4, 6))
    # equal groups: swapping them gives the same |t|, so two labelings are always as extreme
    p3, n3 = stats.exact_permutation_p(gemma[:3], llama[:3])
    assert n3 == 20 and p3 == pytest.approx(2 / 20) == pytest.approx(stats.smallest_exact_p(3, 3))


def test_hotelling_t2_with_one_feature_is_students_t_squared():
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 1, (4, 1)), rng.normal(1, 1, (6, 1))
    t = sps.ttest_ind(b[:, 0], a[:, 0], equal_var=True).statistic
    assert stats.hotelling_t2(a, b) == pytest.approx(t ** 2)


def test_exact_test_power_grows_with_the_effect():
    null = stats.exact_test_power(4, 6, 0.0, n_sims=800, seed=1)
    large = stats.exact_test_power(4, 6, 1.0, n_sims=800, seed=1)
    huge = stats.exact_test_power(4, 6, 4.0, n_sims=800, seed=1)
    assert null <= 0.08 and null < large < huge and huge > 0.9
    assert stats.exact_test_power(4, 6, 1.0, n_sims=800, seed=1) == large  # seeded


# --- chapter 01: the per-RM contrast and the panels -------------------------------------------------------------

def test_rm_contrast_difference_is_the_mixed_models_three_way_coefficient():
    med = _rms({("Communion", "negative"): -20.0}, rm_sd=2.0)
    contrast = da.rm_contrast(stats.per_model_means(med))
    assert contrast.index.names == ["family", "model"] and len(contrast) == 10
    test = da.rm_level_test(*da.family_groups(contrast))
    table, _ = stats.fit_mixed_model(med)
    three = table[table.term.str.count(":") == 2].iloc[0]
    assert test["diff"] == pytest.approx(three.estimate, abs=1e-6)
    assert test["n_labelings"] == 210 and (test["n_gemma"], test["n_llama"]) == (4, 6)


def test_a_planted_family_effect_survives_at_the_rm_level():
    med = _rms({("Communion", "negative"): -20.0}, rm_sd=1.0)
    test = da.rm_level_test(*da.family_groups(da.rm_contrast(stats.per_model_means(med))))
    assert test["p_exact"] == pytest.approx(1 / 210) and test["p_welch"] < 0.001
    table, _ = stats.fit_mixed_model(med)
    three = table[table.term.str.count(":") == 2].iloc[0]
    assert da.rm_level_verdict(three.p_t, test["p_exact"], np.sign(three.estimate) == np.sign(test["diff"])) \
        == "survives at the RM level"


def test_rm_to_rm_spread_alone_fools_the_prompt_level_test_but_not_the_rm_level_one():
    # no family effect, but each RM has its own contrast (SD 15) that its 27 prompts all share: the mixed model
    # with a random intercept only reads that spread as a family effect, the RM-level test does not
    med = _rms({}, rm_sd=15.0, seed=11)
    table, _ = stats.fit_mixed_model(med)
    three = table[table.term.str.count(":") == 2].iloc[0]
    test = da.rm_level_test(*da.family_groups(da.rm_contrast(stats.per_model_means(med))))
    assert three.p_t < 0.05 and test["p_exact"] > 0.05
    assert da.rm_level_verdict(three.p_t, test["p_exact"]) == "does not survive at the RM level"


def test_rm_level_panels_and_verdicts_per_panel():
    med = _rms({("Agency", "positive"): -30.0}, rm_sd=1.0)
    pm = stats.per_model_means(med)
    rm_panels = da.rm_level_panels(pm)
    assert len(rm_panels) == 4 and (rm_panels.n_labelings == 210).all()
    assert (rm_panels.p_exact_bonf == np.minimum(rm_panels.p_exact * 4, 1)).all()
    verdicts = da.rm_panel_verdicts(stats.panel_tests(med, n_permutations=99), rm_panels).set_index(
        ["category", "framing"])
    assert verdicts.loc[("Agency", "positive"), "verdict"] == "survives at the RM level"
    assert verdicts.loc[("Communion", "negative"), "verdict"] == "is significant at neither level"
    sentence = da.rm_panel_sentence(verdicts.reset_index())
    assert sentence.startswith("Agency/") and sentence.count(";") == 3


@pytest.mark.parametrize("p_prompt, p_rm, same, verdict", [
    (0.001, 0.01, True, "survives at the RM level"),
    (0.001, 0.2, True, "does not survive at the RM level"),
    (0.001, 0.01, False, "does not survive at the RM level"),  # significant, but the RMs point the other way
    (0.3, 0.01, True, "is significant at the RM level only"),
    (0.3, 0.2, True, "is significant at neither level"),
])
def test_rm_level_verdict_rule(p_prompt, p_rm, same, verdict):
    assert da.rm_level_verdict(p_prompt, p_rm, same) == verdict


def test_what_an_exact_test_over_210_labelings_can_show():
    design = da.rm_level_design(4, 6, n_panels=4)
    assert design["n_units"] == 10 and design["n_labelings"] == 210
    assert design["p_min"] == pytest.approx(1 / 210) and design["p_min_bonf"] == pytest.approx(4 / 210)
    assert design["n_reject"] == 10  # 10 / 210 < .05 <= 11 / 210
    assert design["n_reject_bonf"] == 2  # 2 / 210 < .0125 <= 3 / 210
    assert 0 < design["power"] < 1 and design["power_d"] == da.RM_POWER_D
    assert da.rm_level_design(4, 6, n_panels=10)["n_reject_bonf"] == 1  # only the most extreme labeling


# --- chapter 02: the foundation x framing profile -----------------------------------------------------------------

FOUNDATIONS = ("Authority", "Care", "Fairness", "Loyalty", "Sanctity")


def test_interaction_profiles_are_centred_and_any_k_minus_1_columns_give_the_same_t2():
    med = _rms({("Care", "negative"): -25.0}, rm_sd=2.0, categories=FOUNDATIONS, column="foundation")
    prof = da.rm_interaction_profiles(stats.per_model_means(med, "foundation"))
    assert list(prof.columns) == list(FOUNDATIONS) and np.allclose(prof.sum(axis=1), 0)
    gemma, llama = da.family_groups(prof)
    assert stats.hotelling_t2(gemma[:, :-1], llama[:, :-1]) == pytest.approx(stats.hotelling_t2(gemma[:, 1:],
                                                                                                   llama[:, 1:]))


def test_rm_level_interaction_finds_a_planted_profile_and_not_a_null_one():
    planted = _rms({("Care", "negative"): -25.0}, rm_sd=2.0, categories=FOUNDATIONS, column="foundation")
    found = da.rm_level_interaction(stats.per_model_means(planted, "foundation"))
    assert (found["df1"], found["df2"], found["n_labelings"]) == (4, 5, 210)
    assert found["p_exact"] < 0.05 and found["p_f"] < 0.05
    gemma, llama = da.family_groups(da.rm_interaction_profiles(stats.per_model_means(planted, "foundation")))
    assert found["F"] == pytest.approx(stats.hotelling_t2(gemma[:, :-1], llama[:, :-1]) * 5 / (4 * 8))
    null = _rms({}, rm_sd=15.0, categories=FOUNDATIONS, column="foundation", seed=4)
    assert da.rm_level_interaction(stats.per_model_means(null, "foundation"))["p_exact"] > 0.05


def test_one_rm_in_a_family_is_not_testable_and_says_so():
    med = _rms({("Agency", "positive"): -30.0}, n_gemma=1, n_models=3)
    test = da.rm_level_test(*da.family_groups(da.rm_contrast(stats.per_model_means(med))))
    assert np.isnan(test["p_exact"]) and np.isnan(test["p_welch"]) and test["n_labelings"] == 3
    assert da.rm_level_verdict(0.001, test["p_exact"]).startswith("cannot be tested at the RM level")
    assert np.isnan(da.rm_level_design(1, 2, n_panels=4)["power"])
    fives = _rms({}, categories=FOUNDATIONS, column="foundation", n_gemma=2, n_models=5)
    assert np.isnan(da.rm_level_interaction(stats.per_model_means(fives, "foundation"))["p_exact"])


def test_whether_the_two_rm_level_tests_agree():
    assert da.rm_tests_agree(0.01, 0.02) == da.rm_tests_agree(0.3, 0.2) == "the two RM-level tests agree at .05"
    assert da.rm_tests_agree(0.049, 0.057).startswith("the two RM-level tests disagree at .05; the verdict follows")
    assert da.rm_tests_agree(0.049, 0.057, alpha=0.1) == "the two RM-level tests agree at .10"
    assert da.rm_tests_agree(float("nan"), 0.1) == "neither RM-level test can be computed"
