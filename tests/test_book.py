"""The whole book: every chapter runs through papermill (smoke settings) and builds strictly (-W)."""

import json

import nbformat
import pytest

pytestmark = pytest.mark.slow

HEADLINE_01 = ["three_way_estimate", "three_way_se", "three_way_df", "three_way_t", "three_way_p"] + [
    f"{c}_{f}_{k}" for c in ("agency", "communion") for f in ("positive", "negative")
    for k in ("mean_gemma", "mean_llama", "p_welch_bonf", "p_perm_bonf", "cohen_d")]


def test_chapters_ran_without_exception(built_book):
    chapters = built_book.parents[1] / "book" / "chapters"
    notebooks = sorted(chapters.glob("*.ipynb"))
    assert notebooks
    for path in notebooks:
        meta = nbformat.read(path, as_version=4).metadata
        assert meta["papermill"]["exception"] in (None, False), path.name
        assert "device" in meta["rmnb"]


def test_results_json_has_headline_values(built_book):
    results = built_book.parent / "results"
    ch01 = json.loads((results / "01_big_two.json").read_text())
    for key in HEADLINE_01:
        assert isinstance(ch01[key], (int, float)), key
    assert ch01["three_way_df"] == 1064 and ch01["n_models"] == 10
    ch02 = json.loads((results / "02_moral_foundations.json").read_text())
    for foundation in ("care", "fairness", "loyalty", "authority", "sanctity"):
        for framing in ("positive", "negative"):
            for key in ("mean_gemma", "mean_llama", "p_welch_bonf", "p_perm_bonf", "cohen_d"):
                assert f"{foundation}_{framing}_{key}" in ch02
    assert ch02["n_terms_authors"] == 1652


def test_results_json_has_the_rm_level_tests(built_book):
    results = built_book.parent / "results"
    ch01 = json.loads((results / "01_big_two.json").read_text())
    assert ch01["rm_three_n_labelings"] == ch01["rm_design_n_labelings"] == 210
    assert ch01["rm_three_diff"] == pytest.approx(ch01["three_way_estimate"], abs=1e-6)
    assert 1 / 210 <= ch01["rm_three_p_exact"] <= 1 and 0 < ch01["rm_three_p_welch"] <= 1
    assert {(r["category"], r["framing"]) for r in ch01["rm_panels"]} == {
        (c, f) for c in ("Agency", "Communion") for f in ("positive", "negative")}
    assert all(1 / 210 <= r["p_exact"] <= 1 for r in ch01["rm_panels"])
    ch02 = json.loads((results / "02_moral_foundations.json").read_text())
    for prefix in ("", "corrected_"):
        assert ch02[f"{prefix}rm_three_n_labelings"] == 210 and (ch02[f"{prefix}rm_three_df1"]) == 4
        assert len(ch02[f"{prefix}rm_panels"]) == 10
    ch03 = json.loads((results / "03_base_model_logprobs.json").read_text())
    prediction = ch03["prediction_positive"]
    assert prediction["condition"] == "instruct" and set(prediction["p_fdr"]) == {"Agency", "Communion"}
    assert {prediction["Agency"], prediction["Communion"]} <= set(prediction["models"]) | {"neither"}


def test_glued_numbers_appear_in_prose(built_book):
    page = (built_book / "book" / "chapters" / "01_big_two.html").read_text()
    results = json.loads((built_book.parent / "results" / "01_big_two.json").read_text())
    assert f"{results['three_way_t']:.2f}" in page
    assert "Figure 1" in page or "Fig. 1" in page


def test_bibliography_lists_cited_work(built_book):
    page = (built_book / "book" / "bibliography.html").read_text()
    assert "Christian" in page and "Reward" in page
