"""The FAccT statistics of a token search (:mod:`rmnb.analysis.search_stats`) on hand-made score frames: Kendall's
tau, the shared vocabulary, moments, extremes and ranks, the best/worst rho and English words among the top."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from rmnb.analysis import search_stats as ss


def test_kendall_matrix_on_known_rankings():
    wide = pd.DataFrame({"A": [1.0, 2, 3, 4], "B": [10.0, 20, 30, 40], "C": [4.0, 3, 2, 1], "D": [1.0, 3, 2, 4]},
                        index=list("wxyz"))
    tau, p = ss.kendall_matrix(wide)
    assert list(tau.index) == list("ABCD")
    assert tau.loc["A", "B"] == pytest.approx(1.0) and tau.loc["A", "C"] == pytest.approx(-1.0)
    assert tau.loc["A", "D"] == pytest.approx(4 / 6)  # 5 concordant, 1 discordant pair of 6
    assert tau.loc["D", "A"] == tau.loc["A", "D"] and np.allclose(np.diag(tau), 1.0)
    assert 0 <= p.loc["A", "D"] <= 1
    pairs = ss.tau_pairs(tau)
    assert len(pairs) == 6 and pairs.iloc[0].tolist() == ["A", "B", pytest.approx(1.0)]



def _scores(rows):
    return pd.DataFrame(rows, columns=["model_id", "model", "prompt_id", "token_id", "response", "score"])


def test_shared_vocabulary_drops_strings_duplicated_within_a_model():
    s = _scores([
        ("a", "A", "greatest", 0, "x", 1.0), ("a", "A", "greatest", 1, "y", 2.0), ("a", "A", "greatest", 2, "y", 0.5),
        ("a", "A", "greatest", 3, "z", 3.0), ("a", "A", "greatest", 4, "w", 0.0),
        ("b", "B", "greatest", 0, "x", 1.0), ("b", "B", "greatest", 1, "y", 2.0), ("b", "B", "greatest", 2, "z", 3.0),
        ("b", "B", "best", 0, "x", 1.0), ("b", "B", "best", 2, "z", 3.0),
    ])
    assert ss.shared_vocabulary(s, ["greatest"]) == {"x", "z"}  # "y" twice in A; "w" only in A
    assert ss.shared_vocabulary(s) == {"x", "z"}
    assert ss.shared_vocabulary(s[s.model_id == "a"], ["greatest"]) == {"x", "z", "w"}
    wide = ss.wide_scores(s, "greatest", {"x", "z"})
    assert list(wide.columns) == ["A", "B"] and list(wide.index) == ["x", "z"]


def test_moments_match_numpy_and_scipy_and_extremes_order():
    rng = np.random.default_rng(0)
    vals = rng.gamma(2.0, size=200)
    s = _scores([("m", "M", "greatest", i, f"t{i}", v) for i, v in enumerate(vals)])
    mom = ss.moments(s).iloc[0]
    assert mom.n == 200 and mom["mean"] == pytest.approx(vals.mean())
    assert mom["variance"] == pytest.approx(np.var(vals)) and mom["skew"] == pytest.approx(sps.skew(vals))
    assert mom["skew"] > 0  # a gamma distribution has a long right tail
    s["rank"] = ss.rank_scores(s)
    top, bottom = ss.extremes(s, n=3)
    assert list(top["rank"]) == [1, 2, 3] and list(bottom["rank"]) == [198, 199, 200]
    assert top.score.iloc[0] == vals.max() and bottom.score.iloc[-1] == vals.min()


def test_ranks_average_ties():
    s = _scores([("m", "M", "p", i, str(i), v) for i, v in enumerate([3.0, 5.0, 5.0, 1.0])])
    assert ss.rank_scores(s).tolist() == [3.0, 1.5, 1.5, 4.0]


def test_best_worst_rho_over_english_words():
    words = [" love", " war", " peace", " hate", " joy"]
    junk = ["?](", "iator", "##"]
    best = dict(zip(words + junk, [5, 1, 4, 2, 3, 9, 9, 9]))
    worst = dict(zip(words + junk, [1, 5, 2, 4, 3, 9, 9, 9]))
    frame = pd.DataFrame([dict(model_id="m", model="M", prompt_id=p, token_id=i, response=t, score=v[t])
                          for p, v in (("best", best), ("worst", worst)) for i, t in enumerate(words + junk)])
    rho = ss.best_worst_rho(frame)
    assert rho.rho.iloc[0] == pytest.approx(-1.0) and rho.n.iloc[0] == len(words)
    assert ss.best_worst_rho(frame, english_only=False).n.iloc[0] == len(words) + len(junk)
    assert ss.rho_verdict(rho).startswith("below zero for every RM")
    assert "not below zero" in ss.rho_verdict(rho.assign(rho=0.4))


def test_english_words_among_the_top():
    frame = pd.DataFrame(dict(model_id="m", model="M", prompt_id="greatest", token_id=range(4),
                              response=[" love", "?](", " peace", "iator"], score=[4.0, 3.0, 2.0, 1.0]))
    frame["rank"] = ss.rank_scores(frame)
    got = ss.english_in_top(frame, "greatest", n=3)
    assert got.english.iloc[0] == 2 and got.n.iloc[0] == 3
