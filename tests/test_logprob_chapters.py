"""Paper §3a statistics (median ranks, the three-way ANOVA, BH post-hoc tests), the log-prob sources, and a smoke
run of chapters 03 and 04 with reduced parameters (offline, embedded models)."""

import json

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT
from rmnb.analysis import base_logprobs as lps
from rmnb.analysis.claims import p_text
from rmnb.base.errors import RmnbError
from rmnb.builder import runner
from rmnb.data import logprob_tables


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
    ranks, med = lps.median_rank_table(word_lp)
    assert list(ranks["rank"]) == [1.5, 4.0, 1.5, 3.0]  # ties share the average rank, 1 = most probable
    assert dict(zip(med.category, med["rank"])) == {"Agency": 2.75, "Communion": 2.25}
    assert set(med.valence) == {"positive"} and set(med.n_words) == {2}


def test_anova_finds_a_planted_three_way_interaction():
    table = lps.anova(_simulated_medians(effect=3.0)).set_index("term")
    assert table.loc["category:valence:model", "df"] == 1 and table.df_resid.iloc[0] == 208
    assert table.loc["category:valence:model", "p"] < 1e-10
    assert table.loc["model", "p"] > 0.01 and table.loc["category:model", "p"] > 0.01
    null = lps.anova(_simulated_medians(effect=0.0, seed=3)).set_index("term")
    assert null.loc["category:valence:model", "p"] > 0.01


def test_posthoc_order_fdr_and_direction():
    med = _simulated_medians(effect=3.0)
    post = lps.posthoc(med, "A", "B")
    assert list(zip(post.category, post.valence)) == list(lps.CELLS)
    assert (post.p_fdr >= post.p - 1e-15).all() and (post.n_a == 27).all()
    assert list(post.better) == ["B", "A", "A", "B"]
    assert lps.paper_direction(post) < 0  # the paper's pattern
    assert lps.paper_direction(lps.posthoc(med, "B", "A")) > 0  # swapping sides flips it
    constant = med.assign(rank=1.0)
    assert (lps.posthoc(constant, "A", "B").p == 1.0).all()


def test_figure2_puts_the_valences_side_by_side_under_one_y_title():
    import re

    import vl_convert

    from rmnb import charts

    med = _simulated_medians(effect=3.0)
    chart = charts.base_logprobs.figure2(med, lps.posthoc(med, "A", "B"), "A", "B", families=("Gemma", "Llama"),
                                         n_words=66)
    spec = json.loads(chart.to_json())
    assert spec["facet"]["column"]["field"] == "valence" and "row" not in spec["facet"]  # short: one row of panels
    svg = vl_convert.vegalite_to_svg(chart.to_json())  # drawn as a browser would
    axes = re.findall(r'aria-label="(Y-axis[^"]*)"', svg)
    assert len(axes) == 1 and "titled 'Median rank (#1 = best, #66 = worst)'" in axes[0], axes  # one shared axis
    assert "Title text 'positive prompts'" in svg and "Title text 'negative prompts'" in svg


def test_positive_prediction_names_the_better_base_per_category_under_positive_prompts():
    med = _simulated_medians(effect=3.0)  # B ranks agency better under positive prompts, A communion
    post = lps.posthoc(med.replace({"A": "a", "B": "b"}), "a", "b")
    pred = lps.positive_prediction(post, "a", "b")
    assert pred["condition"] == "instruct" and pred["models"] == ["a", "b"]
    assert (pred["Agency"], pred["Communion"]) == ("b", "a")
    cells = post[post.valence == "positive"].set_index("category").p_fdr
    assert pred["p_fdr"] == {"Agency": cells["Agency"], "Communion": cells["Communion"]}
    swapped = lps.positive_prediction(lps.posthoc(med.replace({"A": "a", "B": "b"}), "b", "a"), "b", "a")
    assert (swapped["Agency"], swapped["Communion"]) == ("b", "a")  # the better model, not the side, is recorded
    reversed_effect = lps.positive_prediction(lps.posthoc(_simulated_medians(effect=-3.0), "A", "B"), "A", "B")
    assert (reversed_effect["Agency"], reversed_effect["Communion"]) == ("A", "B")
    empty = lps.positive_prediction(post[post.valence == "negative"], "a", "b", condition="pretrained")
    assert empty["Agency"] is None and np.isnan(empty["p_fdr"]["Communion"]) and empty["condition"] == "pretrained"


def test_anova_needs_both_levels():
    med = _simulated_medians(effect=1.0)
    with pytest.raises(RmnbError, match="two levels of 'valence'"):
        lps.anova(med[med.valence == "positive"])


def test_pairs_presets_and_sources():
    pairs = lps.resolve_pairs("embedded")
    assert pairs["instruct"] == ("gemma3-270m", "smollm2-135m-instruct")
    paper = lps.resolve_pairs("paper", pretrained_pair="x/a, y/b")
    assert paper["instruct"] == ("google/gemma-2-2b-it", "meta-llama/Llama-3.2-3B-Instruct")
    assert paper["pretrained"] == ("x/a", "y/b")
    with pytest.raises(RmnbError, match="'A,B'"):
        lps.parse_pair("only-one")
    assert lps.resolve_source("auto", paper["instruct"]) == "released"
    assert lps.resolve_source("auto", pairs["instruct"]) == "live"
    with pytest.raises(RmnbError, match="source must be"):
        lps.resolve_source("cloud", [])


def test_released_source_offline_names_the_fix(monkeypatch, tmp_path):
    import huggingface_hub.constants as hf_constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setattr(hf_constants, "HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(RmnbError, match="source='live'"):
        logprob_tables.released_file("google/gemma-2-2b-it", revision="main")


# --- smoke runs of the two chapters ----------------------------------------------------------------------

CHAPTER_KEYS = {
    "03_base_model_logprobs": [f"{c}_{k}" for c in ("instruct", "pretrained")
                               for k in ("three_way_F", "three_way_df", "three_way_p", "model_F", "n_strict",
                                         "agency_positive_p_fdr", "communion_negative_p_fdr", "anova", "posthoc",
                                         "direction", "broad_three_way_F", "three_way_text", "verdict")]
    + ["prediction_positive", "confound_sentence", "findings"],
    "04_implicit_reward": ["table1_top", "table1_bottom", "table1_best", "table1_worst", "fig3_pairs",
                           "n_freedom_wins", "recovery", "mwlr_recall", "best_metric", "toy_identity_gap",
                           "identity_gap", "pair0_freedom_mwlr", "pair0_love_mwlr", "fig3_direction_verdict",
                           "ends_ratio_freedom", "ends_ratio_love", "confound_sentence", "table1_verdict",
                           "fig3_verdict", "figA3_verdict", "findings"],
}


@pytest.fixture(scope="module")
def smoke_results(tmp_path_factory, data_dir):
    out = tmp_path_factory.mktemp("chapters")
    results = {}
    for stem in CHAPTER_KEYS:
        path = ROOT / "notebooks" / f"{stem}.md"
        runner.run_chapter(path, out_dir=out, results_dir=out / "results", profile="smoke")
        results[stem] = json.loads((out / "results" / f"{stem}.json").read_text())
    return results


@pytest.mark.slow
@pytest.mark.parametrize("stem", list(CHAPTER_KEYS))
def test_chapter_smoke_run_glues_its_results(smoke_results, stem):
    values = smoke_results[stem]
    missing = [k for k in CHAPTER_KEYS[stem] if k not in values]
    assert not missing, missing


@pytest.mark.slow
def test_chapter_results_are_consistent(smoke_results):
    ch03, ch04 = smoke_results["03_base_model_logprobs"], smoke_results["04_implicit_reward"]
    for cond in ("instruct", "pretrained"):
        three = [r for r in ch03[f"{cond}_anova"] if r["term"] == "category:valence:model"][0]
        assert three["F"] == pytest.approx(ch03[f"{cond}_three_way_F"])
        assert ch03[f"{cond}_three_way_df"] == f"1,{int(three['df_resid'])}"
        assert all(0 <= r["p_fdr"] <= 1 for r in ch03[f"{cond}_posthoc"])
    assert ch03["instruct_n_strict"] == 66
    assert len(ch04["table1_top"]) == len(ch04["table1_bottom"]) == ch04["n_show"]
    assert [r["rank"] for r in ch04["table1_top"]][:2] == [1, 2]
    pairs = ch04["fig3_pairs"]
    assert len(pairs) == 2 and pairs[0]["Freedom"] == pytest.approx(-pairs[1]["Freedom"])
    # the key findings (the landing page's table) carry the verdicts the key-result boxes glue
    assert {f["key"]: f["verdict"] for f in ch03["findings"]} == {
        "fig2_instruct": ch03["instruct_verdict"], "fig2_pretrained": ch03["pretrained_verdict"]}
    assert {f["key"]: f["verdict"] for f in ch04["findings"]} == {
        "table1_words": ch04["table1_verdict"], "fig3_freedom_love": ch04["fig3_verdict"],
        "figA3_mwlr": ch04["figA3_verdict"]}
    assert {r["metric"] for r in ch04["recovery"]} >= {"MWLR", "raw log-ratio"}
    assert ch04["toy_identity_gap"] < 1e-9 and ch04["identity_gap"] < 1e-6


def test_released_source_fails_clearly_in_the_chapter(tmp_path, data_dir, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    path = ROOT / "notebooks" / "03_base_model_logprobs.md"
    with pytest.raises(RmnbError, match="source='live'"):
        runner.run_chapter(path, {"model_set": "paper"}, out_dir=tmp_path, results_dir=tmp_path / "r", profile="smoke")


def test_released_tables_are_dense_by_token_id(monkeypatch, tmp_path):
    csv = tmp_path / "m.csv"
    pd.DataFrame({"token_id": [0, 1, 3], "token_name": ["a", "b", "d"], "token_decoded": ["love", "nan", "duty"],
                  "greatest_ever_one": [-1.0, -2.0, -3.0], "worst_ever_one": [-4.0, -5.0, -6.0]}).to_csv(csv,
                                                                                                     index=False)
    monkeypatch.setattr(logprob_tables, "released_file", lambda model_id, revision="main": (str(csv), "abc123"))
    table = logprob_tables.released_logprobs("org/m", ["worst_ever_one", "greatest_ever_one"])
    assert table.values.shape == (2, 4) and table.revision == "abc123" and table.source == "released"
    assert table.values[1, 3] == -3.0 and np.isneginf(table.values[0, 2])
    assert table.vocab.token_decoded[0] == "love" and pd.isna(table.vocab.token_decoded[2])
    assert pd.isna(table.vocab.token_decoded[1])  # pandas reads the string "nan" as missing, as the authors' code
    assert table.series("greatest_ever_one")[0] == -1.0


def test_cell_by_cell_agreement_with_the_papers_pattern():
    med = _simulated_medians(effect=3.0)
    cells = lps.cell_agreement(lps.posthoc(med, "A", "B"), "A", "B")
    assert cells.agrees.all() and cells.significant.all()
    assert list(cells.paper_better) == ["B", "A", "A", "B"]
    swapped = lps.cell_agreement(lps.posthoc(med, "B", "A"), "B", "A")
    assert not swapped.agrees.any()
    assert lps.agreement_text(cells).startswith("Agency+ agrees (significant), Communion+ agrees")
    # one cell flipped by hand: three agree, and the text names the one that does not
    mixed = cells.assign(agrees=[True, True, False, True], significant=[True, False, False, True])
    assert "Agency- disagrees (not significant)" in lps.agreement_text(mixed)
    assert lps.pair_name("gemma3-270m", "smollm2-135m-instruct",
                         {"gemma3-270m": "Gemma 3", "smollm2-135m-instruct": "SmolLM2"}) == "SmolLM2 vs Gemma 3"


def test_glue_posthoc_glues_the_agreement():
    class Sink:
        def __init__(self):
            self.values = {}

        def glue(self, name, value):
            self.values[name] = value

        record = glue

    sink = Sink()
    post = lps.posthoc(_simulated_medians(effect=3.0), "A", "B")
    lps.glue_posthoc(sink, "instruct", post, {"A": "Gemma 3", "B": "SmolLM2"}, pair=("A", "B"))
    assert sink.values["instruct_pair_name"] == "SmolLM2 vs Gemma 3"
    assert (sink.values["instruct_n_agree"], sink.values["instruct_n_cells"]) == (4, 4)
    assert sink.values["instruct_n_agree_sig"] == 4 and sink.values["instruct_n_disagree_sig"] == 0
    p_fdr = sink.values["instruct_agency_positive_p_fdr"]
    assert sink.values["instruct_agency_positive_p_fdr_text"] == p_text(p_fdr)  # prose: "p < 0.001", no 5e-08


def test_conditions_note_only_when_both_conditions_share_the_models():
    assert "same weights" in lps.conditions_note(lps.resolve_pairs("embedded"))
    assert lps.conditions_note(lps.resolve_pairs("paper")) == ""
