"""What a training run's checkpoints say (:mod:`rmnb.analysis.checkpoints`), on small hand-made tables: median ranks
and rank changes, the verdicts chapters 05 and 06 state in words (chance, identical runs, the better base, whether the
bases split) with both outcomes and the tie/missing case, and the authors' checkpoint files when a reader has them."""

import numpy as np
import pandas as pd
import pytest

from rmnb.analysis import checkpoints
from rmnb.base.errors import RmnbError


def test_checkpoint_median_ranks_and_rank_changes():
    scores = pd.DataFrame({"step": [0] * 4 + [5] * 4, "token_id": [1, 2, 3, 4] * 2,
                           "response": ["love", " Love", "freedom", "power"] * 2,
                           "score": [4.0, 3.0, 2.0, 1.0, 1.0, 2.0, 4.0, 3.0]})
    matched = pd.DataFrame({"token_id": [1, 2, 3, 4],
                            "category": ["Communion", "Communion", "Agency", "Agency"]})
    med = checkpoints.checkpoint_median_ranks(scores, matched).set_index(["step", "category"]).median_rank
    assert med[(0, "Communion")] == 1.5 and med[(0, "Agency")] == 3.5
    assert med[(5, "Communion")] == 3.5 and med[(5, "Agency")] == 1.5
    nouns = pd.DataFrame({"term": ["love", "freedom", "power"], "category": ["Communion", "Agency", "Agency"]})
    ranks = checkpoints.noun_ranks(scores, nouns)
    love0 = ranks[(ranks.step == 0) & (ranks.word == "love")].iloc[0]
    assert love0.score == 3.5 and love0.n_variants == 2 and love0["rank"] == 1
    changes = checkpoints.rank_changes(ranks, 0, 5).set_index("word")
    assert changes.loc["freedom", "rank_change"] == 2 - 1 and changes.loc["love", "rank_change"] == 1 - 3


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


def test_authors_checkpoint_scores_read_when_present(tmp_path):
    """Figures 5/A6: the authors' per-checkpoint files are read when a reader has them, in their figure code's
    layout; absent files are left out, a wrong layout is an error naming the fix."""
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
