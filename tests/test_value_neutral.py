"""The value-neutral training experiment: the valence preset's split, identical data across bases,
committed adapters that the documented command reproduces, seed intervals and verdicts, chapter 00's English-word
filter, and a short real training run that beats its step-0 held-out accuracy."""

from __future__ import annotations

import json
import math
import shutil

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from rmnb import cli
from rmnb.analysis import value_neutral as vn
from rmnb.base import device as devices
from rmnb.base.errors import RmnbError
from rmnb.data import lexicons, valence
from rmnb.models import registry
from rmnb.training import committed, recipe, reward_model, trained

VALENCE_RMS = registry.EMBEDDED_RMS


# --- data and plan ------------------------------------------------------------------------------------------------

def test_valence_split_is_balanced_disjoint_and_seeded(data_dir):
    s = trained.recipe_settings(VALENCE_RMS[0])
    data, held = trained.data_for(s, valence.SOURCE_NAME), trained.heldout_for(valence.SOURCE_NAME)
    train, test = recipe.split_for(data, s, held)
    assert len(train) == s.n_train and len(test) == s.heldout
    assert train.frame.framing.value_counts().to_dict() == {"positive": s.n_train // 2, "negative": s.n_train // 2}
    assert test.frame.framing.value_counts().nunique() == 1   # balanced too
    train_words = set(train.frame.chosen_word) | set(train.frame.rejected_word)
    test_words = set(test.frame.chosen_word) | set(test.frame.rejected_word)
    assert not train_words & test_words
    assert not set(train.frame.prompt_id) & set(test.frame.prompt_id)
    part = s.with_overrides(n_train=len(data) // 2)            # the recipe may take every pair; a part is sampled
    one, other = (recipe.split_for(data, part.with_overrides(seed=k), held)[0] for k in (1, 2))
    assert other.fingerprint() != one.fingerprint()            # another seed samples other training pairs
    assert recipe.split_for(data, s, held)[0].fingerprint() == train.fingerprint()


def test_both_bases_get_identical_pairs_but_distinct_runs(data_dir):
    first, second = (trained.plan(rm) for rm in VALENCE_RMS)
    for key in ("data_fingerprint", "train_fingerprint", "heldout_fingerprint", "settings_key", "settings"):
        assert first[key] == second[key], key
    assert first["base_id"] != second["base_id"] and first["run_key"] != second["run_key"]
    other_seed = trained.plan(VALENCE_RMS[0], seed=2)
    assert other_seed["run_key"] != first["run_key"] and other_seed["settings"]["seed"] == 2


@pytest.mark.parametrize("seed", [0, -1, 1.5, True])
def test_bad_seed_for_a_recipe_names_the_fix(seed):
    with pytest.raises(RmnbError, match="seeds are integers >= 1"):
        trained.recipe_settings(VALENCE_RMS[0], seed=seed)


def test_heldout_count_beyond_the_data_names_the_fix(data_dir):
    s = trained.recipe_settings(VALENCE_RMS[0]).with_overrides(heldout=10**7)
    with pytest.raises(RmnbError, match="Fix: lower it"):
        recipe.split_for(trained.data_for(s, valence.SOURCE_NAME), s,
                         trained.heldout_for(valence.SOURCE_NAME))


def test_unknown_rm_for_the_command_names_the_fix(capsys):
    assert cli.main(["train-embedded", "no-such-rm", "--dry-run"]) != 0
    assert "not a reward model rmnb trains" in capsys.readouterr().err


# --- committed adapters -------------------------------------------------------------------------------------------

def _committed():
    found = [(rm, m) for rm in VALENCE_RMS for m in committed.manifests(rm)]
    if not found:
        pytest.fail("no committed adapters under data/rms/: run `rmnb train-embedded --seeds 1 2 3 --export`")
    return found


def test_the_command_reproduces_each_committed_manifest(data_dir, capsys):
    """`rmnb train-embedded ID --seeds N --dry-run` plans exactly the run each committed manifest records."""
    for rm, manifest in _committed():
        assert cli.main(["train-embedded", rm, "--seeds", str(manifest["seed"]), "--dry-run"]) == 0
        plan = json.loads(capsys.readouterr().out)
        assert plan["run_key"] == manifest["run_key"]
        assert plan["settings"] == manifest["settings"]
        assert plan["data_fingerprint"] == manifest["data"]["fingerprint"]
        assert plan["train_fingerprint"] == manifest["data"]["train"]["fingerprint"]
        assert plan["heldout_fingerprint"] == manifest["data"]["heldout"]["fingerprint"]
        assert plan["base_revision"] == manifest["base_revision"]
        assert manifest["order_matches_plan"] is True


def test_committed_runs_learned_and_the_embedded_seed_meets_the_floor():
    """Every committed run beats its random head and chance on new questions x new words; the embedded RMs (seed 1)
    meet the floor. (Other seeds may fall below it: chapter 06 reports each seed against the floor.)"""
    for rm, manifest in _committed():
        held = manifest["heldout"]
        assert held["final"]["accuracy"] > held["step0"]["accuracy"], (rm, manifest["seed"])
        assert held["final"]["p_vs_chance"] < vn.FLOOR["p"], (rm, manifest["seed"])
        if manifest["seed"] == 1:
            assert held["final"]["accuracy"] >= vn.FLOOR["overall"], rm
            for framing in valence.FRAMINGS:
                assert held["by_framing"]["final"][framing]["accuracy"] >= vn.FLOOR["framing"], (rm, framing)


def test_a_tampered_committed_adapter_is_refused(data_dir, tmp_path):
    """Installing re-scores held-out pairs and compares each reward margin with the committed one: committed scores
    that the adapter does not reproduce are refused, and nothing is left in the cache."""
    import pandas as pd

    rm = VALENCE_RMS[1]
    source = tmp_path / "seed-1"
    shutil.copytree(committed.seed_dir(rm, 1), source)
    scores = pd.read_parquet(source / committed.SCORES)
    scores.loc[scores.index[5], "margin_final"] += 1.0
    scores.to_parquet(source / committed.SCORES)
    rm_recipe = registry.trained_recipe(rm)
    s = trained.recipe_settings(rm)
    with pytest.raises(RmnbError, match="1 of 96 held-out reward margins differ"):
        committed.install(source, rm_recipe.base_id, s, trained.data_for(s, rm_recipe.data),
                          trained.heldout_for(rm_recipe.data), tmp_path / "run", progress=False, device="cpu")
    assert not (tmp_path / "run").exists()


# --- statistics and verdicts --------------------------------------------------------------------------------------

def test_seed_interval_is_the_t_interval():
    x = [3.0, -1.0, 5.5]
    got = vn.seed_interval(x)
    lo, hi = sps.t.interval(0.95, len(x) - 1, loc=np.mean(x), scale=sps.sem(x))
    assert got["mean"] == pytest.approx(np.mean(x)) and got["n"] == 3
    assert (got["low"], got["high"]) == (pytest.approx(lo), pytest.approx(hi))
    one = vn.seed_interval([2.0])
    assert one["mean"] == 2.0 and math.isnan(one["low"]) and math.isnan(one["high"])
    with pytest.raises(RmnbError, match="at least one seed"):
        vn.seed_interval([])
    with pytest.raises(RmnbError):
        vn.seed_interval([1.0, float("nan")])


def test_paper_sign_and_gap_verdicts():
    # gap = rank under first base - rank under second; Gemma second: communion positive, agency negative
    assert vn.paper_sign("Communion", ("SmolLM", "Gemma")) == 1
    assert vn.paper_sign("Agency", ("SmolLM", "Gemma")) == -1
    assert vn.paper_sign("Agency", ("Gemma", "Llama")) == 1
    assert vn.paper_sign("Agency", ("SmolLM", "Qwen")) is None
    assert vn.gap_verdict(2, 9, 1) == "same direction as the paper"
    assert vn.gap_verdict(2, 9, -1) == "opposite to the paper"
    assert vn.gap_verdict(-2, 9, 1) == "within seed noise"
    assert vn.gap_verdict(math.nan, math.nan, 1) == "one seed: no interval"
    assert vn.gap_verdict(1, 2, None).startswith("no paper direction")


def test_seed_gaps_and_summary():
    rows = []
    for seed, (a1, a2) in enumerate([(100, 90), (110, 95), (105, 92)], start=1):
        for when in ("step0", "final"):
            rows += [dict(base="x", seed=seed, when=when, category="Agency", median_rank=a1),
                     dict(base="y", seed=seed, when=when, category="Agency", median_rank=a2),
                     dict(base="x", seed=seed, when=when, category="Communion", median_rank=60 + seed),
                     dict(base="y", seed=seed, when=when, category="Communion", median_rank=50)]
    gaps = vn.seed_gaps(pd.DataFrame(rows), ["x", "y"])
    assert sorted(gaps[(gaps.when == "final") & (gaps.category == "Agency")].gap) == [10, 13, 15]
    summary = vn.gap_summary(gaps, ("SmolLM", "Gemma")).set_index(["when", "category"])
    assert summary.loc[("final", "Agency"), "mean_gap"] == pytest.approx(38 / 3)
    assert summary.loc[("final", "Agency"), "verdict"] == "opposite to the paper"   # second base ranks agency better
    assert summary.loc[("final", "Communion"), "verdict"] == "same direction as the paper"
    assert summary.loc[("final", "Agency"), "seed_gaps"] == "+10, +15, +13"


def test_floor_check_passes_and_fails():
    def rows(overall, pos, neg, p=1e-9):
        return pd.DataFrame([dict(when="final", framing=f, accuracy=a, p_vs_chance=p)
                             for f, a in (("all", overall), ("positive", pos), ("negative", neg))])
    assert vn.floor_check(rows(0.86, 0.84, 0.88))["passed"]
    low = vn.floor_check(rows(0.86, 0.66, 0.99))
    assert not low["passed"] and not low["checks"]["positive"] and low["sentence"].startswith("NOT trained")
    assert not vn.floor_check(rows(0.79, 0.80, 0.78))["passed"]
    assert not vn.floor_check(rows(0.9, 0.9, 0.9, p=1e-3))["passed"]


def test_live_verdict_says_whether_a_short_run_left_chance():
    def live(step0, final, p):
        return pd.DataFrame([dict(when="step0", framing="all", accuracy=step0, p_vs_chance=0.8),
                             dict(when="final", framing="all", accuracy=final, p_vs_chance=p)])
    curve = pd.DataFrame([dict(base="b", framing="all", seed=s, step=k, accuracy=a)
                          for s, pts in ((1, ((0, 0.5), (40, 0.85), (60, 0.9))), (2, ((0, 0.5), (40, 0.7), (60, 0.82))))
                          for k, a in pts]
                         + [dict(base="other", framing="all", seed=1, step=20, accuracy=0.9)])
    assert vn.live_verdict(live(0.5, 0.7, 1e-4), curve, "b", 12).startswith("above chance")
    stuck = vn.live_verdict(live(0.49, 0.48, 0.79), curve, "b", 12)
    assert stuck.startswith("not above chance (binomial p = 0.79)") and stuck.endswith("at steps 40-60")
    assert vn.live_verdict(live(0.6, 0.55, 0.01), curve, "b", 12).startswith("not above")  # worse than step 0
    assert vn.live_verdict(live(0.5, 0.5, 1.0), pd.DataFrame(), "b", 12) == "not above chance (binomial p = 1.00)"


# --- chapter 00's English-word filter and the bfloat16 rule ------------------------------------------------------

def test_english_word_filter():
    texts = [" love", "Love", "greatest", "iator", "?](", "ORM", " a", "x", "naïve", " the", "3d",
             " spirits", " churches", " celebrities", "iators", "bs"]
    got = lexicons.is_english_word(texts)
    assert list(got) == [True, True, True, False, False, False, True, False, False, True, False,
                         True, True, True, False, False]


def test_bfloat16_only_where_the_cpu_has_it(monkeypatch):
    assert devices.native_bf16_cpu("flags\t: fpu avx2 avx512f avx512_bf16\n")
    assert devices.native_bf16_cpu("Features\t: fp asimd bf16\n")
    assert not devices.native_bf16_cpu("flags\t: fpu sse4_2 avx2 fma\n")
    monkeypatch.setattr(devices, "native_bf16_cpu", lambda cpuinfo=None: False)
    assert devices.scoring_dtype("auto", "cpu") == "float32"
    monkeypatch.setattr(devices, "native_bf16_cpu", lambda cpuinfo=None: True)
    assert devices.scoring_dtype("auto", "cpu") == "bfloat16"
    assert devices.scoring_dtype("float16", "cpu") == "float16"


# --- a tiny training run on the valence data ---------------------------------------------------------------------

def _word_tokenizer(texts):
    """A whitespace word-level tokenizer over the given texts, with a chat template (tiny test model)."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    specials = ["<pad>", "<bos>", "<eos>", "<unk>", "<|user|>", "<|assistant|>", "<|end|>"]
    words = sorted({w for t in texts for w in t.split()})
    core = Tokenizer(models.WordLevel({w: i for i, w in enumerate(specials + words)}, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok = PreTrainedTokenizerFast(tokenizer_object=core, pad_token="<pad>", bos_token="<bos>", eos_token="<eos>",
                                  unk_token="<unk>")
    tok.chat_template = ("{% for m in messages %}<|{{ m['role'] }}|> {{ m['content'] }} <|end|> {% endfor %}"
                         "{% if add_generation_prompt %}<|assistant|> {% endif %}")
    return tok


def _valence_classes(pairs):
    """``pairs`` with each answer word replaced by a token for its valence score (``valence+2``): a random 2-layer
    model cannot know words, nor learn 1,600 words' valence from a few hundred pairs, but it can learn nine classes."""
    from rmnb.data.preferences import PreferenceData

    f = pairs.frame.copy()
    for side in ("chosen", "rejected"):
        f[f"{side}_word"] = [f"valence{int(v):+d}" for v in f[f"{side}_score"]]
        f[side] = [[{"role": "user", "content": p}, {"role": "assistant", "content": w}]
                   for p, w in zip(f.prompt, f[f"{side}_word"])]
    return PreferenceData(pairs.name, f)


def test_a_tiny_run_on_the_valence_pairs_beats_its_step0_accuracy(data_dir, tmp_path):
    """The valence preset's path (balanced training sample, separate held-out pairs, learning curve, accuracy per
    framing) on a tiny random model. The answers are valence classes (:func:`_valence_classes`) and the held-out
    pairs new pairs of them: the model must learn each class's valence *and* read the question's framing (a
    negative question flips which answer is chosen), so a broken label, framing or split keeps it near chance."""
    import torch
    from transformers import AutoModelForSequenceClassification, LlamaConfig

    from rmnb.models.loading import wrap_model

    pairs = _valence_classes(valence.valence_preferences(n_pairs=2000))
    # Rates, schedule and LoRA sized for this 2-layer model (with the MLP projections too, as the preset has them,
    # these rates overshoot), so the test checks the preset's data path, not its recipe.
    s = trained.recipe_settings(VALENCE_RMS[0]).with_overrides(
        n_train=800, heldout=200, epochs=8, learning_rate=3e-3, head_lr=3e-2, lora_r=4, lora_alpha=8,
        lora_targets=recipe.ATTENTION_PROJECTIONS, lr_scheduler="constant", warmup_ratio=0.0,
        checkpoint_every=50, max_length=32)
    sample = recipe.sample_pairs(pairs, s.n_train, s.seed)
    rest = pairs.subset([i for i in pairs.pair_ids if i not in set(sample.pair_ids)], "rest")
    seen = set(sample.frame.chosen_word) | set(sample.frame.rejected_word)
    rest = rest.subset([int(r.pair_id) for r in rest.frame.itertuples() if {r.chosen_word, r.rejected_word} <= seen],
                       "held-out pairs of training words")
    tok = _word_tokenizer(list(pairs.frame.prompt) + list(pairs.frame.chosen_word) + list(pairs.frame.rejected_word))
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=64, num_labels=1,
                         pad_token_id=0, bos_token_id=1, eos_token_id=2)
    base = wrap_model(AutoModelForSequenceClassification.from_config(config).eval(), tok, model_id="tiny-valence",
                      kind="reward")
    run = reward_model.train(base, pairs, s, tmp_path / "run", progress=False, base_id="tiny-valence",
                             heldout=rest, curve_pairs=64)
    held = run.heldout
    assert held["final"]["n"] == 200 and run.manifest["data"]["train"]["n"] == 800
    assert held["final"]["accuracy"] > max(0.8, held["step0"]["accuracy"] + 0.25), held
    assert set(held["by_framing"]["final"]) == set(valence.FRAMINGS)
    curve = run.manifest["curve"]
    assert [row["step"] for row in curve] == run.manifest["plan"]["checkpoint_steps"]
    assert curve[0]["training_words_seen"] == 0 < curve[1]["training_words_seen"] <= len(seen)


def test_floor_rows_and_summary_report_failures():
    rows = []
    for seed, overall in ((1, 0.88), (2, 0.78)):
        for framing, a in (("all", overall), ("positive", 0.9), ("negative", 0.86)):
            rows.append(dict(base="b", base_label="B", seed=seed, when="final", framing=framing, accuracy=a,
                             ci_low=0, ci_high=1, p_vs_chance=1e-9, n=400))
    floor = vn.floor_rows(pd.DataFrame(rows), {"b": "B"})
    assert list(floor.passed) == [True, False]
    assert vn.floor_summary(floor) == "1 of 2 RMs pass the held-out floor; below it: B seed 2 (0.78)"
    assert vn.floor_summary(floor.head(1)) == "all 1 RMs pass the held-out floor"
    by_base = vn.floor_by_base(floor).iloc[0]
    assert (by_base["seeds"], by_base["above the floor"], by_base["lowest"], by_base["highest"]) == (2, "1 of 2", 0.78, 0.88)


def test_movers_sentence_names_climbers_per_base():
    from rmnb.analysis.checkpoints import mover_summary

    changes = pd.DataFrame({"word": ["love", "power", "care"], "category": ["Communion", "Agency", "Communion"],
                            "rank_change": [30, 5, -12]})
    text = vn.movers_sentence({"b": changes}, {"b": "B"})
    m = mover_summary(changes)
    assert text == (f"Under the B RM (3 nouns ranked) the biggest climbers are {m['top_up']} ({m['up_agency']} agency "
                    f"nouns among its top {m['n_up']}) and the biggest fallers {m['top_down']}.")
    assert "love" in m["top_up"] and m["top_down"] == "care"
