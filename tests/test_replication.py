"""rmnb.analysis.replication: chapter 06's pre-registered test, its three verdicts on synthetic seeds, the power
estimate, the prediction check and the word-level inheritance statistic."""

import math

import numpy as np
import pandas as pd
import pytest

from rmnb.analysis import replication as rep

FAMILIES = ("SmolLM", "Gemma")   # the second base is the Gemma one: paper direction = communion gap - agency gap > 0


def _gaps(agency, communion, when="final"):
    rows = [dict(seed=i + 1, when=when, category="Agency", gap=a) for i, a in enumerate(agency)]
    rows += [dict(seed=i + 1, when=when, category="Communion", gap=c) for i, c in enumerate(communion)]
    return pd.DataFrame(rows)


def test_contrast_sign_follows_which_base_is_gemma():
    assert rep.contrast_sign(("SmolLM", "Gemma")) == 1
    assert rep.contrast_sign(("Gemma", "Llama")) == -1
    assert rep.contrast_sign(("Llama", "SmolLM")) is None


def test_split_contrasts_per_seed():
    c = rep.split_contrasts(_gaps([-7, -47, -25.5], [8, 23.75, 28]), FAMILIES)
    assert list(c.contrast) == [15, 70.75, 53.5]
    flipped = rep.split_contrasts(_gaps([-7, -47, -25.5], [8, 23.75, 28]), ("Gemma", "SmolLM"))
    assert list(flipped.contrast) == [-15, -70.75, -53.5]
    assert rep.split_contrasts(_gaps([1, 2], [3, 4]), ("A", "B")).contrast.isna().all()


def test_three_verdicts_on_synthetic_seeds():
    rng = np.random.default_rng(1)
    agrees = rep.preregistered_test(rng.normal(30, 10, 10))
    assert agrees["verdict"] == rep.AGREES and agrees["p"] < rep.ALPHA and agrees["low"] > 0
    opposite = rep.preregistered_test(rng.normal(-30, 10, 10))
    assert opposite["verdict"] == rep.OPPOSITE and opposite["high"] < 0
    unclear = rep.preregistered_test([5.0, -4.0, 3.0, -6.0, 2.5])
    assert unclear["verdict"].startswith("inconclusive at 5 seeds (about ")
    assert unclear["seeds_needed"] > 5 and unclear["p"] >= rep.ALPHA


def test_the_issues_three_seeds_are_inconclusive_and_the_power_estimate_is_sane():
    out = rep.preregistered_test([15, 70.75, 53.5])
    assert out["n"] == 3 and out["p"] > rep.ALPHA      # t(2) with three seeds: wide interval
    assert out["verdict"] == f"inconclusive at 3 seeds (about {out['seeds_needed']} needed)"
    assert 3 < out["seeds_needed"] <= 10
    assert rep.seeds_needed(out["d"]) == out["seeds_needed"]
    # larger effects need fewer seeds
    assert rep.seeds_needed(2.0) < rep.seeds_needed(0.8) < rep.seeds_needed(0.3)
    assert rep.seeds_needed(0.0) is None


def test_degenerate_inputs():
    assert rep.preregistered_test([math.nan, math.nan])["verdict"].startswith("no paper direction")
    one = rep.preregistered_test([12.0])
    assert one["verdict"] == "inconclusive at 1 seed (no effect to power)" and math.isnan(one["p"])
    same = rep.preregistered_test([4.0, 4.0, 4.0])
    assert same["p"] == 0.0 and same["verdict"] == rep.AGREES


def test_category_tests_and_sign_test():
    tests = rep.category_tests(_gaps([-7, -47, -25.5, -3, -12], [8, 23.75, 28, -1, 10]), FAMILIES)
    agency = tests.set_index("category").loc["Agency"]
    communion = tests.set_index("category").loc["Communion"]
    assert agency.paper_sign == -1 and agency.k_paper_sign == 5 and agency.sign_p == pytest.approx(0.0625)
    assert communion.k_paper_sign == 4 and communion.sign_p == pytest.approx(0.375)


def test_prediction_check():
    tests = pd.DataFrame([dict(category="Agency", mean_gap=-20.0, low=-30.0, high=-10.0),
                          dict(category="Communion", mean_gap=5.0, low=-2.0, high=12.0)])
    out = rep.prediction_check({"Agency": "smol", "Communion": "gemma"}, tests, ("smol", "gemma")).set_index("category")
    assert out.loc["Agency", "observed"] == "smol" and out.loc["Agency", "agree"] == "yes"
    assert out.loc["Communion", "observed"] == "no clear difference" and out.loc["Communion", "agree"] == "undecided"
    wrong = rep.prediction_check({"Agency": "gemma"}, tests.head(1), ("smol", "gemma"))
    assert wrong.agree.iloc[0] == "no"


def test_inheritance_detects_a_link_and_its_absence():
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(80)]
    lm = pd.Series(rng.normal(size=80), index=words)
    linked = rep.inheritance(lm * 2 + rng.normal(scale=0.5, size=80), lm, n_permutations=999)
    assert linked["rho"] > 0.7 and linked["p"] <= 0.002 and linked["verdict"].startswith("the RMs' preference follows")
    unrelated = rep.inheritance(pd.Series(rng.normal(size=80), index=words), lm, n_permutations=999)
    assert unrelated["p"] > 0.01 and unrelated["verdict"].startswith("no word-level link")
    reversed_ = rep.inheritance(-lm, lm, n_permutations=199)
    assert reversed_["rho"] == pytest.approx(-1.0) and "runs against" in reversed_["verdict"]


def test_inheritance_rho_is_spearmans():
    from scipy.stats import spearmanr

    rng = np.random.default_rng(3)
    a, b = pd.Series(rng.normal(size=50)), pd.Series(rng.normal(size=50))
    assert rep.inheritance(a, b, n_permutations=99)["rho"] == pytest.approx(spearmanr(a, b).statistic)


def test_rank_differences():
    scores = pd.DataFrame({"model": ["a"] * 3 + ["b"] * 3, "prompt": ["p"] * 6, "word": ["x", "y", "z"] * 2,
                           "score": [3.0, 2.0, 1.0, 1.0, 2.0, 3.0]})
    ranks = rep.within_ranks(scores, ["model", "prompt"], ["x", "y", "z"])
    diff = rep.mean_rank_difference(ranks, "a", "b")
    assert diff.to_dict() == {"x": -2.0, "y": 0.0, "z": 2.0}   # b ranks z better than a does


def test_sentences_and_table_follow_the_numbers():
    test = rep.preregistered_test([15, 70.75, 53.5])
    text = rep.test_sentence(test)
    assert text.startswith("the mean split contrast over 3 seeds is +46.4 rank points (95% interval ")
    assert f"t(2) = {test['t']:.2f}" in text and text.endswith(test["verdict"])
    assert f"{test['seeds_needed']} seeds give 80%" in text
    cats = rep.category_tests(_gaps([-7, -47, -25.5], [8, 23.75, 28]), FAMILIES)
    assert rep.sign_sentence(cats).startswith("agency: 3 of 3 seeds have the paper's sign (sign test p = 0.25")
    table = rep.test_table({"final": test, "step0": rep.preregistered_test([1.0, -2.0, 0.5])}, cats)
    assert list(table.statistic) == ["split contrast, after training", "split contrast, step 0 (control)",
                                     "Agency gap, after training", "Communion gap, after training"]
    assert not table.isna().any().any() or table.p.notna().all()


def test_a_mirrored_head_negates_the_split_contrast():
    """The step-0 control's known answer (replication.MIRROR): the same heads with the opposite sign rank every
    token in reverse, and the split contrast computed from those ranks changes sign exactly."""
    from rmnb.analysis.checkpoints import checkpoint_median_ranks
    from rmnb.analysis.value_neutral import seed_gaps

    rng = np.random.default_rng(3)
    bases = {}
    for base, n in (("s", 41), ("g", 57)):   # the bases match different numbers of tokens
        matched = pd.DataFrame({"token_id": range(n),
                                "category": rng.permutation(["Agency"] * (n // 2) + ["Communion"] * (n - n // 2))})
        bases[base] = (matched, rng.normal(size=n))

    def contrast(sign):
        frames = [checkpoint_median_ranks(pd.DataFrame({"step": 0, "token_id": range(len(head)), "score": sign * head}),
                                          matched).assign(base=base, seed=1, when="step0")
                  for base, (matched, head) in bases.items()]
        return float(rep.split_contrasts(seed_gaps(pd.concat(frames), ("s", "g")), FAMILIES).contrast.iloc[0])

    assert contrast(1) != 0 and contrast(-1) == -contrast(1)


def test_the_control_is_read_against_its_known_answer():
    chance = rep.preregistered_test([-60.0, -250.0, -480.0, -120.0, -210.0, -70.0, 40.0, -500.0, -300.0, -90.0])
    assert chance["p"] < rep.ALPHA and chance["verdict"] == rep.OPPOSITE   # what the paper-direction verdict says
    text = rep.control_sentence(chance)
    assert text.startswith(rep.test_sentence(chance).split("; effect size")[0])
    assert "a false positive" in text and rep.MIRROR in text and "opposite to the paper" not in text
    assert rep.control_result(chance) == "p < 0.05 by chance (zero in expectation)"
    null = rep.preregistered_test([30.0, -20.0, 10.0, -40.0])
    assert null["p"] >= rep.ALPHA and rep.control_sentence(null).endswith(f"no difference, as expected, since "
                                                                            f"{rep.MIRROR}")
    assert rep.control_result(null) == "no difference, as expected"
    table = rep.test_table({"final": null, "step0": chance}, rep.category_tests(_gaps([1, 2], [3, 4]), FAMILIES))
    assert list(table.result[:2]) == [null["verdict"], rep.control_result(chance)]


def test_prediction_sentence_counts_agreement():
    check = pd.DataFrame([dict(category="Agency", predicted="s", observed="s", agree="yes"),
                          dict(category="Communion", predicted="g", observed="no clear difference",
                               agree="undecided")])
    text = rep.prediction_sentence(check, {"s": "SmolLM2", "g": "Gemma"})
    assert text.startswith("The prediction holds in 1 of the 1 categories where the RMs differ clearly (1 undecided)")
    assert "for communion the log-probs favour Gemma and the RMs show no clear difference" in text


def test_inheritance_sentence():
    link = {"rho": 0.42, "p": 0.0004, "n_permutations": 9999, "verdict": "v"}
    assert rep.inheritance_sentence(link) == "Spearman's rho = +0.42 (permutation p < 0.001, 9,999 shufflings): v"


def test_key_results_are_short_and_honest_about_one_seed():
    check = pd.DataFrame([dict(category="Agency", predicted="s", observed="s", agree="yes"),
                          dict(category="Communion", predicted="g", observed="g", agree="yes")])
    link = {"rho": 0.3, "p": 0.01, "n_words": 66, "verdict": "v"}
    three = rep.key_results(rep.preregistered_test([15, 70.75, 53.5]), check, link)
    assert three["direction"].startswith("inconclusive at 3 seeds (about ") and "95% interval -24.5 to +117.3" in three["direction"]
    assert three["prediction"] == "2 of 2 categories as chapter 03's log-probs predict"
    assert three["link"] == "rho = +0.30 over 66 nouns, permutation p = 0.01: v"
    mixed = check.assign(agree=["no", "undecided"])
    assert rep.prediction_short(mixed) == ("0 of 2 categories as chapter 03's log-probs predict, 1 opposite to the "
                                              "prediction, 1 with no clear difference between the bases (or no prediction)")
    one = rep.key_results(rep.preregistered_test([13.0]), check, link)
    assert one["direction"] == "inconclusive at 1 seed (no effect to power); split contrast +13.0 rank points from one seed"


def test_claims_carry_checks_for_the_verdicts():
    check = pd.DataFrame([dict(category="Agency", predicted="s", observed="s", agree="yes"),
                          dict(category="Communion", predicted="g", observed="no clear difference", agree="undecided")])
    link = {"rho": -0.4, "p": 0.001, "n_words": 66, "n_permutations": 999, "verdict": "v"}
    rows = {c["key"]: c for c in rep.claims(rep.preregistered_test(np.random.default_rng(1).normal(30, 10, 10)),
                                            check, link)}
    assert rows["live_direction"]["checks"] == [True] and not rows["live_direction"]["inconclusive"]
    assert rows["live_prediction"]["checks"] == [True, None]
    assert rows["live_inheritance"]["checks"] == [False] and rows["live_inheritance"]["paper_key"] is None
    assert rows["live_inheritance"]["paper"] == rep.THESIS_LINK and rows["live_inheritance"]["source"] is None
    assert rows["live_direction"]["paper"] == rep.reported.value("train_direction")
    assert rows["live_direction"]["source"] == rep.reported.source("train_direction")
