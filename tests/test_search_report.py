"""What chapter 00 glues and shows (rmnb.analysis.search_report) on small hand-made searches: each section's
sentences, the "not computed" values when a prompt or a model is missing, the tables for readers and the key
findings' checks against the FAccT paper."""

import numpy as np
import pandas as pd
import pytest

from rmnb.analysis import search_report as report
from rmnb.analysis import search_stats, token_search
from rmnb.data import reported_facct

WORDS = [" love", " freedom", " joy", " peace", "xq", " hope", "##", " war", " evil", " Love"]


def _scores(models=(("a", "A"), ("b", "B")), prompts=("greatest", "best", "worst"), sign=None):
    """Every model scores every word for every prompt: "greatest" and "best" in the order of WORDS (model b with
    " love" and " joy" swapped), "worst" in the reverse order (``sign`` -1) or the same (+1)."""
    rows = []
    for model_id, model in models:
        order = list(WORDS)
        if model_id == "b":
            order[0], order[2] = order[2], order[0]
        for prompt in prompts:
            s = -1.0 if prompt == "worst" and (sign or -1) < 0 else 1.0
            rows += [(model_id, model, prompt, WORDS.index(w), w, s * (len(order) - i)) for i, w in enumerate(order)]
    frame = pd.DataFrame(rows, columns=["model_id", "model", "prompt_id", "token_id", "response", "score"])
    return frame.assign(rank=search_stats.rank_scores(frame))


class FakeResults:
    def __init__(self):
        self.values = {}

    def glue(self, name, value):
        self.values[name] = ("glued", value)
        return value

    def record(self, name, value):
        self.values[name] = ("recorded", value)


def test_publish_glues_the_values_records_the_rest_and_returns_the_table():
    res, table = FakeResults(), pd.DataFrame({"x": [1]})
    assert report.publish(res, report.Section({"a": 1}, {"b": [2]}, table)) is table
    assert res.values == {"a": ("glued", 1), "b": ("recorded", [2])}


def test_prompts_sentence_and_the_rankings_per_prompt():
    prompts = token_search.facct_prompts("greatest,worst")
    assert report.prompts_sentence(prompts).startswith("“greatest” (What, in one word, is the greatest thing ever?), "
                                                       "“worst” (")
    top, bottom = search_stats.extremes(_scores(), n=3)
    (heading, table), _ = report.prompt_rankings(top, prompts, "top")
    assert heading == "**Prompt “greatest”**: What, in one word, is the greatest thing ever?"
    assert list(table.columns) == ["#", "A", "B"] and list(table["#"]) == [1, 2, 3]
    assert table.A[0] == "␣love (10.000)" and table.B[0] == "␣joy (10.000)"
    heading, table = report.prompt_rankings(bottom, prompts, "bottom")[1]
    assert heading == "**Prompt “worst”**, the 3 lowest-scored tokens (the last row is the lowest)"
    assert table.A.iloc[-1] == "␣love (-10.000)"


def test_ranking_table_pads_a_model_with_fewer_rows():
    top, _ = search_stats.extremes(_scores(), n=3)
    table = report.ranking_table(top[(top.model == "A") | (top["rank"] == 1)], "greatest")
    assert list(table.B.isna()) == [False, True, True]


def test_rank_text_shows_whole_ranks_as_integers_and_ties_as_their_average():
    assert [report.rank_text(r) for r in (1.0, 6.5, 12)] == ["1", "6.5", "12"]


def test_extremes_section_names_the_top_token_and_the_best_love():
    scores = _scores()
    top, bottom, section = report.extremes_section(scores, "greatest", n=2)
    assert len(top) == len(bottom) == 2 * 3 * 2
    assert section.values["top_sentence"] == "A: “␣love” (10.000); B: “␣joy” (10.000)"
    # the best-ranked variant of "love" (" love" or " Love"), ranks out of the 10 tokens searched
    assert section.values["love_sentence"] == "A ranks “␣love” at 1 of 10; B ranks “␣love” at 3 of 10"
    assert set(section.records) == {"top_tokens", "bottom_tokens"} and "token" in section.records["top_tokens"][0]
    no_love = scores[~scores.response.str.strip().str.lower().eq("love")]
    _, _, section = report.extremes_section(no_love, "greatest", n=2)
    assert section.values["love_sentence"] == "no searched model has a token for it"


def test_english_section_counts_words_and_falls_back_to_the_first_prompt():
    section = report.english_section(_scores(), "greatest", n=5)
    assert section.values["english_top_prompt"] == "greatest"
    assert section.values["english_top_sentence"] == "A 4 of its top 5; B 4 of its top 5"  # "xq" is no word
    assert section.records == {"english_top20_a": 4, "english_top20_b": 4}
    assert report.english_section(_scores(prompts=("best",)), "best").values["english_top_prompt"] == "best"


def test_moments_section_counts_right_skewed_models():
    scores = _scores()
    scores.loc[(scores.model_id == "a") & (scores.prompt_id == "greatest") & (scores["rank"] == 1), "score"] = 50.0
    section = report.moments_section(scores, "greatest")
    assert section.values["n_positive_skew"] == 1  # A has a long right tail; B's scores are even
    assert section.values["skew_sentence"].startswith("A +2.") and section.values["skew_sentence"].endswith("B +0.00")
    assert {m["vocabulary"] for m in section.records["moments"]} == {"searched", "shared"}


def test_best_worst_section_with_and_without_both_prompts():
    section = report.best_worst_section(_scores())
    assert section.values["best_worst_sentence"] == "A ρ = -1.00; B ρ = -1.00"
    assert section.values["n_pair_tokens"] == 10 and section.values["n_english_pair"] == 8
    assert section.values["english_rho_verdict"].startswith("below zero for every RM")
    assert section.records["best_worst_spearman"] == {"A": pytest.approx(-1.0), "B": pytest.approx(-1.0)}
    assert list(section.table.model_id) == ["a", "b"]
    same = report.best_worst_section(_scores(sign=1))
    assert same.values["best_worst_sentence"] == "A ρ = +1.00; B ρ = +1.00"
    missing = report.best_worst_section(_scores(prompts=("greatest", "best")))
    assert missing.values["best_worst_sentence"] == missing.values["english_rho_sentence"] == report.NOT_COMPUTED_PAIR
    assert missing.values["n_pair_tokens"] == 0 and missing.table.empty and not missing.records


def test_agreement_section_for_two_models_and_for_one():
    section = report.agreement_section(_scores(), "greatest")
    assert section.values["n_shared"] == 10
    tau = section.table.tau.iloc[0]
    assert section.values["tau_sentence"] == f"A vs B: τ = {tau:.3f}" and 0.5 < tau < 1
    assert 0 <= section.table.p.iloc[0] < 0.05
    assert set(section.records) == {"kendall_tau", "kendall_p", "mds"}
    one = report.agreement_section(_scores(models=(("a", "A"),)), "greatest")
    assert one.values["tau_sentence"] == "only one model was searched, so there is nothing to compare"
    assert one.table.empty


def test_table2_overlap_applies_to_the_published_rms_only():
    assert report.table2_overlap(_scores(), "best").startswith("not applicable (the first prompt")
    assert report.table2_overlap(_scores(), "greatest") == ("not applicable (neither R-Gem-2B nor R-Lla-3B was "
                                                            "searched)")
    published = reported_facct.table2("R-Gem-2B")
    rows = [("r", "R-Gem-2B", "greatest", i, t, float(-i)) for i, t in enumerate(list(published.token[:5])
                                                                                 + [f"w{k}" for k in range(30)])]
    scores = pd.DataFrame(rows, columns=["model_id", "model", "prompt_id", "token_id", "response", "score"])
    scores["rank"] = search_stats.rank_scores(scores)
    assert report.table2_overlap(scores, "greatest") == f"R-Gem-2B: 5 of {report.TABLE2_N}"


def test_tables_next_to_the_facct_paper():
    scores = _scores()
    top = report.table2_blocks(scores, "greatest")
    assert list(dict.fromkeys(c[0] for c in top.columns)) == ["FAccT R-Gem-2B (published)",
                                                             "FAccT R-Lla-3B (published)", "A (this book)",
                                                             "B (this book)"]
    assert top[("A (this book)", "rank")].dropna().tolist() == [str(r) for r in range(1, 11)]
    bottom = report.table2_blocks(scores, "greatest", "bottom")
    assert len(bottom.columns) == 6 and bottom.iloc[0, 0] == -22
    moments = report.moments_section(scores, "greatest").records["moments"]
    both = report.moments_comparison(moments, "greatest")
    assert list(both.source.unique()) == [reported_facct.SOURCE, "this book"] and list(both.model[-2:]) == ["A", "B"]
    lo, hi = report.published_tau_range()
    assert 0 < lo < hi < 1 and len(report.figure2a_table()) == len(reported_facct.FIGURE2A_TAU)
    a6 = report.table_a6_top()
    assert len(a6) == report.TOP_N_COMPARED and a6.map(lambda t: " " not in t).all().all()


def test_facct_section_lists_our_top_five_and_skews():
    scores = _scores()
    top, _, _ = report.extremes_section(scores, "greatest", n=20)
    moments = report.moments_section(scores, "greatest").records["moments"]
    values = report.facct_section(scores, top, moments, "greatest").values
    assert values["ours_top5"].startswith("A: “␣love”, “␣freedom”, “␣joy”, “␣peace”, “xq”; B: “␣joy”")
    assert values["facct_n_positive_skew"] == int((reported_facct.table3()["skew"] > 0).sum())
    assert values["ours_skew_range"] == "A +0.000, B +0.000"


def test_paper_claims_check_each_model_and_pair():
    scores = _scores()
    scores.loc[(scores.model_id == "a") & (scores.prompt_id == "greatest") & (scores["rank"] == 1), "score"] = 50.0
    moments = report.moments_section(scores, "greatest").records["moments"]
    pairs = report.agreement_section(scores, "greatest").table
    claims = {c.key: c for c in report.paper_claims(scores, moments, pairs, "greatest")}
    assert claims["facct_love_top"].checks == (True, False)  # A's top token is " love"; B's best love is 3rd
    assert claims["facct_skew"].checks == (True, False)
    lo, hi = report.published_tau_range()
    assert claims["facct_tau"].checks == (bool(lo <= pairs.tau.iloc[0] <= hi),)
    assert claims["facct_love_top"].source == reported_facct.SOURCE
    no_love = scores[~((scores.model_id == "b") & scores.response.str.strip().str.lower().eq("love"))]
    love = report.paper_claims(no_love, moments, pairs, "greatest")[0]
    assert love.checks == (True, False) and "B: no variant of “love”" in love.book
    other = report.paper_claims(scores, moments, pairs, "best")  # claims about "greatest" are not tested
    assert all(check is None for c in other for check in c.checks)


def test_bos_table_for_readers():
    agreement = pd.DataFrame({"model_id": ["a"], "rho": [0.98], "max_abs_diff": [1.04], "n": [263]})
    medians = pd.DataFrame({"model_id": ["a"] * 4, "bos": ["single", "single", "authors", "authors"],
                            "category": ["Agency", "Communion"] * 2, "median_rank": [129.0, 134.0, 128.5, 136.0]})
    table = report.bos_table(agreement, medians, {"a": "Model A"})
    assert list(table.columns) == ["model", "Agency, one BOS", "Communion, one BOS", "Agency, two BOS",
                                   "Communion, two BOS", "Spearman's ρ", "largest score difference"]
    assert table.model.tolist() == ["Model A"] and np.isclose(table["Agency, two BOS"].iloc[0], 128.5)
