"""Love and freedom (chapter 07): variant matching, ranks, head-to-head, the released RMs, the FAccT tables, and a
smoke run of the chapter."""

import json
import os

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT
from rmnb.analysis import greatest
from rmnb.data import reported_facct

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def _toy():
    a = greatest.candidates("RM-A", "Gemma", "reward model",
                            [" Love", "love", "LOVE", "Freedom", "peace", " freedom ", "war", "lovely"],
                            [5.0, 3.0, 1.0, 4.0, 4.0, 0.0, -2.0, 9.0], token_ids=range(8))
    b = greatest.candidates("RM-B", "Llama", "reward model", ["love", "freedom", "peace"], [1.0, 2.0, np.nan])
    return pd.concat([a, b], ignore_index=True)


def test_variants_and_best_rank():
    cands = _toy()
    assert cands[cands.model == "RM-B"].n.iloc[0] == 2  # a missing score is not a candidate
    var = greatest.variant_ranks(cands)
    a = var[var.model == "RM-A"]
    assert sorted(a[a.word == "love"].response) == [" Love", "LOVE", "love"]  # "lovely" is not a variant
    assert sorted(a[a.word == "freedom"].response) == [" freedom ", "Freedom"]
    summary = greatest.word_summary(var, cands).set_index(["model", "word"])
    assert summary.loc[("RM-A", "love"), "best_rank"] == 2  # " Love" (5.0) behind "lovely" (9.0)
    assert summary.loc[("RM-A", "love"), "best_variant"] == "␣Love"
    assert summary.loc[("RM-A", "freedom"), "best_rank"] == 3.5  # tied with "peace"
    assert summary.loc[("RM-A", "love"), "share"] == pytest.approx(2 / 8)
    assert summary.loc[("RM-A", "love"), "n_variants"] == 3
    h2h = greatest.head_to_head(greatest.word_summary(var, cands)).set_index("model")
    assert h2h.loc["RM-A", "winner"] == "love" and h2h.loc["RM-B", "winner"] == "freedom"
    assert h2h.loc["RM-A", "n"] == 8


def test_missing_word_and_same_label_in_two_sources():
    cands = pd.concat([greatest.candidates("M", "Other", "reward model", ["love", "x"], [1.0, 0.0]),
                       greatest.candidates("M", "Other", "language model", ["x", "freedom", "love"], [0.0, 2.0, 1.0])],
                      ignore_index=True)
    summary = greatest.word_summary(greatest.variant_ranks(cands), cands)
    rm = summary[summary.source == "reward model"].set_index("word")
    lm = summary[summary.source == "language model"].set_index("word")
    assert np.isnan(rm.loc["freedom", "best_rank"]) and rm.loc["love", "best_rank"] == 1
    assert lm.loc["freedom", "best_rank"] == 1 and lm.loc["love", "best_rank"] == 2
    h2h = greatest.head_to_head(summary)
    assert list(h2h.winner) == ["n/a", "freedom"]


def test_implicit_candidates_rank_b_preferred_first():
    tokens = ["Love", "Freedom", "the"]
    lp_a = pd.Series(np.log([0.6, 0.1, 0.3]), index=tokens)
    lp_b = pd.Series(np.log([0.1, 0.6, 0.3]), index=tokens)
    imp = greatest.implicit_candidates("A → B", lp_a, lp_b).set_index("response")
    assert imp.loc["Freedom", "rank"] == 1 and imp.loc["Love", "rank"] == 3 and imp.loc["the", "score"] == 0


def _h2h(rows):
    return pd.DataFrame(rows, columns=["model", "family", "source", "freedom", "love", "n", "winner"])


def test_family_wins_counts_and_means():
    h2h = _h2h([("G1", "Gemma", "released RM", 5.0, 1.0, 263, "love"),
                ("G2", "Gemma", "released RM", 2.0, 4.0, 263, "freedom"),
                ("L1", "Llama", "released RM", 1.0, 3.0, 263, "freedom")])
    got = greatest.family_wins(h2h)
    assert got["Gemma"] == {"n": 2, "love_wins": 1, "love_rank": 2.5, "freedom_rank": 3.5}
    assert got["Llama"] == {"n": 1, "love_wins": 0, "love_rank": 3.0, "freedom_rank": 1.0}
    none = greatest.family_wins(None)
    assert none["Gemma"]["n"] == 0 and none["Llama"]["love_wins"] == 0 and np.isnan(none["Llama"]["love_rank"])
    assert np.isnan(greatest.family_wins(h2h[h2h.family == "Llama"])["Gemma"]["freedom_rank"])


def test_win_counts_and_sentences():
    h2h = _h2h([("G1", "Gemma", "reward model", 5.0, 1.0, 1000, "love"),
                ("G2", "Gemma", "reward model", 2.0, 4.0, 1000, "freedom"),
                ("L1", "Llama", "language model", 1.0, 3.0, 2000, "freedom"),
                ("X", "Llama", "language model", np.nan, 3.0, 2000, "n/a"),
                ("T", "Llama", "language model", 3.0, 3.0, 2000, "tie")])
    got = greatest.win_counts(h2h)
    assert got == {"n_compared": 3, "n_love_wins": 1, "n_freedom_wins": 2,
                   "family_sentence": "Gemma: 1 of 2; Llama: 0 of 1"}
    assert greatest.rank_sentence(h2h.head(1)) == "G1: “love” 1, “freedom” 5 of 1,000"
    plan = pd.DataFrame({"model": ["A", "B"], "head": ["trained", "random (seed 0)"]})
    assert greatest.random_head_note(plan).startswith("Note: B got a seeded, untrained score head")
    assert greatest.random_head_note(plan.head(1)) == ""


def test_implicit_sentence_names_the_preferred_word():
    tokens = ["Love", "Freedom", "the"]
    lp_a = pd.Series(np.log([0.6, 0.1, 0.3]), index=tokens)
    cands = greatest.implicit_candidates("A → B", lp_a, pd.Series(np.log([0.1, 0.6, 0.3]), index=tokens))
    summary = greatest.word_summary(greatest.variant_ranks(cands), cands)
    got = greatest.implicit_sentence(summary, greatest.head_to_head(summary), "B")
    assert got == "“freedom” ranks 1 and “love” 3 of 3 shared strings, so freedom is the more B-preferred word"
    flipped = greatest.implicit_candidates("B → A", pd.Series(np.log([0.1, 0.6, 0.3]), index=tokens), lp_a)
    summary = greatest.word_summary(greatest.variant_ranks(flipped), flipped)
    assert greatest.implicit_sentence(summary, greatest.head_to_head(summary), "A").endswith(
        "so love is the more A-preferred word")
    rm = greatest.candidates("RM", "Gemma", "reward model", ["love", "freedom"], [1.0, 0.0])
    summary = greatest.word_summary(greatest.variant_ranks(rm), rm)
    assert greatest.implicit_sentence(summary, greatest.head_to_head(summary), "B") == "not computed"


def test_released_rms_rank_love_and_freedom(data_dir):
    rel = greatest.released_candidates()
    assert rel.model.nunique() == 10 and set(rel.n) == {263}
    summary = greatest.word_summary(greatest.variant_ranks(rel), rel)
    h2h = greatest.head_to_head(summary)
    gemma = h2h[h2h.family == "Gemma"]
    assert len(gemma) == 4 and (gemma.winner == "love").all()
    assert summary.n_variants.eq(1).all()


def test_facct_published_tables():
    ranks = reported_facct.a6_word_ranks().set_index(["model", "word"]).best_rank
    assert ranks[("R-Lla-3B", "freedom")] == 1 and ranks[("R-Lla-3B", "love")] == 4
    assert ranks[("R-Gem-2B", "love")] == 1 and np.isnan(ranks[("R-Gem-2B", "freedom")])
    t2 = reported_facct.table2("R-Gem-2B")
    assert len(t2) == 22 and t2.token.iloc[0] == " LOVE" and t2.score.iloc[0] == 4.59375
    assert reported_facct.table2("R-Lla-3B", "bottom").score.iloc[-1] == -11.4375
    t3 = reported_facct.table3().set_index("model")
    assert len(t3) == 10 and t3.loc["R-Gem-2B", "mean"] == -5.279


@pytest.mark.slow
def test_chapter_07_smoke_run(tmp_path, data_dir):
    from rmnb.builder import runner

    path = ROOT / "notebooks" / "07_greatest_thing.md"
    runner.run_chapter(path, out_dir=tmp_path, results_dir=tmp_path / "results", profile="smoke")
    values = json.loads((tmp_path / "results" / "07_greatest_thing.json").read_text())
    for key in ("love_freedom_ranks", "love_freedom_variants", "head_to_head", "implicit_sentence",
                "rel_gemma_love_wins", "n_love_wins", "n_freedom_wins", "family_sentence"):
        assert key in values, key
    sources = {r["source"] for r in values["love_freedom_ranks"]}
    assert sources == {"released RM", "reward model", "language model", "implicit RM"}
    assert values["rel_gemma_love_wins"] == values["rel_gemma_n"] == 4
    for r in values["love_freedom_ranks"]:
        if r["best_rank"] is not None:
            assert 1 <= r["best_rank"] <= r["n"]


def test_third_names_the_part_of_the_ranking():
    from rmnb.analysis.greatest import third

    assert third(20.5, 263) == "in the top third"
    assert third(102.0, 263) == "in the middle third"
    assert third(250.0, 263) == "in the bottom third"
    assert third(float("nan"), 263) == "not ranked"
