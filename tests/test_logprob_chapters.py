"""Chapters 03 and 04: smoke runs with reduced parameters (offline, embedded models), and the released source
failing clearly in a chapter. The §3a statistics are tested in test_base_logprobs.py, the released tables in
test_logprob_tables.py."""

import json

import pytest

from conftest import ROOT
from rmnb.base.errors import RmnbError
from rmnb.builder import runner

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


