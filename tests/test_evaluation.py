"""rmnb.training.evaluation and rmnb.training.seed_runs: the committed per-seed tables of the value-neutral RMs,
the seeds the command accepts, and a committed adapter re-scored against its committed table."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rmnb.base.errors import RmnbError
from rmnb.book.parameters import chapter_parameters, default_parameters
from rmnb.training import committed, evaluation, seed_runs, trained

VALENCE_RMS = ("smollm2-135m-valence-rm", "gemma3-270m-valence-rm")
ADAPTER_SEEDS = (1, 2, 3)   # seeds whose adapters are committed (the rest: tables only)
# chapter 06's seeds per base as `make book` runs it (the chapter's default, or the default profile's): each must be
# committed, or `make book` would train it
LIVE_CHAPTER = Path(__file__).resolve().parents[1] / "notebooks" / "06_training_live.md"
DEFAULT_SEEDS = default_parameters(LIVE_CHAPTER).get("seeds", chapter_parameters(LIVE_CHAPTER)["seeds"].default)


@pytest.mark.parametrize("given, seeds", [(["1-3"], [1, 2, 3]), (["1", "2", "5"], [1, 2, 5]), (["1,2", "4-5"],
                                          [1, 2, 4, 5]), (["3", "1-3"], [1, 2, 3]), ([], [])])
def test_seeds_as_ranges_lists_or_both(given, seeds):
    assert seed_runs.parse_seeds(given) == seeds


@pytest.mark.parametrize("bad", ["0", "3-1", "a", "1-", "-2", "1.5"])
def test_bad_seeds_name_the_fix(bad):
    with pytest.raises(RmnbError, match="--seeds"):
        seed_runs.parse_seeds([bad])


def test_unknown_model_names_the_valid_ones():
    with pytest.raises(RmnbError, match="not a reward model rmnb trains.*smollm2-135m-valence-rm"):
        seed_runs.check_ids(["nope"])


def test_slim_manifest_drops_the_raw_log_and_the_install():
    slim = evaluation.slim_manifest({"log_history": [1], "installed": {}, "consumed_order": [], "curve": [2]})
    assert slim == {"curve": [2], "tables_version": evaluation.TABLES_VERSION}


def test_compact_tables_are_small_and_lossless_enough():
    frame = pd.DataFrame({"step": [0, 256], "prompt_id": ["a", "a"], "response": ["x", "x"], "score": [0.1, 2.5]})
    out = evaluation._compact(frame)
    assert out.score.dtype == np.float32 and isinstance(out.prompt_id.dtype, pd.CategoricalDtype)
    assert np.allclose(out.score, frame.score)


def test_compare_tables_measures_the_drift():
    tokens = pd.DataFrame({"step": [0, 0, 9, 9], "token_id": [1, 2, 1, 2], "score": [0.0, 1.0, 2.0, 3.0]})
    nouns = pd.DataFrame({"step": [0, 9, 9], "prompt_id": ["p"] * 3, "response": ["a", "a", "b"],
                          "score": [0.0, 1.0, 2.0]})
    ref = evaluation.SeedTables("x", 1, {"final_step": 9}, tokens, nouns, pd.DataFrame(), "committed")
    same = evaluation.compare_tables({"tokens": tokens, "nouns": nouns}, ref)
    assert same["max_diff_tokens"] == 0 and same["spearman_tokens"] == pytest.approx(1.0)
    flipped = tokens.assign(score=[0.0, 1.0, 3.0, 2.0])
    drift = evaluation.compare_tables({"tokens": flipped, "nouns": nouns}, ref)
    assert drift["max_diff_tokens"] == 1.0 and drift["spearman_tokens"] == pytest.approx(-1.0)
    with pytest.raises(RmnbError, match="do not cover the same rows"):
        evaluation.compare_tables({"tokens": tokens.head(3), "nouns": nouns}, ref)


# --- the committed seeds ------------------------------------------------------------------------------------------

def test_committed_seeds_hold_tables_and_the_first_three_their_adapters():
    """Seeds 1..n (n >= chapter 06's default, the pre-registered ten) per embedded RM, each with its tables and a slim
    manifest (learning curve kept, raw trainer log dropped); seeds 1-3 also keep their adapters; the folder stays
    small."""
    for rm in VALENCE_RMS:
        manifests = committed.manifests(rm)
        seeds = [m["seed"] for m in manifests]
        assert seeds == list(range(1, len(seeds) + 1)) and len(seeds) >= DEFAULT_SEEDS, (rm, seeds)
        for manifest in manifests:
            folder = committed.seed_dir(rm, manifest["seed"])
            for name in (evaluation.TOKENS, evaluation.NOUNS, evaluation.HELDOUT):
                assert (folder / name).exists(), (rm, manifest["seed"], name)
            assert "log_history" not in manifest and manifest["curve"], (rm, manifest["seed"])
            assert manifest["tables_version"] == evaluation.TABLES_VERSION
            assert (folder / committed.ADAPTER).is_dir() == (manifest["seed"] in ADAPTER_SEEDS), (rm, manifest["seed"])
            tables_kb = sum((folder / n).stat().st_size for n in (evaluation.TOKENS, evaluation.NOUNS)) / 1024
            assert tables_kb < 400, (rm, manifest["seed"], tables_kb)


def test_committed_tables_are_what_the_current_recipe_trains(data_dir):
    """Every committed table set belongs to the run the code would train now (same run key), covers step 0 and the
    final step, the expanded Big Two tokens of its base and the 263 nouns under the 27 positive prompts."""
    for rm in VALENCE_RMS:
        for manifest in committed.manifests(rm):
            tables = evaluation.committed_tables(rm, manifest["seed"])
            assert tables is not None, (rm, manifest["seed"])
            assert sorted(tables.tokens.step.unique()) == [0, tables.final_step]
            assert tables.nouns.prompt_id.nunique() == 27 and tables.nouns.response.nunique() == 263
            assert len(tables.nouns) == 2 * 27 * 263
            assert set(tables.tokens.category.astype(str)) == {"Agency", "Communion"}
            assert np.isfinite(tables.tokens.score).all() and np.isfinite(tables.nouns.score).all()


@pytest.mark.slow
def test_a_committed_adapter_rescored_matches_its_committed_table(data_dir, tmp_path, monkeypatch):
    """Install seed 1 of the SmolLM2 RM from its committed adapter into an empty cache and score part of its tables
    again: every reward matches the committed table within 1e-4."""
    from rmnb.data import prompts
    from rmnb.models import loading
    from rmnb.training.checkpoint_scores import score_prompts

    monkeypatch.setenv("RMNB_CACHE_DIR", str(tmp_path / "cache"))
    rm = VALENCE_RMS[0]
    ref = evaluation.committed_tables(rm, 1)
    run = trained.ensure(rm, seed=1, progress=False, device="cpu")
    token_set, matched = evaluation.token_responses(loading.load_tokenizer(run.manifest["base_id"]))
    picked = list(range(0, len(token_set), max(1, len(token_set) // 48)))
    paper = prompts.paper_prompts().set_index("prompt_id").text
    ours = score_prompts(run, {prompts.GREATEST: paper[prompts.GREATEST]}, token_set.subset(picked),
                         steps=[0, ref.final_step], device="cpu", progress=False)
    want = ref.tokens.groupby(["step", "token_id"]).score.agg(["min", "max"])  # a token matched by two words: 2 rows
    assert (want["max"] - want["min"]).max() == 0
    got = ours.groupby(["step", "token_id"]).score.first()
    assert len(got) >= 2 * 40 and got.index.isin(want.index).all()
    assert np.abs(got - want["min"].loc[got.index]).max() < 1e-4
    two = {p: paper[p] for p in ("best_ever_one", "good_time_please")}
    nouns = score_prompts(run, two, evaluation.noun_responses(), steps=[ref.final_step], device="cpu",
                          progress=False).set_index(["step", "prompt_id", "response"]).score
    committed_nouns = ref.nouns.astype({"prompt_id": str, "response": str}).set_index(
        ["step", "prompt_id", "response"]).score
    assert np.abs(nouns.to_numpy() - committed_nouns.loc[nouns.index].to_numpy()).max() < 1e-4
    assert json.loads((committed.seed_dir(rm, 1) / "manifest.json").read_text())["run_key"] == run.folder.name
