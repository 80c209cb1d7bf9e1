"""Exhaustive token search (chapter 00): vocabulary filters and plans, prompt sets, what a run searched; a smoke run
of the chapter. The statistics are tested in test_search_stats.py, the MDS in test_smacof.py."""

import json
import os

import pandas as pd
import pytest

from conftest import ROOT
from rmnb.analysis import token_search as ts
from rmnb.base.errors import RmnbError

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # chapter kernels inherit it: idle threads sleep, not spin


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
