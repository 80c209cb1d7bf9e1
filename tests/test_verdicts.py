"""The verdicts chapters 03 and 05 state in words (which base is better, whether the bases split, whether a result
survives a robustness check), on small hand-made tables: both outcomes of each verdict and its tie/missing case."""

import numpy as np
import pandas as pd
import pytest

from rmnb.analysis import ablations
from rmnb.analysis import base_logprobs as lps
from rmnb.analysis import training as checkpoints
from rmnb.analysis.claims import p_text

# --- chapter 06: the trained checkpoints ------------------------------------------------------------------------


def test_chance_verdict_from_the_interval():
    assert checkpoints.chance_verdict(0.55, 0.70) == "above chance"
    assert checkpoints.chance_verdict(0.30, 0.45) == "below chance"
    assert checkpoints.chance_verdict(0.45, 0.60) == "not distinguishable from chance"
    assert checkpoints.chance_verdict(0.50, 0.60) == "not distinguishable from chance"  # touching chance


def test_manifest_checks_and_identical_word():
    m1 = {"plan": [1, 2], "consumed_order": [1, 2], "settings": {"lr": 1}, "data": "abc", "other": 1}
    checks = checkpoints.manifest_checks(m1, dict(m1, other=2))
    assert checks == {"plan": True, "consumed_order": True, "settings": True, "data": True}
    assert checkpoints.identical_word(checks) == "identical"
    checks = checkpoints.manifest_checks(m1, dict(m1, consumed_order=[2, 1]))
    assert checks["consumed_order"] is False and checkpoints.identical_word(checks) == "NOT identical"


def test_same_strings_word():
    a = pd.DataFrame({"response": ["love", " love", "power"]})
    assert checkpoints.same_strings_word(a, a.iloc[::-1]) == "the same"
    assert checkpoints.same_strings_word(a, a.iloc[:2]) == "different"


def test_better_base_and_preferred_category():
    assert checkpoints.better_base("A", 3.0, "B", 5.0) == "A"  # rank 1 is best
    assert checkpoints.better_base("A", 5.0, "B", 3.0) == "B"
    assert checkpoints.better_base("A", 4.0, "B", 4.0) == "neither"
    assert checkpoints.better_base("A", np.nan, "B", 4.0) == "neither"
    assert checkpoints.preferred_category(2.0, 9.0) == "agency"
    assert checkpoints.preferred_category(9.0, 2.0) == "communion"
    assert checkpoints.preferred_category(2.0, 2.0) == "neither category"


def _med(step0, final):
    """Checkpoint median ranks of bases ``b1`` and ``b2``: ``{(category, base): rank}`` at steps 0 and 10."""
    rows = [dict(step=step, category=cat, base=base, median_rank=rank)
            for step, ranks in ((0, step0), (10, final)) for (cat, base), rank in ranks.items()]
    return pd.DataFrame(rows)


def test_compare_at_step_and_split_verdict():
    med = _med({("Agency", "b1"): 10, ("Agency", "b2"): 20, ("Communion", "b1"): 30, ("Communion", "b2"): 15},
               {("Agency", "b1"): 10, ("Agency", "b2"): 20, ("Communion", "b1"): 12, ("Communion", "b2"): 15})
    labels = {"b1": "One", "b2": "Two"}
    start = checkpoints.compare_at_step(med, ["b1", "b2"], 0, labels)
    assert start.loc["Agency", "b1"] == 10 and start.loc["Communion", "b2"] == 15
    assert list(start.better) == ["One", "Two"] and list(start.gap) == [10, 15]
    split = checkpoints.split_verdict(*start.better)
    assert split.startswith("the two bases split the categories, One on agency and Two on communion")
    end = checkpoints.compare_at_step(med, ["b1", "b2"], 10, labels)
    assert list(end.better) == ["One", "One"]
    assert checkpoints.split_verdict(*end.better) == "this is no split: One ranks both categories better"
    assert checkpoints.split_verdict("One", "neither") == "at least one category is tied between the bases"
    assert checkpoints.split_verdict("neither", "neither") == "at least one category is tied between the bases"


def test_mover_summary_names_climbers_and_fallers():
    changes = pd.DataFrame({"word": ["power", "love", "skill", "care", "trust", "greed"],
                            "category": ["Agency", "Communion", "Agency", "Communion", "Communion", "Agency"],
                            "rank_change": [9, 5, 1, -1, -4, -8]})
    got = checkpoints.mover_summary(changes, k=3, n_named=2)
    assert got == {"n_nouns": 6, "top_up": "power, love", "up_agency": 2, "n_up": 3, "top_down": "greed, trust"}
    flat = checkpoints.mover_summary(changes.assign(rank_change=0), k=3)
    assert flat["top_up"] == "none" and flat["top_down"] == "none" and flat["n_up"] == 0


# --- chapter 05: the released ablations -------------------------------------------------------------------------


def test_better_of_a_gap():
    assert ablations.better_of(-2.0) == "Llama" and ablations.better_of(3.0) == "Gemma"
    assert ablations.better_of(0.0) == "neither" and ablations.better_of(np.nan) == "neither"


def _gaps(bt, grm):
    """A :func:`ablations.final_gaps`-like table: ``bt`` = [(size, agency gap, communion gap)], one GRM point."""
    rows = [dict(plotted_k=k, label=f"{k}k", method="BT", category=cat, gap=gap)
            for k, ag, co in bt for cat, gap in (("Agency", ag), ("Communion", co))]
    rows += [dict(plotted_k=632, label="632k", method="GRM", category=cat, gap=gap)
             for cat, gap in zip(("Agency", "Communion"), grm)]
    return pd.DataFrame(rows)


def test_sign_persistence_in_the_paper_direction():
    gaps = _gaps([(13, -5, 4), (27, -3, 2), (77, -1, 1), (106, 2, -3)], grm=(-1, 2))
    got = ablations.sign_persistence(gaps)
    assert got["paper_direction"] and got["kept"] == ["13k", "27k", "77k"]
    assert got["persist_range"] == "13k to 77k" and got["flipped_at"] == "106k" and got["grm_same"]
    assert ablations.direction_text(True) == "Llama ranks agency better and Gemma communion"
    assert ablations.grm_text(True) == "keeps the direction of the smallest runs"


def test_sign_persistence_without_the_paper_direction_or_a_flip():
    # agency flips at 27k but communion does not: no size flips both; the direction holds only at 13k
    gaps = _gaps([(13, 5, 4), (27, -3, 2), (77, 1, 1)], grm=(-1, -2))
    got = ablations.sign_persistence(gaps)
    assert not got["paper_direction"] and got["kept"] == ["13k"] and got["persist_range"] == "13k"
    assert got["flipped_at"] is None and not got["grm_same"]
    assert ablations.direction_text(False).startswith("Llama does not rank agency better")
    assert ablations.grm_text(False) == "does not keep the direction of the smallest runs"
    # every size keeps the direction
    assert ablations.sign_persistence(_gaps([(13, -1, 1), (27, -2, 2)], grm=(-1, 1)))["kept"] == ["13k", "27k"]


def test_removal_check_of_the_pairs_needed():
    flips_at_106 = _gaps([(13, -5, 4), (27, -3, 2), (77, -1, 1), (106, 2, -3)], grm=(-1, 2))
    assert ablations.removal_check(flips_at_106, ablations.sign_persistence(flips_at_106)) is True
    assert ablations.removal_check(flips_at_106, ablations.sign_persistence(flips_at_106), threshold_k=150) is False
    flips_at_27 = _gaps([(13, -5, 4), (27, 3, -2), (106, 2, -3)], grm=(-1, 2))
    assert ablations.removal_check(flips_at_27, ablations.sign_persistence(flips_at_27)) is False
    never = _gaps([(13, -5, 4), (106, -2, 3)], grm=(-1, 2))
    assert ablations.removal_check(never, ablations.sign_persistence(never)) is False
    other_way = _gaps([(13, 5, -4), (106, -2, 3)], grm=(-1, 2))  # no gap of the paper's to remove
    assert ablations.removal_check(other_way, ablations.sign_persistence(other_way)) is None


def test_category_difference_and_communion_pattern():
    final = pd.DataFrame({"base": ["Qwen"] * 4 + ["Gemma"] * 2, "plotted_k": [13, 13, 106, 106, 13, 13],
                          "label": ["13k", "13k", "106k", "106k", "13k", "13k"],
                          "category": ["Agency", "Communion"] * 3, "sum_value": [40, 30, 35, 34, 1, 99]})
    diff = ablations.category_difference(final, "Qwen")
    assert diff.loc[(13, "13k"), "agency - communion"] == 10 and diff.loc[(106, "106k"), "agency - communion"] == 1
    assert ablations.communion_pattern(diff) == "communion above agency at every data size"
    diff.loc[(106, "106k"), "agency - communion"] = 0  # a tie is not "communion above"
    assert ablations.communion_pattern(diff) == "agency above communion at some data sizes"


def test_stabilisation_of_one_file():
    stab = pd.DataFrame({"file": ["sky_80k", "sky_80k", "uf_13"], "category": ["Agency", "Communion", "Agency"],
                         "largest_at_first": [True, False, True], "first_gap": [5.0, 1.0, 0.0]})
    got = ablations.stabilisation_of(stab, "sky_80k")
    assert list(got.index) == ["Agency", "Communion"] and got.loc["Agency", "first_gap"] == 5.0
    assert got.loc["Agency", "largest_first_text"] == "largest at the first released checkpoint"
    assert got.loc["Communion", "largest_first_text"] == "not largest at the first released checkpoint"


# --- chapter 03: strict against broad matching ------------------------------------------------------------------


@pytest.mark.parametrize("strict_p, broad_p, verdict", [
    (0.01, 0.02, "survives"), (0.01, 0.20, "does not survive"), (0.30, 0.20, "stays absent under"),
    (0.30, 0.01, "appears only with"), (0.01, np.nan, "does not survive"), (0.05, 0.05, "stays absent under")])
def test_robustness_verdict(strict_p, broad_p, verdict):
    assert lps.robustness_verdict(strict_p, broad_p) == verdict


def _analysis(p_three_way, better):
    aov = pd.DataFrame({"term": ["category", "category:valence:model", "Residual"],
                        "F": [1.0, 8.0 / p_three_way, np.nan], "df": [1, 1, 20], "df_resid": [20.0] * 3,
                        "p": [0.5, p_three_way, np.nan]})
    post = pd.DataFrame({"category": [c for c, _ in lps.CELLS], "valence": [v for _, v in lps.CELLS],
                         "better": better})
    return {"aov": aov, "post": post}


def test_compare_matching_and_three_way_text():
    strict = _analysis(0.01, ["A", "B", "B", "A"])
    broad = _analysis(0.2, ["A", "A", "B", "neither"])
    got = lps.compare_matching(strict, broad)
    assert got["same_winner"] == 2 and got["n_cells"] == 4 and got["verdict"] == "does not survive"
    assert got["F_strict"] == pytest.approx(800) and got["F_broad"] == pytest.approx(40) and got["p_broad"] == 0.2
    assert lps.compare_matching(strict, strict)["verdict"] == "survives"
    assert lps.three_way_text(strict["aov"]) == "F(1,20) = 800.0, p = 0.01"
    assert lps.three_way_text(_analysis(0.0004, ["A"] * 4)["aov"]) == "F(1,20) = 20000.0, p < 0.001"


def test_p_text_floors_small_p_values():
    assert p_text(0.0004) == "p < 0.001" and p_text(0.001) == "p = 0.001"
    assert p_text(0.0423) == "p = 0.042" and p_text(0.5) == "p = 0.5"


def _post(diffs):
    """A :func:`lps.posthoc`-like table with ``diff`` (B minus A) per cell, in the paper's cell order."""
    return pd.DataFrame({"category": [c for c, _ in lps.CELLS], "valence": [v for _, v in lps.CELLS],
                         "diff": diffs})


@pytest.mark.parametrize("p, diffs, checks, verdict", [
    (0.001, [-3, 2, 1, -2], (True, True), "reproduced"),            # the paper's pattern, significant
    (0.2, [-3, 2, 1, -2], (True, False), "partly reproduced"),      # the paper's direction, not significant
    (0.001, [3, -2, -1, 2], (False, False), "not reproduced"),      # significant, the other way
    (0.2, [3, -2, -1, 2], (False, False), "not reproduced"),
    (0.001, [-3, 2, 1], (None, None), "not tested"),                # a missing cell: no direction
])
def test_paper_checks_of_figure_2(p, diffs, checks, verdict):
    from rmnb.book import findings

    post = _post(diffs) if len(diffs) == 4 else _post(diffs + [0]).iloc[:3]
    got = lps.paper_checks(_analysis(p, ["A"] * 4)["aov"], post)
    assert (got["same_direction"], got["significant_same_direction"]) == checks
    assert findings.verdict(*got.values()) == verdict
    assert lps.paper_checks(_analysis(p, ["A"] * 4)["aov"], post.iloc[:0])["same_direction"] is None


def test_authors_checkpoint_scores_read_when_present(tmp_path):
    """Figures 5/A6: the authors' per-checkpoint files are read when a reader has them, in their figure code's
    layout; absent files are left out, a wrong layout is an error naming the fix."""
    import pandas as pd

    from rmnb.analysis import training as checkpoints
    from rmnb.base.errors import RmnbError

    assert checkpoints.authors_checkpoint_scores(None) == {}
    assert checkpoints.authors_checkpoint_scores(tmp_path) == {}
    wide = pd.DataFrame({"token_decoded": [" love", "Love", " freedom"], "step-0": [3.0, 3.0, 1.0],
                         "step-1000": [0.5, 0.5, 4.0]})
    wide.to_parquet(tmp_path / checkpoints.AUTHORS_CHECKPOINT_FILES["Gemma"])
    found = checkpoints.authors_checkpoint_scores(tmp_path)
    assert list(found) == ["Gemma"]
    gemma = found["Gemma"]
    assert sorted(gemma.step.unique()) == [0, 1000] and len(gemma) == 6
    nouns = pd.DataFrame({"term": ["love", "freedom"], "category": ["Communion", "Agency"]})
    ranks = checkpoints.noun_ranks(gemma, nouns)
    changes = checkpoints.rank_changes(ranks, 0, 1000).set_index("word")
    assert changes.loc["freedom", "rank_change"] == 1 and changes.loc["love", "rank_change"] == -1
    wide.rename(columns={"step-1000": "final"}).to_parquet(tmp_path / checkpoints.AUTHORS_CHECKPOINT_FILES["Llama"])
    wide.rename(columns={"step-0": "step-last"}).to_parquet(tmp_path / checkpoints.AUTHORS_CHECKPOINT_FILES["Qwen"])
    with pytest.raises(RmnbError, match="not in the layout of the authors' figure code"):
        checkpoints.authors_checkpoint_scores(tmp_path)
