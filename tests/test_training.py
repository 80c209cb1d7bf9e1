"""Reward-model training (rmnb.training, rmnb.training.trained) on tiny random models built from configs, offline.

The toy preference set is separable: chosen responses are positive words, rejected ones negative words, so a
real training run must beat its own step-0 (random head) accuracy.
"""

import types
from collections import defaultdict

import numpy as np
import pandas as pd
import pytest
import torch

from rmnb.base.errors import RmnbError
from rmnb.data.preferences import PreferenceData
from rmnb.models import loading as models
from rmnb.models import registry
from rmnb.models.registry import ModelSpec
from rmnb.training import checkpoint_scores, preparation, recipe, trained
from rmnb.training import reward_model as training

POSITIVE = ["good", "great", "nice", "fine", "kind", "fair", "calm", "safe"]
NEGATIVE = ["bad", "awful", "poor", "sad", "mean", "rude", "cruel", "harsh"]
FILLER = [f"w{i}" for i in range(40)]
SPECIALS = ["<pad>", "<bos>", "<eos>", "<unk>", "<|user|>", "<|assistant|>", "<|end|>"]
TEMPLATE = ("{% for m in messages %}<|{{ m['role'] }}|> {{ m['content'] }} <|end|> {% endfor %}"
            "{% if add_generation_prompt %}<|assistant|> {% endif %}")


def tiny_tokenizer(order_seed: int = 0, extra: int = 0):
    """A whitespace word-level tokenizer with a chat template; ``order_seed`` permutes the ids of the words."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    words = POSITIVE + NEGATIVE + FILLER + [f"x{i}" for i in range(extra)]
    words = [words[i] for i in np.random.default_rng(order_seed).permutation(len(words))]
    vocab = {w: i for i, w in enumerate(SPECIALS + words)}
    core = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok = PreTrainedTokenizerFast(tokenizer_object=core, pad_token="<pad>", bos_token="<bos>", eos_token="<eos>",
                                  unk_token="<unk>")
    tok.chat_template = TEMPLATE
    return tok


def tiny_model(kind: str, vocab_size: int, seed: int = 0):
    """A 2-layer random causal-LM backbone as a one-output sequence classifier (Llama or Gemma 3 text)."""
    from transformers import AutoModelForSequenceClassification, Gemma3TextConfig, LlamaConfig

    torch.manual_seed(seed)
    common = dict(vocab_size=vocab_size, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                  num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=256, num_labels=1,
                  pad_token_id=0, bos_token_id=1, eos_token_id=2)
    if kind == "llama":
        config = LlamaConfig(**common)
    else:
        config = Gemma3TextConfig(**common, head_dim=16, sliding_window=64, query_pre_attn_scalar=16)
    return AutoModelForSequenceClassification.from_config(config).eval()


def tiny_loaded(kind: str, order_seed: int, extra: int = 0):
    from rmnb.models.loading import wrap_model

    tok = tiny_tokenizer(order_seed, extra)
    return wrap_model(tiny_model(kind, len(tok)), tok, model_id=f"tiny-{kind}", kind="reward")


def toy_pairs(n: int = 96, seed: int = 0) -> PreferenceData:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        prompt = " ".join(rng.choice(FILLER, size=3))
        good, bad = rng.choice(POSITIVE), rng.choice(NEGATIVE)
        tail = str(rng.choice(FILLER))
        rows.append(dict(pair_id=i, n_chars=20,
                         chosen=[{"role": "user", "content": prompt}, {"role": "assistant", "content": f"{good} {tail}"}],
                         rejected=[{"role": "user", "content": prompt}, {"role": "assistant", "content": f"{bad} {tail}"}]))
    return PreferenceData("toy", pd.DataFrame(rows))


SETTINGS = recipe.preset("cpu", max_chars=None, n_train=64, heldout=32, max_length=32, epochs=3,
                         per_device_batch=8, learning_rate=3e-2, head_lr=3e-2, warmup_ratio=0.0, lora_r=4, lora_alpha=8,
                         lora_top_layers=1, checkpoint_every=8, seed=3)


@pytest.fixture(scope="module")
def toy():
    return toy_pairs()


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory, toy):
    """The same data and settings on two different tiny bases (Llama-like and Gemma-like, different vocabularies)."""
    out = tmp_path_factory.mktemp("runs")
    bases = {"llama": tiny_loaded("llama", 0), "gemma": tiny_loaded("gemma", 1, extra=5)}
    runs = {name: training.train(b, toy, SETTINGS, out / name, progress=False, base_id=f"tiny-{name}")
            for name, b in bases.items()}
    return bases, runs


def test_bt_loss_on_a_toy_batch():
    chosen, rejected = torch.tensor([2.0, 0.5, -1.0]), torch.tensor([1.0, 1.0, -1.0])
    expected = np.mean([np.log1p(np.exp(-d)) for d in (1.0, -0.5, 0.0)])
    assert float(training.bt_loss(chosen, rejected)) == pytest.approx(expected, rel=1e-6)
    # TRL's RewardTrainer.compute_loss (what training minimises) gives the same number on the same rewards:
    # the collator stacks chosen rows first, then rejected rows.
    from trl import RewardTrainer

    stub = types.SimpleNamespace(
        model=types.SimpleNamespace(training=False), args=types.SimpleNamespace(center_rewards_coefficient=None),
        accelerator=types.SimpleNamespace(gather=lambda x: x, gather_for_metrics=lambda x: x),
        _metrics={"train": defaultdict(list), "eval": defaultdict(list)}, _total_train_tokens=0, _tp_size=1)
    logits = torch.cat([chosen, rejected]).unsqueeze(-1)
    fake = lambda **kw: types.SimpleNamespace(logits=logits)  # noqa: E731
    loss = RewardTrainer.compute_loss(stub, fake, {"input_ids": torch.zeros(6, 2, dtype=torch.long),
                                                   "attention_mask": torch.ones(6, 2, dtype=torch.long)})
    assert float(loss) == pytest.approx(expected, rel=1e-6)
    assert stub._metrics["eval"]["accuracy"] == [pytest.approx(1 / 3)]


def test_plan_depends_only_on_data_and_settings(toy):
    train_a, held_a = recipe.split_for(toy, SETTINGS)
    train_b, held_b = recipe.split_for(toy_pairs(), SETTINGS)
    assert train_a.fingerprint() == train_b.fingerprint() and held_a.fingerprint() == held_b.fingerprint()
    assert not set(train_a.pair_ids) & set(held_a.pair_ids)
    plan = recipe.make_plan(train_a, SETTINGS)
    assert plan == recipe.make_plan(train_b, SETTINGS)
    assert plan.steps == 64 * 3 // 8 and len(plan.order) == plan.steps * 8
    assert plan.checkpoint_steps == (0, 8, 16, 24)
    for epoch in range(3):  # every epoch is a permutation of the training pairs
        assert sorted(plan.order[epoch * 64:(epoch + 1) * 64]) == sorted(train_a.pair_ids)
    assert plan.order[:64] != plan.order[64:128]
    other = recipe.make_plan(train_a, SETTINGS.with_overrides(seed=4))
    assert other.order != plan.order


def test_identical_data_order_and_seeds_across_bases(two_runs):
    _, runs = two_runs
    a, b = runs["llama"].manifest, runs["gemma"].manifest
    assert a["consumed_order"] == b["consumed_order"] == a["plan"]["order"] == b["plan"]["order"]
    assert a["plan"] == b["plan"]
    assert a["settings"] == b["settings"] and a["settings"]["seed"] == 3
    assert a["data"] == b["data"]
    assert a["log_history"][-1]["step"] == b["log_history"][-1]["step"] == a["plan"]["steps"]
    assert [s for s, _ in runs["llama"].checkpoints] == [0, 8, 16, 24]
    assert all(p.exists() for _, p in runs["gemma"].checkpoints)


def test_training_beats_its_step0_accuracy(two_runs):
    _, runs = two_runs
    for name, run in runs.items():
        held = run.heldout
        assert held["final"]["accuracy"] > held["step0"]["accuracy"], name
        assert held["final"]["accuracy"] >= 0.9, (name, held)
        assert held["final"]["bt_loss"] < held["step0"]["bt_loss"], name
        assert held["final"]["n"] == 32 and held["final"]["chance"] == 0.5


def test_checkpoint_scores_follow_training(two_runs):
    from rmnb.inference.responses import vocabulary

    bases, runs = two_runs
    base, run = bases["llama"], runs["llama"]
    tok = base.tokenizer
    ids = tok.convert_tokens_to_ids(POSITIVE + NEGATIVE)
    scores = checkpoint_scores.score_checkpoints(run, "w1 w2", vocabulary(tok, ids), base=base, progress=False)
    assert set(scores.step) == {0, 8, 16, 24} and len(scores) == 4 * len(ids)
    final = scores[scores.step == 24].set_index("response").score
    assert final[POSITIVE].mean() > final[NEGATIVE].mean()  # the trained head prefers the chosen words
    again = checkpoint_scores.score_checkpoints(run, "w1 w2", vocabulary(tok, ids), base=base, progress=False)
    pd.testing.assert_frame_equal(scores, again)  # the second call reads the cache
    assert len(list((run.folder / "scores").glob("*.parquet"))) == 1


def test_step0_scores_share_the_base_and_equal_the_merged_checkpoint(two_runs):
    """Step 0 (LoRA B = 0, the seeded head) is scored from the base's hidden states, which every seed of a base
    shares; the scores equal those of the merged step-0 checkpoint, and a trained checkpoint is not taken for
    an untrained one."""
    from rmnb.inference.responses import Conversation, vocabulary
    from rmnb.inference.reward import reward_scores_cached
    from rmnb.training.preparation import load_base

    bases, runs = two_runs
    base, run = bases["llama"], runs["llama"]
    loaded = load_base(base, run.settings)
    known = dict(run.checkpoints)
    assert checkpoint_scores._is_untrained(known[0], loaded.model) and not checkpoint_scores._is_untrained(known[24], loaded.model)
    ids = base.tokenizer.convert_tokens_to_ids(POSITIVE + NEGATIVE)
    responses = vocabulary(base.tokenizer, ids)
    shared = checkpoint_scores.score_checkpoints(run, "w2 w1", responses, base=base, steps=[0], progress=False)
    encoded = Conversation(loaded.tokenizer, mode="chat").encode("w2 w1", responses)
    merged = reward_scores_cached(checkpoint_scores.checkpoint_model(loaded, known[0]), encoded)
    np.testing.assert_allclose(shared.score.to_numpy(), merged, rtol=1e-5, atol=1e-5)
    assert checkpoint_scores._BASE_HIDDEN  # the base's hidden states are kept for the next seed


def test_artifact_registry_round_trip(tmp_path, monkeypatch, toy):
    """Train through embedded_rms into the (temporary) user cache, register, load by id, score: the loaded
    artifact gives the final checkpoint's scores; a second request reuses the cache."""
    from rmnb.inference.responses import Conversation, vocabulary
    from rmnb.inference.reward import reward_scores_cached

    monkeypatch.setenv("RMNB_CACHE_DIR", str(tmp_path / "cache"))
    tok = tiny_tokenizer(2)
    folder = tmp_path / "tiny-base"
    model = tiny_model("llama", len(tok), seed=5)
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    overrides = {k: v for k, v in SETTINGS.as_dict().items() if k != "preset"}
    overrides.update(lora_targets=SETTINGS.lora_targets, epochs=1)
    rm = registry.TrainingRecipe("tiny-test-rm", str(folder), data=toy, overrides=overrides)
    spec = ModelSpec(id="tiny-test-rm", kind="reward", family="Llama", nickname="Tiny-RM", stand_in=True)
    try:
        registry.register_trained(rm, spec)
        assert registry.get("tiny-test-rm").nickname == "Tiny-RM"
        assert not trained.is_built("tiny-test-rm")
        loaded = trained.load("tiny-test-rm", device="cpu", progress=False)
        assert trained.is_built("tiny-test-rm")
        assert loaded.spec.id == "tiny-test-rm" and loaded.head == "trained"
        run = trained.ensure("tiny-test-rm", progress=False)
        assert run.folder.is_relative_to(tmp_path / "cache" / "rms" / "tiny-test-rm")
        # the id loads through rmnb.models like any registry id (what rmnb score / rmnb run --model use)
        assert loaded.revision == f"rmnb-trained:{run.folder.name}"
        assert models.load_tokenizer("tiny-test-rm").get_vocab() == loaded.tokenizer.get_vocab()
        ids = loaded.tokenizer.convert_tokens_to_ids(POSITIVE + NEGATIVE)
        responses = vocabulary(loaded.tokenizer, ids)
        encoded = Conversation(loaded.tokenizer, mode="chat").encode("w3 w4", responses)
        direct = reward_scores_cached(loaded.model, encoded)
        last = run.checkpoints[-1][0]
        via_ckpt = checkpoint_scores.score_checkpoints(run, "w3 w4", responses, steps=[last], progress=False)
        np.testing.assert_allclose(direct, via_ckpt.score.to_numpy(), rtol=1e-5, atol=1e-5)
        assert direct[:8].mean() > direct[8:].mean()
        mtime = (run.folder / "manifest.json").stat().st_mtime
        assert trained.ensure("tiny-test-rm", progress=False).folder == run.folder
        assert (run.folder / "manifest.json").stat().st_mtime == mtime  # reused, not retrained
        # a variant of the recipe (a lever, benchmarks/archive/recipe): its own cache folder, never what loading reads
        with pytest.raises(RmnbError, match="Fix: pass variant="):
            trained.ensure("tiny-test-rm", overrides={"head_lr": 1e-2}, progress=False)
        variant = trained.ensure("tiny-test-rm", overrides={"head_lr": 1e-2}, variant="lever-x", progress=False)
        assert variant.folder.parent.name == "tiny-test-rm-lever-x" and variant.settings.head_lr == 1e-2
        assert trained.ensure("tiny-test-rm", progress=False).folder == run.folder
        assert models.load_model("tiny-test-rm", device="cpu").revision == f"rmnb-trained:{run.folder.name}"
        weights = run.model_dir / "model.safetensors"  # a corrupt cache: a clear error that names the fix
        weights.write_bytes(weights.read_bytes()[:1000])
        with pytest.raises(RmnbError, match=f"incomplete or corrupt.*delete {run.folder}"):
            models.load_model("tiny-test-rm", device="cpu")
    finally:
        registry.TRAINED_RMS.pop("tiny-test-rm", None)
        registry.REGISTRY.pop("tiny-test-rm", None)


def test_embedded_rms_are_registered():
    for rm_id, base in (("smollm2-135m-hh-rm", "smollm2-135m-instruct"), ("gemma3-270m-hh-rm", "gemma3-270m")):
        spec = registry.get(rm_id)
        assert spec.kind == "reward" and spec.stand_in
        assert registry.TRAINED_RMS[rm_id].base_id == base and base in registry.REGISTRY
    # both use one preset and one data set, so their plans are identical by construction
    a = registry.TRAINED_RMS["smollm2-135m-hh-rm"]
    b = registry.TRAINED_RMS["gemma3-270m-hh-rm"]
    assert (a.data, a.preset, a.overrides) == (b.data, b.preset, b.overrides)


def test_score_head_gets_its_own_learning_rate():
    from peft import get_peft_model

    loaded = tiny_loaded("llama", 0)
    settings = SETTINGS.with_overrides(learning_rate=1e-3, head_lr=1e-2)
    model = get_peft_model(loaded.model, preparation.lora_config(loaded.model, settings))
    groups = training._optimizer(model, settings).param_groups
    assert [g["lr"] for g in groups] == [1e-3, 1e-2]
    head = {id(p) for p in groups[1]["params"]}
    names = [n for n, p in model.named_parameters() if id(p) in head]
    assert names and all("score" in n for n in names)
    lora = [n for n, p in model.named_parameters() if p.requires_grad and id(p) not in head]
    assert lora and all("lora_" in n for n in lora)
    assert all(".layers.1." in n for n in lora)  # lora_top_layers=1: only the last of the 2 layers


def test_presets():
    paper = recipe.preset("paper")
    assert (paper.lora_r, paper.lora_alpha, paper.learning_rate, paper.effective_batch, paper.epochs,
            paper.max_length, paper.seed, paper.lr_scheduler) == (32, 64, 1e-5, 16, 2, 1024, 1, "cosine")
    assert paper.lora_targets == ("q_proj", "k_proj", "v_proj", "o_proj") and paper.checkpoint_every == 1000
    cpu = recipe.preset("cpu")
    assert cpu.key() != paper.key() and cpu.key() == recipe.preset("cpu", n_train=None).key()
    assert recipe.preset("cpu", n_train=32).key() != cpu.key()
    with pytest.raises(Exception, match="unknown training setting"):
        recipe.preset("cpu", n_pairs=3)


def test_fresh_head_initialisation_is_seeded_and_scaled(tmp_path):
    from transformers import AutoModelForCausalLM

    tok = tiny_tokenizer(0)
    model = AutoModelForCausalLM.from_config(tiny_model("llama", len(tok), seed=7).config)  # a base LM: no head
    model.save_pretrained(tmp_path / "base")
    tok.save_pretrained(tmp_path / "base")
    a = preparation.load_base(str(tmp_path / "base"), SETTINGS.with_overrides(head_init_std=0.5), device="cpu")
    b = preparation.load_base(str(tmp_path / "base"), SETTINGS.with_overrides(head_init_std=0.5), device="cpu")
    assert a.head.startswith("random")
    wa, wb = a.model.score.weight.detach(), b.model.score.weight.detach()
    assert torch.equal(wa, wb) and 0.3 < float(wa.std()) < 0.7
    c = preparation.load_base(str(tmp_path / "base"), SETTINGS.with_overrides(head_init_std=0.5, seed=9), device="cpu")
    assert not torch.equal(wa, c.model.score.weight.detach())
