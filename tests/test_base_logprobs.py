"""Chapter 03's statistics and verdicts (:mod:`rmnb.analysis.base_logprobs`) on simulated and hand-made tables:
median ranks, the three-way ANOVA, BH post-hoc tests, pairs and sources, agreement with the paper's pattern, strict
against broad matching, the checks of Figure 2's pattern; and Figure 2 itself (:mod:`rmnb.charts.base_logprobs`)."""

import json

import numpy as np
import pandas as pd
import pytest

from rmnb.analysis import base_logprobs
from rmnb.analysis.claims import p_text
from rmnb.base.errors import RmnbError


def _simulated_medians(effect: float, seed: int = 0) -> pd.DataFrame:
    """216 rows like the paper's: 54 prompts x 2 categories x 2 models, with a planted three-way interaction in
    the paper's direction (B = "Llama" ranks agency better under positive prompts, communion under negative)."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(54):
        valence = "positive" if i < 27 else "negative"
        for category in ("Agency", "Communion"):
            for model in ("A", "B"):
                sign = (1 if category == "Agency" else -1) * (1 if valence == "positive" else -1)
                shift = -effect * sign if model == "B" else effect * sign
                rows.append(dict(prompt_id=f"p{i}", category=category, model=model, valence=valence,
                                 rank=50 + shift + rng.normal(0, 3)))
    return pd.DataFrame(rows)


def test_median_rank_table_ranks_within_model_and_prompt():
    word_lp = pd.DataFrame({
        "model": ["m"] * 4, "prompt_id": ["greatest_ever_one"] * 4, "term": ["a", "b", "c", "d"],
        "category": ["Agency", "Agency", "Communion", "Communion"], "logprob": [-1.0, -3.0, -1.0, -2.0]})
    ranks, med = base_logprobs.median_rank_table(word_lp)
    assert list(ranks["rank"]) == [1.5, 4.0, 1.5, 3.0]  # ties share the average rank, 1 = most probable
    assert dict(zip(med.category, med["rank"])) == {"Agency": 2.75, "Communion": 2.25}
    assert set(med.valence) == {"positive"} and set(med.n_words) == {2}


def test_anova_finds_a_planted_three_way_interaction():
    table = base_logprobs.anova(_simulated_medians(effect=3.0)).set_index("term")
    assert table.loc["category:valence:model", "df"] == 1 and table.df_resid.iloc[0] == 208
    assert table.loc["category:valence:model", "p"] < 1e-10
    assert table.loc["model", "p"] > 0.01 and table.loc["category:model", "p"] > 0.01
    null = base_logprobs.anova(_simulated_medians(effect=0.0, seed=3)).set_index("term")
    assert null.loc["category:valence:model", "p"] > 0.01


def test_posthoc_order_fdr_and_direction():
    med = _simulated_medians(effect=3.0)
    post = base_logprobs.posthoc(med, "A", "B")
    assert list(zip(post.category, post.valence)) == list(base_logprobs.CELLS)
    assert (post.p_fdr >= post.p - 1e-15).all() and (post.n_a == 27).all()
    assert list(post.better) == ["B", "A", "A", "B"]
    assert base_logprobs.paper_direction(post) < 0  # the paper's pattern
    assert base_logprobs.paper_direction(base_logprobs.posthoc(med, "B", "A")) > 0  # swapping sides flips it
    constant = med.assign(rank=1.0)
    assert (base_logprobs.posthoc(constant, "A", "B").p == 1.0).all()


def test_figure2_puts_the_valences_side_by_side_under_one_y_title():
    import re

    import vl_convert

    from rmnb import charts

    med = _simulated_medians(effect=3.0)
    chart = charts.base_logprobs.figure2(med, base_logprobs.posthoc(med, "A", "B"), "A", "B",
                                         families=("Gemma", "Llama"), n_words=66)
    spec = json.loads(chart.to_json())
    assert spec["facet"]["column"]["field"] == "valence" and "row" not in spec["facet"]  # short: one row of panels
    svg = vl_convert.vegalite_to_svg(chart.to_json())  # drawn as a browser would
    axes = re.findall(r'aria-label="(Y-axis[^"]*)"', svg)
    assert len(axes) == 1 and "titled 'Median rank (#1 = best, #66 = worst)'" in axes[0], axes  # one shared axis
    assert "Title text 'positive prompts'" in svg and "Title text 'negative prompts'" in svg


def test_positive_prediction_names_the_better_base_per_category_under_positive_prompts():
    med = _simulated_medians(effect=3.0)  # B ranks agency better under positive prompts, A communion
    post = base_logprobs.posthoc(med.replace({"A": "a", "B": "b"}), "a", "b")
    pred = base_logprobs.positive_prediction(post, "a", "b")
    assert pred["condition"] == "instruct" and pred["models"] == ["a", "b"]
    assert (pred["Agency"], pred["Communion"]) == ("b", "a")
    cells = post[post.valence == "positive"].set_index("category").p_fdr
    assert pred["p_fdr"] == {"Agency": cells["Agency"], "Communion": cells["Communion"]}
    swapped_post = base_logprobs.posthoc(med.replace({"A": "a", "B": "b"}), "b", "a")
    swapped = base_logprobs.positive_prediction(swapped_post, "b", "a")
    assert (swapped["Agency"], swapped["Communion"]) == ("b", "a")  # the better model, not the side, is recorded
    reversed_post = base_logprobs.posthoc(_simulated_medians(effect=-3.0), "A", "B")
    reversed_effect = base_logprobs.positive_prediction(reversed_post, "A", "B")
    assert (reversed_effect["Agency"], reversed_effect["Communion"]) == ("A", "B")
    empty = base_logprobs.positive_prediction(post[post.valence == "negative"], "a", "b", condition="pretrained")
    assert empty["Agency"] is None and np.isnan(empty["p_fdr"]["Communion"]) and empty["condition"] == "pretrained"


def test_anova_needs_both_levels():
    med = _simulated_medians(effect=1.0)
    with pytest.raises(RmnbError, match="two levels of 'valence'"):
        base_logprobs.anova(med[med.valence == "positive"])


def test_pairs_presets_and_sources():
    pairs = base_logprobs.resolve_pairs("embedded")
    assert pairs["instruct"] == ("gemma3-270m", "smollm2-135m-instruct")
    paper = base_logprobs.resolve_pairs("paper", pretrained_pair="x/a, y/b")
    assert paper["instruct"] == ("google/gemma-2-2b-it", "meta-llama/Llama-3.2-3B-Instruct")
    assert paper["pretrained"] == ("x/a", "y/b")
    with pytest.raises(RmnbError, match="'A,B'"):
        base_logprobs.parse_pair("only-one")
    assert base_logprobs.resolve_source("auto", paper["instruct"]) == "released"
    assert base_logprobs.resolve_source("auto", pairs["instruct"]) == "live"
    with pytest.raises(RmnbError, match="source must be"):
        base_logprobs.resolve_source("cloud", [])


def test_cell_by_cell_agreement_with_the_papers_pattern():
    med = _simulated_medians(effect=3.0)
    cells = base_logprobs.cell_agreement(base_logprobs.posthoc(med, "A", "B"), "A", "B")
    assert cells.agrees.all() and cells.significant.all()
    assert list(cells.paper_better) == ["B", "A", "A", "B"]
    swapped = base_logprobs.cell_agreement(base_logprobs.posthoc(med, "B", "A"), "B", "A")
    assert not swapped.agrees.any()
    assert base_logprobs.agreement_text(cells).startswith("Agency+ agrees (significant), Communion+ agrees")
    # one cell flipped by hand: three agree, and the text names the one that does not
    mixed = cells.assign(agrees=[True, True, False, True], significant=[True, False, False, True])
    assert "Agency- disagrees (not significant)" in base_logprobs.agreement_text(mixed)
    names = {"gemma3-270m": "Gemma 3", "smollm2-135m-instruct": "SmolLM2"}
    assert base_logprobs.pair_name("gemma3-270m", "smollm2-135m-instruct", names) == "SmolLM2 vs Gemma 3"


def test_glue_posthoc_glues_the_agreement():
    class Sink:
        def __init__(self):
            self.values = {}

        def glue(self, name, value):
            self.values[name] = value

        record = glue

    sink = Sink()
    post = base_logprobs.posthoc(_simulated_medians(effect=3.0), "A", "B")
    base_logprobs.glue_posthoc(sink, "instruct", post, {"A": "Gemma 3", "B": "SmolLM2"}, pair=("A", "B"))
    assert sink.values["instruct_pair_name"] == "SmolLM2 vs Gemma 3"
    assert (sink.values["instruct_n_agree"], sink.values["instruct_n_cells"]) == (4, 4)
    assert sink.values["instruct_n_agree_sig"] == 4 and sink.values["instruct_n_disagree_sig"] == 0
    p_fdr = sink.values["instruct_agency_positive_p_fdr"]
    assert sink.values["instruct_agency_positive_p_fdr_text"] == p_text(p_fdr)  # prose: "p < 0.001", no 5e-08


def test_conditions_note_only_when_both_conditions_share_the_models():
    assert "same weights" in base_logprobs.conditions_note(base_logprobs.resolve_pairs("embedded"))
    assert base_logprobs.conditions_note(base_logprobs.resolve_pairs("paper")) == ""


@pytest.mark.parametrize("strict_p, broad_p, verdict", [
    (0.01, 0.02, "survives"), (0.01, 0.20, "does not survive"), (0.30, 0.20, "stays absent under"),
    (0.30, 0.01, "appears only with"), (0.01, np.nan, "does not survive"), (0.05, 0.05, "stays absent under")])
def test_robustness_verdict(strict_p, broad_p, verdict):
    assert base_logprobs.robustness_verdict(strict_p, broad_p) == verdict


def _analysis(p_three_way, better):
    aov = pd.DataFrame({"term": ["category", "category:valence:model", "Residual"],
                        "F": [1.0, 8.0 / p_three_way, np.nan], "df": [1, 1, 20], "df_resid": [20.0] * 3,
                        "p": [0.5, p_three_way, np.nan]})
    post = pd.DataFrame({"category": [c for c, _ in base_logprobs.CELLS],
                         "valence": [v for _, v in base_logprobs.CELLS], "better": better})
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
    return pd.DataFrame({"category": [c for c, _ in base_logprobs.CELLS],
                         "valence": [v for _, v in base_logprobs.CELLS], "diff": diffs})


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
