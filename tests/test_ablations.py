"""The authors' released training ablations: read exactly as released, quirks handled explicitly."""

import csv

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
