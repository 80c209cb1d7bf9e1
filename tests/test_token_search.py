"""Exhaustive token search (chapter 00): vocabulary filters, the FAccT shared vocabulary, moments, Kendall's tau,
MDS on known toy cases; the search on tiny random models; a smoke run of the chapter."""

import json
import os

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from conftest import ROOT
from rmnb.analysis import token_search as ts
from rmnb.base.errors import RmnbError

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # chapter kernels inherit it: idle threads sleep, not spin


# --- Kendall's tau and MDS -------------------------------------------------------------------------------------

def test_kendall_matrix_on_known_rankings():
    wide = pd.DataFrame({"A": [1.0, 2, 3, 4], "B": [10.0, 20, 30, 40], "C": [4.0, 3, 2, 1], "D": [1.0, 3, 2, 4]},
                        index=list("wxyz"))
    tau, p = ts.kendall_matrix(wide)
    assert list(tau.index) == list("ABCD")
    assert tau.loc["A", "B"] == pytest.approx(1.0) and tau.loc["A", "C"] == pytest.approx(-1.0)
    assert tau.loc["A", "D"] == pytest.approx(4 / 6)  # 5 concordant, 1 discordant pair of 6
    assert tau.loc["D", "A"] == tau.loc["A", "D"] and np.allclose(np.diag(tau), 1.0)
    assert 0 <= p.loc["A", "D"] <= 1
    pairs = ts.tau_pairs(tau)
    assert len(pairs) == 6 and pairs.iloc[0].tolist() == ["A", "B", pytest.approx(1.0)]


def _distances(x):
    return np.sqrt(((x[:, None, :] - x[None, :, :]) ** 2).sum(-1))


def test_classical_and_smacof_mds_recover_a_planar_configuration():
    points = np.array([[0.0, 0.0], [3.0, 0.0], [0.0, 4.0], [3.0, 4.0], [1.0, 1.0]])
    d = _distances(points)
    np.testing.assert_allclose(_distances(ts.classical_mds(d)), d, atol=1e-8)
    x, stress = ts.smacof(d)
    assert stress < 1e-3 * (d ** 2).sum()
    np.testing.assert_allclose(_distances(x), d, atol=0.05)
    x2, stress2 = ts.smacof(d)  # random_state 42: the same layout every time
    np.testing.assert_array_equal(x, x2)
    assert stress2 == stress


def test_mds_on_one_minus_tau():
    tau = pd.DataFrame([[1.0, 0.8, 0.2], [0.8, 1.0, 0.3], [0.2, 0.3, 1.0]], index=list("abc"), columns=list("abc"))
    pos, stress = ts.mds(tau)
    assert list(pos.model) == list("abc")
    np.testing.assert_allclose(pos[["x", "y"]].mean(), 0.0, atol=1e-12)  # centred
    dist = ts.embedding_distances(pos)
    np.testing.assert_allclose(dist.to_numpy(), 1 - tau.to_numpy(), atol=0.02)  # three points fit a plane exactly
    one, _ = ts.mds(tau.loc[["a"], ["a"]])
    assert one[["x", "y"]].abs().to_numpy().max() == 0
    with pytest.raises(RmnbError, match="symmetric"):
        ts.smacof(np.array([[0.0, 1.0], [2.0, 0.0]]))


# --- the FAccT shared vocabulary, moments, extremes -----------------------------------------------------------

def _scores(rows):
    return pd.DataFrame(rows, columns=["model_id", "model", "prompt_id", "token_id", "response", "score"])


def test_shared_vocabulary_drops_strings_duplicated_within_a_model():
    s = _scores([
        ("a", "A", "greatest", 0, "x", 1.0), ("a", "A", "greatest", 1, "y", 2.0), ("a", "A", "greatest", 2, "y", 0.5),
        ("a", "A", "greatest", 3, "z", 3.0), ("a", "A", "greatest", 4, "w", 0.0),
        ("b", "B", "greatest", 0, "x", 1.0), ("b", "B", "greatest", 1, "y", 2.0), ("b", "B", "greatest", 2, "z", 3.0),
        ("b", "B", "best", 0, "x", 1.0), ("b", "B", "best", 2, "z", 3.0),
    ])
    assert ts.shared_vocabulary(s, ["greatest"]) == {"x", "z"}  # "y" twice in A; "w" only in A
    assert ts.shared_vocabulary(s) == {"x", "z"}
    assert ts.shared_vocabulary(s[s.model_id == "a"], ["greatest"]) == {"x", "z", "w"}
    wide = ts.wide_scores(s, "greatest", {"x", "z"})
    assert list(wide.columns) == ["A", "B"] and list(wide.index) == ["x", "z"]


def test_moments_match_numpy_and_scipy_and_extremes_order():
    rng = np.random.default_rng(0)
    vals = rng.gamma(2.0, size=200)
    s = _scores([("m", "M", "greatest", i, f"t{i}", v) for i, v in enumerate(vals)])
    mom = ts.moments(s).iloc[0]
    assert mom.n == 200 and mom["mean"] == pytest.approx(vals.mean())
    assert mom["variance"] == pytest.approx(np.var(vals)) and mom["skew"] == pytest.approx(sps.skew(vals))
    assert mom["skew"] > 0  # a gamma distribution has a long right tail
    s["rank"] = ts.rank_scores(s)
    top, bottom = ts.extremes(s, n=3)
    assert list(top["rank"]) == [1, 2, 3] and list(bottom["rank"]) == [198, 199, 200]
    assert top.score.iloc[0] == vals.max() and bottom.score.iloc[-1] == vals.min()


def test_ranks_average_ties():
    s = _scores([("m", "M", "p", i, str(i), v) for i, v in enumerate([3.0, 5.0, 5.0, 1.0])])
    assert ts.rank_scores(s).tolist() == [3.0, 1.5, 1.5, 4.0]


# --- vocabulary plans ---------------------------------------------------------------------------------------------

def _vocab(strings):
    return pd.DataFrame({"token_id": range(len(strings)), "response": strings})


def test_filters_and_auto_choice():
    assert ts.choose_filters({"small": 50_000, "big": 262_144}) == {"small": "all", "big": "shared"}
    assert ts.choose_filters({"big": 262_144}) == {"big": "alpha"}
    assert ts.choose_filters({"big": 262_144}, on_gpu=True) == {"big": "all"}
    assert ts.choose_filters({"a": 10, "b": 20}, "alpha") == {"a": "alpha", "b": "alpha"}
    with pytest.raises(RmnbError, match="vocab_filter"):
        ts.choose_filters({"a": 1}, "words")
    vocab = _vocab(["Hello", " world", "!!", "123", " LOVE", "\nlove ", "é", " two words", "Freedom"])
    alpha = ts.filter_vocabulary(vocab, "alpha")
    assert list(alpha.response) == ["Hello", " world", " LOVE", "\nlove ", "Freedom"]  # love variants always kept
    shared = ts.filter_vocabulary(vocab, "shared", reference={"Hello", "!!"})
    assert list(shared.response) == ["Hello", "!!", " LOVE", "\nlove ", "Freedom"]
    assert len(ts.filter_vocabulary(vocab, "all")) == len(vocab)


def test_plan_and_common_sample():
    small = _vocab(["a", "b", "c", "d", "love", " love", "x", "x"])
    big = _vocab(["a", "b", "c", "d", "e", "love", "LOVE", " love", "x", "zz"] + [f"t{i}" for i in range(20)])
    plans = ts.search_plan({"small": small, "big": big}, limit=15)
    assert plans["small"].filter == "all" and plans["big"].filter == "shared"
    assert set(plans["big"].kept.response) == {"a", "b", "c", "d", "love", "LOVE", " love", "x"}
    sample = ts.common_sample({m: p.kept for m, p in plans.items()}, n=2)
    assert set(sample["small"].response) == set(sample["big"].response)
    assert {"love", " love"} <= set(sample["small"].response) and "x" not in set(sample["small"].response)
    full = ts.common_sample({m: p.kept for m, p in plans.items()}, n=None)
    assert set(full["small"].response) == {"a", "b", "c", "d", "love", " love"}


def test_prompt_sets():
    assert list(ts.facct_prompts().prompt_id) == ["greatest", "best", "worst"]
    assert list(ts.facct_prompts("worst,greatest").prompt_id) == ["worst", "greatest"]
    with pytest.raises(RmnbError, match="facct3"):
        ts.facct_prompts("greatest_ever_one")
    with pytest.raises(RmnbError, match="full_prompts"):
        ts.search(["x"], prompt_set="greatest", full_prompts="best")


def test_full_prompts_auto_is_the_first_prompt_on_a_gpu_only():
    keys = ["greatest", "best", "worst"]
    assert ts._full_set("auto", keys, on_gpu=True) == ["greatest"]
    assert ts._full_set("auto", keys, on_gpu=False) == []  # a CPU searches the common sample
    assert ts._full_set("greatest", keys) == ["greatest"] and ts._full_set("none", keys) == []
    assert ts._full_set("all", keys, on_gpu=False) == keys


def test_rows_per_second_reads_the_recorded_rows_and_time(tmp_path):
    from rmnb.data.store import rows_per_second

    for name, rows, seconds in (("a", 300, 2.0), ("b", 100, 2.0)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "meta.json").write_text(json.dumps({"n_rows": rows, "wall_time_s": seconds}))
    assert rows_per_second([tmp_path / "a", tmp_path / "b"]) == 100.0
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "meta.json").write_text(json.dumps({"n_rows": 5}))
    assert np.isnan(rows_per_second([tmp_path / "c"]))


# --- a smoke run of the chapter -----------------------------------------------------------------------------------

@pytest.mark.slow
def test_chapter_00_smoke_run(tmp_path, data_dir):
    from rmnb.builder import runner

    path = ROOT / "notebooks" / "00_token_search.md"
    runner.run_chapter(path, out_dir=tmp_path, results_dir=tmp_path / "results", profile="smoke")
    values = json.loads((tmp_path / "results" / "00_token_search.json").read_text())
    for key in ("top_tokens", "bottom_tokens", "moments", "kendall_tau", "mds", "search_plan", "top_sentence",
                "tau_sentence", "skew_sentence", "best_worst_spearman", "n_shared"):
        assert key in values, key
    models = {r["model"] for r in values["search_plan"]}
    assert len(models) == 2 and set(values["kendall_tau"]) == models
    prompts = {(r["model"], r["prompt_id"]) for r in values["moments"]}
    assert len(prompts) == 2 * 3
    for r in values["top_tokens"][:3]:
        assert {"token", "token_id", "score", "rank"} <= set(r)
    assert values["facct_n_rms"] == 10


def test_scope_sentence_says_what_was_searched():
    plan = pd.DataFrame({"model": ["A", "B"], "n_filtered": [49152, 30000], "vocab_size": [49152, 262144],
                         "n_sample": [4007, 4007]})
    sampled = ts.scope_sentence(pd.DataFrame({"prompt_id": ["greatest", "best"], "full": [False, False]}),
                                          plan)
    assert sampled == ("“greatest”, “best” over a common sample of 4,007 strings, so the top and the bottom of those "
                       "rankings are the sample's, not the vocabulary's")
    mixed = ts.scope_sentence(pd.DataFrame({"prompt_id": ["greatest", "worst"], "full": [True, False]}),
                                        plan)
    assert mixed.startswith("“greatest” over each model's filtered vocabulary (49,152 of 49,152 tokens for A, "
                            "30,000 of 262,144 tokens for B); “worst” over a common sample")
