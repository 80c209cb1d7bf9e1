"""The authors' released training ablations: read exactly as released, quirks handled explicitly; the verdicts
chapter 05 states in words, on hand-made tables (both outcomes and the tie/missing case)."""

import csv

import numpy as np
import pandas as pd
import pytest

from rmnb.analysis import ablations as ta
from rmnb.data.fetch import fetch


def raw_rows(stem):
    """The file through the csv module only (independent of the pandas reader under test)."""
    with open(fetch("iclr2026", ta.path_of(stem)), newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def released(data_dir):
    return ta.load_released()


def test_tidy_table_equals_the_distinct_rows_of_every_file(released):
    for stem in ta.FILES.file:
        mine = released.runs[released.runs.file == stem]
        got = {(r.run, str(r.category), int(r.checkpoint), float(r.sum_value)) for r in mine.itertuples()}
        want = {(r["model_id"], r["Category"], int(r["checkpoint"]), float(r["sum_value"])) for r in raw_rows(stem)}
        assert got == want, stem
        assert len(mine) == len(want), stem  # one row per (run, category, checkpoint)


def test_final_table_reproduces_the_files(released):
    final = ta.final_table(released.runs)
    for stem in ta.FILES.file:
        rows = raw_rows(stem)
        for run in {r["model_id"] for r in rows}:
            last = max(int(r["checkpoint"]) for r in rows if r["model_id"] == run)
            for cat in ("Agency", "Communion"):
                want = {float(r["sum_value"]) for r in rows if r["model_id"] == run and r["Category"] == cat
                        and int(r["checkpoint"]) == last}
                got = final[(final.file == stem) & (final.run == run) & (final.category == cat)]
                assert len(got) == 1 and {float(got.sum_value.iloc[0])} == want, (stem, run, cat)
                assert int(got.final_checkpoint.iloc[0]) == last
    manifest = ta.FILES.set_index("file").final_step
    for stem, g in final.groupby("file"):
        assert set(g.final_checkpoint) == {manifest[stem]}, stem
    assert len(final) == 5 * 3 * 2 + 2 * 2  # UF 13/27/54/100 and Skywork: 3 bases x 2 categories; GRM: 2 x 2
    spot = final.set_index(["file", "base", "category"]).sum_value
    assert spot[("sky_80k", "Llama", "Agency")] == 616.5 and spot[("grm_80k", "Gemma", "Communion")] == 647.5


def test_quirks_are_handled_and_reported(released):
    assert released.raw_rows["uf_100"] == 60956
    assert released.duplicates_dropped == {"uf_13": 0, "uf_27": 0, "uf_54": 0, "sky_80k": 0, "uf_100": 60956 - 84,
                                           "grm_80k": 0}
    assert released.same_file_as == {"uf_27": "uf_13"}
    assert released.base_filled["uf_54"] == 14 and released.base_filled["uf_100"] == 28
    qwen = released.runs[released.runs.run.isin(["Qwen2.5-3B-Instruct", "qwen3b_unified27k_lora"])]
    assert set(qwen.base) == {"Qwen"} and qwen.base_in_file.isna().any()
    grm = released.runs[released.runs.file == "grm_80k"]
    assert set(grm.pairs_k) == {550} and set(grm.plotted_k) == {632} and set(grm.source) == {"uf+skywork"}
    assert set(released.runs.run) <= set(ta.RUNS.run)
    assert released.runs.checkpoint.min() == 1 and 0 not in set(released.runs.checkpoint)
    assert any("byte-identical" in n for n in released.notes)


def test_gap_dynamics_and_stabilisation(released):
    dyn = ta.gap_dynamics(released.runs)
    sky = dyn[(dyn.file == "sky_80k") & (dyn.category == "Agency")]
    assert list(sky.checkpoint) == [1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 9578]
    assert (sky.gap == sky.Llama - sky.Gemma).all() and sky.progress.iloc[-1] == 1.0
    stab = ta.stabilisation(dyn, tol=0.1).set_index(["file", "category"])
    row = stab.loc[("sky_80k", "Agency")]
    assert row.first_gap == sky.gap.iloc[0] and row.final_gap == sky.gap.iloc[-1]
    assert 0 < row.progress <= 1 and row.stable_from in set(sky.checkpoint)
    gaps = ta.final_gaps(ta.final_table(released.runs)).set_index(["file", "category"]).gap
    assert gaps[("uf_100", "Agency")] == 700.5 - 667.0


def test_looser_band_effect_says_what_changed():
    import pandas as pd

    from rmnb.analysis.ablations import looser_band_effect

    tight = pd.DataFrame({"stable_from": [3000, 2000]}, index=["Agency", "Communion"])
    loose = pd.DataFrame({"stable_from": [2000, 2000]}, index=["Agency", "Communion"])
    assert looser_band_effect(tight, loose) == ("the looser band declares agency stable earlier and communion stable "
                                                "at the same step")
    assert "later" in looser_band_effect(loose, tight)


# --- the verdicts chapter 05 states in words, on hand-made tables ----------------------------------------------


def test_better_of_a_gap():
    assert ta.better_of(-2.0) == "Llama" and ta.better_of(3.0) == "Gemma"
    assert ta.better_of(0.0) == "neither" and ta.better_of(np.nan) == "neither"


def _gaps(bt, grm):
    """A :func:`ablations.final_gaps`-like table: ``bt`` = [(size, agency gap, communion gap)], one GRM point."""
    rows = [dict(plotted_k=k, label=f"{k}k", method="BT", category=cat, gap=gap)
            for k, ag, co in bt for cat, gap in (("Agency", ag), ("Communion", co))]
    rows += [dict(plotted_k=632, label="632k", method="GRM", category=cat, gap=gap)
             for cat, gap in zip(("Agency", "Communion"), grm)]
    return pd.DataFrame(rows)


def test_sign_persistence_in_the_paper_direction():
    gaps = _gaps([(13, -5, 4), (27, -3, 2), (77, -1, 1), (106, 2, -3)], grm=(-1, 2))
    got = ta.sign_persistence(gaps)
    assert got["paper_direction"] and got["kept"] == ["13k", "27k", "77k"]
    assert got["persist_range"] == "13k to 77k" and got["flipped_at"] == "106k" and got["grm_same"]
    assert ta.direction_text(True) == "Llama ranks agency better and Gemma communion"
    assert ta.grm_text(True) == "keeps the direction of the smallest runs"


def test_sign_persistence_without_the_paper_direction_or_a_flip():
    # agency flips at 27k but communion does not: no size flips both; the direction holds only at 13k
    gaps = _gaps([(13, 5, 4), (27, -3, 2), (77, 1, 1)], grm=(-1, -2))
    got = ta.sign_persistence(gaps)
    assert not got["paper_direction"] and got["kept"] == ["13k"] and got["persist_range"] == "13k"
    assert got["flipped_at"] is None and not got["grm_same"]
    assert ta.direction_text(False).startswith("Llama does not rank agency better")
    assert ta.grm_text(False) == "does not keep the direction of the smallest runs"
    # every size keeps the direction
    assert ta.sign_persistence(_gaps([(13, -1, 1), (27, -2, 2)], grm=(-1, 1)))["kept"] == ["13k", "27k"]


def test_removal_check_of_the_pairs_needed():
    flips_at_106 = _gaps([(13, -5, 4), (27, -3, 2), (77, -1, 1), (106, 2, -3)], grm=(-1, 2))
    assert ta.removal_check(flips_at_106, ta.sign_persistence(flips_at_106)) is True
    assert ta.removal_check(flips_at_106, ta.sign_persistence(flips_at_106), threshold_k=150) is False
    flips_at_27 = _gaps([(13, -5, 4), (27, 3, -2), (106, 2, -3)], grm=(-1, 2))
    assert ta.removal_check(flips_at_27, ta.sign_persistence(flips_at_27)) is False
    never = _gaps([(13, -5, 4), (106, -2, 3)], grm=(-1, 2))
    assert ta.removal_check(never, ta.sign_persistence(never)) is False
    other_way = _gaps([(13, 5, -4), (106, -2, 3)], grm=(-1, 2))  # no gap of the paper's to remove
    assert ta.removal_check(other_way, ta.sign_persistence(other_way)) is None


def test_category_difference_and_communion_pattern():
    final = pd.DataFrame({"base": ["Qwen"] * 4 + ["Gemma"] * 2, "plotted_k": [13, 13, 106, 106, 13, 13],
                          "label": ["13k", "13k", "106k", "106k", "13k", "13k"],
                          "category": ["Agency", "Communion"] * 3, "sum_value": [40, 30, 35, 34, 1, 99]})
    diff = ta.category_difference(final, "Qwen")
    assert diff.loc[(13, "13k"), "agency - communion"] == 10 and diff.loc[(106, "106k"), "agency - communion"] == 1
    assert ta.communion_pattern(diff) == "communion above agency at every data size"
    diff.loc[(106, "106k"), "agency - communion"] = 0  # a tie is not "communion above"
    assert ta.communion_pattern(diff) == "agency above communion at some data sizes"


def test_stabilisation_of_one_file():
    stab = pd.DataFrame({"file": ["sky_80k", "sky_80k", "uf_13"], "category": ["Agency", "Communion", "Agency"],
                         "largest_at_first": [True, False, True], "first_gap": [5.0, 1.0, 0.0]})
    got = ta.stabilisation_of(stab, "sky_80k")
    assert list(got.index) == ["Agency", "Communion"] and got.loc["Agency", "first_gap"] == 5.0
    assert got.loc["Agency", "largest_first_text"] == "largest at the first released checkpoint"
    assert got.loc["Communion", "largest_first_text"] == "not largest at the first released checkpoint"
