"""Chapter 03's statistics and verdicts (:mod:`rmnb.analysis.base_logprobs`) on small hand-made tables: strict
against broad matching, the three-way term in words, the checks of Figure 2's pattern."""

import numpy as np
import pandas as pd
import pytest

from rmnb.analysis import base_logprobs


@pytest.mark.parametrize("strict_p, broad_p, verdict", [
    (0.01, 0.02, "survives"), (0.01, 0.20, "does not survive"), (0.30, 0.20, "stays absent under"),
    (0.30, 0.01, "appears only with"), (0.01, np.nan, "does not survive"), (0.05, 0.05, "stays absent under")])
def test_robustness_verdict(strict_p, broad_p, verdict):
    assert base_logprobs.robustness_verdict(strict_p, broad_p) == verdict


def _analysis(p_three_way, better):
    aov = pd.DataFrame({"term": ["category", "category:valence:model", "Residual"],
                        "F": [1.0, 8.0 / p_three_way, np.nan], "df": [1, 1, 20], "df_resid": [20.0] * 3,
                        "p": [0.5, p_three_way, np.nan]})
    post = pd.DataFrame({"category": [c for c, _ in base_logprobs.CELLS], "valence": [v for _, v in base_logprobs.CELLS],
                         "better": better})
    return {"aov": aov, "post": post}


def test_compare_matching_and_three_way_text():
    strict = _analysis(0.01, ["A", "B", "B", "A"])
    broad = _analysis(0.2, ["A", "A", "B", "neither"])
    got = base_logprobs.compare_matching(strict, broad)
    assert got["same_winner"] == 2 and got["n_cells"] == 4 and got["verdict"] == "does not survive"
    assert got["F_strict"] == pytest.approx(800) and got["F_broad"] == pytest.approx(40) and got["p_broad"] == 0.2
    assert base_logprobs.compare_matching(strict, strict)["verdict"] == "survives"
    assert base_logprobs.three_way_text(strict["aov"]) == "F(1,20) = 800.0, p = 0.01"
    assert base_logprobs.three_way_text(_analysis(0.0004, ["A"] * 4)["aov"]) == "F(1,20) = 20000.0, p < 0.001"


def _post(diffs):
    """A :func:`base_logprobs.posthoc`-like table with ``diff`` (B minus A) per cell, in the paper's cell order."""
    return pd.DataFrame({"category": [c for c, _ in base_logprobs.CELLS], "valence": [v for _, v in base_logprobs.CELLS],
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
    got = base_logprobs.paper_checks(_analysis(p, ["A"] * 4)["aov"], post)
    assert (got["same_direction"], got["significant_same_direction"]) == checks
    assert findings.verdict(*got.values()) == verdict
    assert base_logprobs.paper_checks(_analysis(p, ["A"] * 4)["aov"], post.iloc[:0])["same_direction"] is None
