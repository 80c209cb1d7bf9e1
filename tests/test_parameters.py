"""Chapter parameters (rmnb.book.parameters): every bad value is refused before work with one line naming the
parameter, the value, the rule and the fix; an old name names the new one; an option's parameter set while the
option is off warns."""

import pytest

from conftest import ROOT
from rmnb import cli
from rmnb.base.errors import RmnbError
from rmnb.book import parameters
from rmnb.builder import runner


def test_unknown_parameter_and_wrong_type():
    path = runner.resolve_chapters("01", ROOT)[0]
    with pytest.raises(RmnbError, match="unknown parameter 'n_perm'.*n_permutations \\(int\\)"):
        parameters.validate_parameters(path, {"n_perm": 5})
    with pytest.raises(RmnbError, match="n_permutations='many' .*must be a whole number of at least 99, not str"):
        parameters.validate_parameters(path, {"n_permutations": "many"})
    with pytest.raises(RmnbError, match="include_released=1 .*must be true or false"):
        parameters.validate_parameters(path, {"include_released": 1})
    with pytest.raises(RmnbError, match="there is no folder 'runs/x'.*Fix: give a folder that exists"):
        parameters.validate_parameters(path, {"scores_dir": "runs/x"})


@pytest.mark.parametrize("stem, values, message", [
    ("01_big_two", {"n_permutations": 50},
     r"n_permutations=50 of chapter 01_big_two: too few for a permutation p-value; use at least 99\. "
     r"Fix: .*rmnb run 01 -p n_permutations=9999"),
    ("02_moral_foundations", {"n_permutations": 98}, "n_permutations=98 .*use at least 99"),
    ("04_implicit_reward", {"sft_steps": 0}, r"sft_steps=0 of chapter 04_implicit_reward: it must be at least 1\."),
    ("04_implicit_reward", {"n_show": None}, "n_show=None .*at least 1"),
    ("04_implicit_reward", {"prompt_format": "markdown"},
     r"prompt_format='markdown' .*one of 'chat', 'raw'\. Fix: .*-p prompt_format=chat"),
    ("06_training_live", {"bases": ["gemma3-270m"]}, r"bases=\['gemma3-270m'\] .*exactly two different base models"),
    ("06_training_live", {"bases": ["gemma3-270m", "gemma3-270m"]}, "exactly two different"),
    ("06_training_live", {"bases": ["gemma3-270m", "smollm2-135m-instruct", "x/y"]}, "exactly two different"),
    ("06_training_live", {"bases": "gemma3-270m,smollm2-135m-instruct"}, "a list is written as a YAML list"),
    ("01_big_two", {"seed": -1}, r"seed=-1 of chapter 01_big_two: a random seed must be a non-negative integer; "
     r"use at least 0\. Fix: .*-p seed=42"),
    ("06_training_live", {"seed": -3}, "seed=-3 .*non-negative"),
])
def test_check_values_names_parameter_value_rule_and_fix(stem, values, message):
    with pytest.raises(RmnbError, match=message):
        parameters.check_values(stem, values)


def test_check_values_accepts_valid_values_and_skips_the_rest():
    parameters.check_values("01_big_two", {"n_permutations": 99, "seed": 0, "unrelated": object()})
    parameters.check_values("06_training_live", {"seed": None})
    parameters.check_values("04_implicit_reward", {"prompt_format": "raw", "recovery_k": 1})
    parameters.check_values("06_training_live", {"bases": ["gemma3-270m", "org/model"]})
    parameters.check_values("09_not_a_chapter", {"anything": None})  # a chapter without rules


@pytest.mark.parametrize("chapter, values, message", [
    ("06", {"seed": "abc"}, "seed='abc' of chapter 06_training_live: it must be a whole number"),
    ("06", {"preset": "gpu9000"}, "preset='gpu9000' .*one of 'paper', 'cpu'"),
    ("06", {"n_train_pairs": -4}, "n_train_pairs=-4 .*at least 1"),
    ("05", {"stable_tol": -1}, "stable_tol=-1 .*a number above 0 and below 1"),
    ("00", {"full_prompts": "all"}, "'full_prompts' of chapter 00_token_search is now called 'full_search'"),
    ("04", {"refresh_cache": True}, "'refresh_cache' of chapter 04_implicit_reward is now called 'refresh'"),
    ("07", {"released": False}, "'released' of chapter 07_greatest_thing is now called 'include_released'"),
    ("03", {"models": "paper"}, "'models' of chapter 03_base_model_logprobs is now called 'model_set'"),
    ("04", {"pairs": "a>b,b>a"}, "pairs='a>b,b>a' .*YAML list of A>B items"),
    ("00", {"full_search": ["worst"], "prompt_set": ["greatest"]}, "full_search names \\['worst'\\]"),
])
def test_every_bad_chapter_value_is_refused_before_work(chapter, values, message):
    path = runner.resolve_chapters(chapter, ROOT)[0]
    with pytest.raises(RmnbError, match=message):
        parameters.validate_parameters(path, values)


def test_bad_value_on_the_command_line_is_one_clean_line(capsys):
    assert cli.main(["run", "06", "-p", "seed=abc"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rmnb: error: parameter seed='abc' of chapter 06_training_live") and "Traceback" not in err


def test_an_option_parameter_set_while_its_option_is_off_warns():
    path = runner.resolve_chapters("06", ROOT)[0]
    notes = []
    parameters.validate_parameters(path, {"hh_run": False, "preset": "paper"}, warn=notes.append)
    assert notes == ["parameter preset='paper' of chapter 06_training_live has no effect: it is read only with "
                     "hh_run=true. Fix: set hh_run too, or leave preset out."]
    notes.clear()
    parameters.validate_parameters(path, {"hh_run": True, "preset": "paper"}, warn=notes.append)
    assert notes == []
