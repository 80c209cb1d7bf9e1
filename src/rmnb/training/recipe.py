"""The training recipe: what a reward-model training run is, its settings (the presets), the held-out split and
the order in which the pairs are consumed. Computed from the data and the settings only, never from a tokenizer or a
model, so two bases trained with the same settings on the same data see identical pairs in an identical order (see
:mod:`rmnb.training.reward_model`).
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, replace

import numpy as np

from rmnb.base.errors import RmnbError
from rmnb.data.preferences import PreferenceData, split_pairs

TRAINING_VERSION = 1   # bump when a change alters trained weights (invalidates cached runs)
ATTENTION_PROJECTIONS = ("q_proj", "k_proj", "v_proj", "o_proj")   # LoRA targets, Llama / Gemma module names
MLP_PROJECTIONS = ("gate_proj", "up_proj", "down_proj")


# ---------------------------------------------------------------------------------------------------------------
# Settings and presets


@dataclass(frozen=True)
class TrainSettings:
    """Everything that changes a trained reward model (all of it is in the cache key)."""

    preset: str                      # name of the preset these settings started from
    max_chars: int | None            # keep pairs whose longer transcript has <= this many characters (None = all)
    n_train: int | None              # training pairs (None = every pair left after the held-out split)
    heldout: float                   # held-out pairs: a count (>= 1) or a fraction of the data (< 1)
    max_length: int                  # tokens; longer conversations are truncated on the right
    epochs: int                      # passes over the training pairs (each in a fresh seeded order)
    per_device_batch: int            # pairs per forward pass
    grad_accum: int                  # forward passes per optimizer step
    learning_rate: float
    head_lr: float | None = None     # learning rate of the new score head (None = learning_rate)
    head_init_std: float | None = None   # std of the fresh score head's normal init (None = the model's default)
    lr_scheduler: str = "cosine"
    warmup_ratio: float = 0.03       # fraction of steps with linear warm-up
    max_grad_norm: float = 5.0
    weight_decay: float = 0.0
    lora_r: int = 32
    lora_alpha: int = 64
    lora_dropout: float = 0.05
    lora_targets: tuple[str, ...] = ATTENTION_PROJECTIONS
    lora_top_layers: int | None = None   # LoRA only on the last k transformer layers (None = every layer)
    checkpoint_every: int = 1000     # save the adapter every this many optimizer steps (plus step 0 and the end)
    seed: int = 1                    # data split, pair order, score-head and LoRA initialisation
    dtype: str = "float32"           # weights dtype while training
    gradient_checkpointing: bool = False
    add_pad_token: bool = False      # add a dedicated [PAD] token when the pad token is the EOS (the paper's Llama)
    default_system_prompt: bool = True   # False: the chat template without its default system message (SmolLM2's;
                                         # saved with the RM, so scoring renders as training did)

    @property
    def effective_batch(self) -> int:
        return self.per_device_batch * self.grad_accum

    def as_dict(self) -> dict:
        out = asdict(self)
        out["lora_targets"] = list(self.lora_targets)
        if self.default_system_prompt:  # recorded only when not the default, so earlier runs keep their keys
            del out["default_system_prompt"]
        return out

    def key(self) -> str:
        payload = json.dumps({**self.as_dict(), "training_version": TRAINING_VERSION}, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def with_overrides(self, **overrides) -> "TrainSettings":
        """A copy with the given fields changed; ``None`` values are ignored (= keep the preset's)."""
        known = set(asdict(self))
        bad = sorted(set(overrides) - known)
        if bad:
            raise RmnbError(f"unknown training setting(s) {bad}; valid: {', '.join(sorted(known))}")
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})


PRESETS: dict[str, TrainSettings] = {
    # The authors' recipe (their training code, paper §4). Needs a GPU for 2-3B bases.
    "paper": TrainSettings(
        preset="paper", max_chars=None, n_train=None, heldout=0.005, max_length=1024, epochs=2,
        per_device_batch=4, grad_accum=4, learning_rate=1e-5, lr_scheduler="cosine", warmup_ratio=0.03,
        max_grad_norm=5.0, lora_r=32, lora_alpha=64, lora_dropout=0.05, lora_top_layers=None,
        checkpoint_every=1000, seed=1, dtype="bfloat16", gradient_checkpointing=True, add_pad_token=True),
    # A laptop-sized run that still trains a real RM: short pairs, one epoch, LoRA on the top 4 layers, larger
    # learning rates to make up for the few steps (the new score head, which starts random, the largest).
    # (head_init_std=0.002 was tried: within noise of the default init on held-out accuracy, so the default stays.)
    "cpu": TrainSettings(
        preset="cpu", max_chars=320, n_train=384, heldout=128, max_length=192, epochs=1,
        per_device_batch=8, grad_accum=1, learning_rate=5e-4, head_lr=5e-3, head_init_std=None,
        lr_scheduler="cosine", warmup_ratio=0.1,
        max_grad_norm=5.0, lora_r=8, lora_alpha=16, lora_dropout=0.0, lora_top_layers=4,
        checkpoint_every=12, seed=1, dtype="float32", gradient_checkpointing=False, add_pad_token=False),
    # The value-neutral AFINN pairs of rmnb.data.valence (one-word answers, a few dozen tokens): LoRA on the
    # attention and MLP projections of every layer, peak learning rates 5e-4 (LoRA) and 1e-3 (head) with a 5% linear
    # warm-up and cosine decay, every one of the 4,096 training pairs (balanced framings) once = 256 steps. How this
    # recipe was chosen, what else was tried and what each change measured: benchmarks/archive/recipe/README.md.
    # ``heldout`` counts pairs of the separate held-out part (new prompts x new words), not a split of the data.
    "valence": TrainSettings(
        preset="valence", max_chars=None, n_train=4096, heldout=400, max_length=96, epochs=1,
        per_device_batch=16, grad_accum=1, learning_rate=5e-4, head_lr=1e-3, head_init_std=None,
        lr_scheduler="cosine", warmup_ratio=0.05, max_grad_norm=5.0, lora_r=8, lora_alpha=16, lora_dropout=0.0,
        lora_targets=ATTENTION_PROJECTIONS + MLP_PROJECTIONS,
        lora_top_layers=None, checkpoint_every=20, seed=1, dtype="float32", gradient_checkpointing=False,
        add_pad_token=False),
}


def preset(name: str = "cpu", **overrides) -> TrainSettings:
    """A preset's settings, with optional overrides (``None`` = keep the preset's value)."""
    if name not in PRESETS:
        raise RmnbError(f"unknown training preset {name!r}; use one of {', '.join(PRESETS)}.")
    return PRESETS[name].with_overrides(**overrides)


# ---------------------------------------------------------------------------------------------------------------
# Data: split and plan (no tokenizer involved)


def split_for(data: PreferenceData, settings: TrainSettings,
              heldout: PreferenceData | None = None) -> tuple[PreferenceData, PreferenceData]:
    """(train, held-out) pairs for these settings, independent of any base model. Without ``heldout``: a seeded
    split of ``data``. With a separate held-out set (the valence pairs: new prompts x new words): its first
    ``settings.heldout`` pairs (or that fraction), and a seeded sample of ``settings.n_train`` training pairs,
    half from each framing when the pairs have one."""
    if heldout is not None:
        return sample_pairs(data, settings.n_train, settings.seed), _first(heldout, settings.heldout)
    n_heldout = int(settings.heldout) if settings.heldout >= 1 else max(1, math.ceil(settings.heldout * len(data)))
    return split_pairs(data, n_heldout=n_heldout, n_train=settings.n_train, seed=settings.seed)


def _first(data: PreferenceData, count: float) -> PreferenceData:
    n = int(count) if count >= 1 else max(1, math.ceil(count * len(data)))
    if n > len(data):
        raise RmnbError(f"heldout={count} asks for {n} held-out pairs; {data.name} has {len(data)}. Fix: lower it.")
    return data.subset(data.pair_ids[:n], f"{data.name}/first{n}")


def sample_pairs(data: PreferenceData, n: int | None, seed: int) -> PreferenceData:
    """A seeded sample of ``n`` pairs (``None``: all), in id order; with a ``framing`` column, ``n / 2`` from each
    framing (balanced)."""
    if n is None or n == len(data):
        return data
    if n < 1 or n > len(data):
        raise RmnbError(f"n_train={n} must be between 1 and {len(data)} (the pairs available). Fix: change n_train.")
    rng = np.random.default_rng([seed, 7])
    frame = data.frame
    groups = [frame] if "framing" not in frame else [g for _, g in sorted(frame.groupby("framing"))]
    shares = [n // len(groups) + (i < n % len(groups)) for i in range(len(groups))]
    picked = []
    for group, k in zip(groups, shares):
        if k > len(group):
            raise RmnbError(f"n_train={n} needs {k} pairs of one framing; {data.name} has {len(group)}.")
        picked += [int(i) for i in group.pair_id.to_numpy()[rng.permutation(len(group))[:k]]]
    return data.subset(sorted(picked), f"{data.name}/sample{n}-seed{seed}")


@dataclass(frozen=True)
class TrainingPlan:
    """The order in which pairs are consumed (all epochs), the step count and the checkpoint steps."""

    order: tuple[int, ...]
    effective_batch: int
    steps: int
    checkpoint_steps: tuple[int, ...]
    seed: int
    data_fingerprint: str

    def batch(self, step: int) -> tuple[int, ...]:
        """Pair ids of optimizer step ``step`` (1-based)."""
        eb = self.effective_batch
        return self.order[(step - 1) * eb: step * eb]


def make_plan(train: PreferenceData, settings: TrainSettings) -> TrainingPlan:
    """Each epoch a fresh permutation from ``np.random.default_rng(seed)``; the tail that does not fill an
    optimizer step is dropped, so every step sees exactly ``effective_batch`` pairs."""
    rng = np.random.default_rng(settings.seed)
    ids = np.asarray(train.pair_ids)
    order = np.concatenate([ids[rng.permutation(len(ids))] for _ in range(settings.epochs)])
    steps = len(order) // settings.effective_batch
    if steps < 1:
        raise RmnbError(f"{len(ids)} training pairs x {settings.epochs} epochs do not fill one optimizer step of "
                        f"{settings.effective_batch} pairs. Fix: more pairs or a smaller batch.")
    order = order[: steps * settings.effective_batch]
    every = max(1, settings.checkpoint_every)
    ckpts = tuple(sorted({0, *range(every, steps + 1, every), steps}))
    return TrainingPlan(tuple(int(i) for i in order), settings.effective_batch, steps, ckpts, settings.seed,
                        train.fingerprint())


def recipe_sentence(settings: TrainSettings) -> str:
    """The recipe in words: batch, epochs, learning rates, LoRA rank and where, the schedule."""
    layers = "every layer" if settings.lora_top_layers is None else f"the top {settings.lora_top_layers} layers"
    targets = "/".join(t.removesuffix("_proj") for t in settings.lora_targets)
    schedule = (settings.lr_scheduler if not settings.warmup_ratio else
                f"{settings.lr_scheduler} after a {settings.warmup_ratio:.0%} linear warm-up")
    epochs = f"{settings.epochs} epoch" + ("" if settings.epochs == 1 else "s")
    return (f"batches of {settings.effective_batch} pairs, {epochs}, a peak learning rate of {settings.learning_rate:g} "
            f"for LoRA (rank {settings.lora_r}, on {targets} of {layers}) and {settings.head_lr or settings.learning_rate:g} "
            f"for the score head, {schedule}")
