"""What the authors' double BOS changes: the comparison of the two scoring paths (rmnb.analysis.bos)."""

import pandas as pd
import pytest

from rmnb.analysis import bos

LEXICON = pd.DataFrame({"term": ["a1", "a2", "c1", "c2"], "category": ["Agency", "Agency", "Communion", "Communion"]})


def _scores(single, authors, model="m"):
    words = ["a1", "a2", "c1", "c2"]
    return pd.concat([pd.DataFrame({"model_id": model, "response": words, "score": single, "bos": "single"}),
                      pd.DataFrame({"model_id": model, "response": words, "score": authors, "bos": "authors"})])


def test_identical_paths_agree_fully():
    scores = _scores([4.0, 3.0, 2.0, 1.0], [4.0, 3.0, 2.0, 1.0])
    agreement, medians = bos.compare_paths(scores, LEXICON)
    assert agreement.rho.iloc[0] == pytest.approx(1.0) and agreement.max_abs_diff.iloc[0] == 0
    assert bos.preferred(medians, "m", "single") == bos.preferred(medians, "m", "authors") == "agency"


def test_reversed_paths_flip_the_preferred_category():
    scores = _scores([4.0, 3.0, 2.0, 1.0], [1.0, 2.0, 3.0, 4.5])
    agreement, medians = bos.compare_paths(scores, LEXICON)
    assert agreement.rho.iloc[0] == pytest.approx(-1.0) and agreement.max_abs_diff.iloc[0] == pytest.approx(3.5)
    assert bos.preferred(medians, "m", "single") == "agency"
    assert bos.preferred(medians, "m", "authors") == "communion"
    single = medians[(medians.bos == "single")].set_index("category").median_rank
    assert single["Agency"] == 1.5 and single["Communion"] == 3.5


def test_a_tie_prefers_neither():
    scores = _scores([4.0, 1.0, 3.0, 2.0], [4.0, 1.0, 3.0, 2.0])
    _, medians = bos.compare_paths(scores, LEXICON)
    assert bos.preferred(medians, "m", "single") == "neither"


def test_summary_sentence_names_each_model_and_a_flip():
    scores = pd.concat([_scores([4.0, 3.0, 2.0, 1.0], [4.0, 3.0, 2.0, 1.0], "same"),
                        _scores([4.0, 3.0, 2.0, 1.0], [1.0, 2.0, 3.0, 4.5], "flip")])
    agreement, medians = bos.compare_paths(scores, LEXICON)
    text = bos.summary_sentence(agreement, medians, {"same": "Same-RM"})
    assert "Same-RM: Spearman's ρ = 1.000" in text and "ranks agency higher under both paths" in text
    assert "flip: Spearman's ρ = -1.000" in text and "agency higher with one BOS but communion with two" in text


def test_path_table_is_flat():
    agreement, medians = bos.compare_paths(_scores([4.0, 3.0, 2.0, 1.0], [1.0, 2.0, 3.0, 4.5]), LEXICON)
    table = bos.path_table(agreement, medians)
    assert list(table.columns) == ["model_id", "single Agency", "single Communion", "authors Agency",
                                   "authors Communion", "rho", "max_abs_diff"]
    assert table.loc[0, "authors Agency"] == 3.5
