"""The paper's top-10 statistic (Big Two nouns among each RM's top tokens, mean per family)."""

import pandas as pd
import pytest

from rmnb.analysis import topk

LEXICON = pd.DataFrame({"term": ["love", "freedom", "harmony"], "category": ["Communion", "Agency", "Communion"]})


def test_counts_strip_and_lowercase_and_count_variants_separately():
    table = pd.DataFrame({"R-Gem-2B": [" LOVE", "Love", " love", "joy", " freedom"],
                          "R-Lla-3B": ["freedom", " Freedom", "life", " harmony", "love"]})
    counts = topk.top_k_counts(table, LEXICON, k=4).set_index("model")
    assert counts.loc["R-Gem-2B", ["Communion", "Agency"]].tolist() == [3, 0]  # " freedom" is rank 5
    assert counts.loc["R-Lla-3B", ["Communion", "Agency"]].tolist() == [1, 2]
    assert counts.loc["R-Gem-2B", "family"] == "Gemma" and counts.loc["R-Lla-3B", "family"] == "Llama"


def test_family_means_and_paper_comparison_flags_mismatches():
    table = pd.DataFrame({"N-Gem-27B": ["love"] * 10, "R-Gem-2B": ["love"] * 5 + ["joy"] * 5,
                          "R-Lla-3B": ["freedom"] * 10, "R-Lla-8B": ["love"] * 10, "L-Lla-8B": ["x"] * 10})
    out = topk.compare_with_paper(table, LEXICON).set_index(["family", "category"])
    assert out.loc[("Gemma", "Communion"), "book"] == 7.5 and not out.loc[("Gemma", "Communion"), "reproduced"]
    assert out.loc[("Gemma", "Agency"), "book"] == 0 and out.loc[("Gemma", "Agency"), "reproduced"]
    assert out.loc[("Llama", "Agency"), "book"] == pytest.approx(10 / 3)
    assert out.loc[("Llama", "Communion"), "n_rms"] == 3


def test_paper_means_parsed_from_reported_values():
    paper = topk.paper_means().set_index(["family", "category"]).paper
    assert paper.to_dict() == {("Gemma", "Communion"): 5.0, ("Gemma", "Agency"): 0.0,
                               ("Llama", "Communion"): 3.67, ("Llama", "Agency"): 2.33}


def test_released_table_a7_reproduces_three_of_the_four_published_means(data_dir):
    out = topk.compare_with_paper().set_index(["family", "category"])
    assert out.n_rms.to_dict() == {("Gemma", "Communion"): 4, ("Gemma", "Agency"): 4,
                                   ("Llama", "Communion"): 6, ("Llama", "Agency"): 6}
    assert out.reproduced.to_dict() == {("Gemma", "Communion"): True, ("Gemma", "Agency"): True,
                                        ("Llama", "Communion"): True, ("Llama", "Agency"): False}
    # the Llama RMs' top 10s hold 7 agency tokens (L-Lla-8B 2, R-Lla-3B 4, F-Lla-8B-v0.1 1): 7/6, not 2.33 = 14/6
    assert out.loc[("Llama", "Agency"), "book"] == pytest.approx(7 / 6)


def test_mismatches_names_each_unreproduced_mean():
    table = pd.DataFrame({"N-Gem-27B": ["love"] * 10, "R-Lla-3B": ["freedom"] * 10})
    text = topk.mismatches(topk.compare_with_paper(table, LEXICON))
    assert text.startswith("Gemma communion: 10.00 here, 5 in the paper")
    assert "Llama agency: 10.00 here, 2.33 in the paper" in text
    ok = topk.compare_with_paper(table, LEXICON).assign(reproduced=True)
    assert topk.mismatches(ok) == "none"


def test_noun_top_k_counts_best_ranked_nouns_per_category():
    rows = []
    for model, family, best in (("g", "Gemma", "Communion"), ("l", "Llama", "Agency")):
        for prompt in ("p1", "p2"):
            for i in range(4):
                cat = best if i < 3 else ("Agency" if best == "Communion" else "Communion")
                rows.append(dict(family=family, model=model, prompt_id=prompt, framing="positive", category=cat,
                                 rank=i + 1))
    out = topk.noun_top_k(pd.DataFrame(rows), k=2)
    assert out.loc["Gemma"].to_dict() == {"Agency": 0, "Communion": 2}
    assert out.loc["Llama"].to_dict() == {"Agency": 2, "Communion": 0}
