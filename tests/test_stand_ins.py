"""The stand-in models' tuning stage and size, read from the registry (the chapters' confound sentences)."""

import math

import pytest

from rmnb.analysis import stand_ins
from rmnb.models import registry


def test_tuning_stage_of_a_language_model_and_of_a_trained_reward_model():
    assert stand_ins.tuning_stage("smollm2-135m-instruct") == {"model": "SmolLM2-135M-Instruct",
                                                               "base": "SmolLM2-135M-Instruct", "stage": "instruct"}
    rm = stand_ins.tuning_stage("gemma3-270m-valence-rm", "reward")
    assert rm == {"model": "Gemma-3-270M-Valence-RM", "base": "Gemma-3-270M", "stage": "pretrained"}
    assert stand_ins.tuning_stage("some/unregistered-model")["stage"] is None


def test_the_default_pair_differs_in_tuning_stage_as_well_as_lineage():
    lms = stand_ins.tuning_confound(["gemma3-270m", "smollm2-135m-instruct"])
    assert lms == ("Gemma-3-270M is a pretrained base and SmolLM2-135M-Instruct is instruction-tuned, so a difference "
                   "between them is one of lineage and tuning stage, not of lineage alone.")
    rms = stand_ins.tuning_confound(registry.EMBEDDED_RMS, "reward")
    assert rms.startswith("The reward models compared here are built on Gemma-3-270M (a pretrained base) and "
                          "SmolLM2-135M-Instruct (instruction-tuned)")
    assert stand_ins.tuning_confound(["smollm2-135m-instruct", "gemma3-270m"]) == lms  # the same in either order
    assert "lineage and tuning stage" in rms


def test_same_stage_unknown_stage_and_a_single_model():
    paper = stand_ins.tuning_confound(["google/gemma-2-2b-it", "meta-llama/Llama-3.2-3B-Instruct"])
    assert paper.endswith("are both instruction-tuned, so they differ in lineage, not in tuning stage.")
    assert "both pretrained bases" in stand_ins.tuning_confound(["google/gemma-2-2b", "meta-llama/Llama-3.2-3B"])
    unknown = stand_ins.tuning_confound(["gemma3-270m", "some/unregistered-model"])
    assert "does not record the tuning stage of some/unregistered-model" in unknown and "cannot be said" in unknown
    assert stand_ins.tuning_confound(["gemma3-270m", "gemma3-270m"]).startswith("Only one model")


def test_sizes_and_the_size_ratio_to_the_papers_reward_models():
    assert stand_ins.parameters("135M") == 1.35e8 and stand_ins.parameters("27B") == 2.7e10
    assert math.isnan(stand_ins.parameters(None)) and math.isnan(stand_ins.parameters("not recorded"))
    paper = [s.id for s in registry.PAPER_RMS]
    ratio = stand_ins.size_ratio(registry.EMBEDDED_RMS, paper)
    assert ratio["low"] == pytest.approx(2e9 / 2.7e8) and ratio["high"] == pytest.approx(2.7e10 / 1.35e8)
    assert ratio["text"] == "7.4 to 200 times smaller"
    assert (ratio["theirs_min"], ratio["theirs_max"]) == ("2B", "27B")
    unknown = stand_ins.size_ratio(["some/unregistered-model"], paper)
    assert math.isnan(unknown["low"]) and "does not record" in unknown["text"]


def test_confound_sentences_of_several_comparisons():
    same = stand_ins.confound_sentences([(["gemma3-270m", "smollm2-135m-instruct"], "lm")] * 2)
    assert same == stand_ins.tuning_confound(["gemma3-270m", "smollm2-135m-instruct"])  # said once
    both = stand_ins.confound_sentences([(registry.EMBEDDED_RMS, "reward"), (["gemma3-270m"], "lm"),
                                         (["google/gemma-2-2b", "meta-llama/Llama-3.2-3B"], "lm")])
    assert both.startswith("The reward models compared here") and both.endswith("not in tuning stage.")
    assert stand_ins.confound_sentences([(["gemma3-270m"], "lm")]) == ""
