"""Bradley-Terry reward-model training with TRL's ``RewardTrainer`` and PEFT LoRA (paper §4, spec §6.5).

A run takes a base model (registry id, Hugging Face id, local folder, or a model already in memory), preference
pairs (:mod:`rmnb.preferences`) and :class:`TrainSettings`, and writes one folder:

``manifest.json``            settings, the training plan, data fingerprints, held-out accuracy, loss log, versions
``checkpoints/step-NNNNNN/`` the LoRA adapter and score head every ``checkpoint_every`` steps, step 0 included
``model/``                   the final reward model, LoRA merged: a plain sequence classifier any code can load
``scores/*.parquet``         cached checkpoint scores (:func:`score_checkpoints`)

**Identical data, order and hyperparameters across bases, by construction.** The pairs, their split and the
order in which the trainer consumes them (:class:`TrainingPlan`) are computed from the data and the settings
only, never from a tokenizer or a model; the trainer reads the rows in that order (sequential sampler) and the
collator records the pair ids it sees, so the manifest proves it. Lengths are limited by characters before
tokenizing (``max_chars``) rather than by TRL's token-length filter, which would drop different pairs for
different tokenizers; the rare conversation still longer than ``max_length`` tokens is truncated on the right, as
in the authors' code, and counted.

Two presets: ``"paper"`` (the authors' recipe, for a GPU) and ``"cpu"`` (small enough to train a real RM on a
laptop in a few minutes: fewer and shorter pairs, one epoch, LoRA on the top layers only).
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import os
import shutil
import time
import warnings
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from .errors import RmnbError
from .preferences import PreferenceData

TRAINING_VERSION = 1   # bump when a change alters trained weights (invalidates cached runs)
SCORING_VERSION = 1    # bump when checkpoint scoring changes (invalidates cached checkpoint scores)


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
    lora_targets: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj")
    lora_top_layers: int | None = None   # LoRA only on the last k transformer layers (None = every layer)
    checkpoint_every: int = 1000     # save the adapter every this many optimizer steps (plus step 0 and the end)
    seed: int = 1                    # data split, pair order, score-head and LoRA initialisation
    dtype: str = "float32"           # weights dtype while training
    gradient_checkpointing: bool = False
    add_pad_token: bool = False      # add a dedicated [PAD] token when the pad token is the EOS (the paper's Llama)

    @property
    def effective_batch(self) -> int:
        return self.per_device_batch * self.grad_accum

    def as_dict(self) -> dict:
        out = asdict(self)
        out["lora_targets"] = list(self.lora_targets)
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
    # The authors' recipe (training code, spec §6.5). Needs a GPU for 2-3B bases.
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
}


def preset(name: str = "cpu", **overrides) -> TrainSettings:
    """A preset's settings, with optional overrides (``None`` = keep the preset's value)."""
    if name not in PRESETS:
        raise RmnbError(f"unknown training preset {name!r}; use one of {', '.join(PRESETS)}.")
    return PRESETS[name].with_overrides(**overrides)


# ---------------------------------------------------------------------------------------------------------------
# Data: split and plan (no tokenizer involved)


def split_for(data: PreferenceData, settings: TrainSettings) -> tuple[PreferenceData, PreferenceData]:
    """(train, held-out) pairs for these settings: a seeded split of the pairs, independent of any base model."""
    from .preferences import split_pairs

    n_heldout = int(settings.heldout) if settings.heldout >= 1 else max(1, math.ceil(settings.heldout * len(data)))
    return split_pairs(data, n_heldout=n_heldout, n_train=settings.n_train, seed=settings.seed)


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


# ---------------------------------------------------------------------------------------------------------------
# Tokenizing


def encode_conversation(conversation, messages: list[dict]) -> list[int]:
    """Token ids of a whole conversation, rendered by the chat template as text and tokenized exactly as the
    scorer tokenizes (no added special tokens, one BOS when the template writes none)."""
    text = conversation.tokenizer.apply_chat_template(messages, tokenize=False, **conversation.template_kwargs)
    return conversation.encode_text(text)


def encode_pairs(data: PreferenceData, tokenizer, max_length: int) -> pd.DataFrame:
    """``pair_id, chosen_ids, rejected_ids, truncated`` for every pair, right-truncated at ``max_length``."""
    from .responses import Conversation

    conv = Conversation(tokenizer, mode="chat")
    rows = []
    for row in data.frame.itertuples(index=False):
        c, r = encode_conversation(conv, row.chosen), encode_conversation(conv, row.rejected)
        rows.append(dict(pair_id=int(row.pair_id), chosen_ids=c[:max_length], rejected_ids=r[:max_length],
                         truncated=len(c) > max_length or len(r) > max_length, n_tokens=max(len(c), len(r))))
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------------------------
# Model set-up


def load_base(base, settings: TrainSettings, device: str = "auto"):
    """The base as a one-output sequence classifier with a seeded fresh score head (``LoadedModel``), prepared as
    the settings say (pad token). ``base``: a model id / folder, or a ``LoadedModel`` (deep-copied)."""
    from . import models

    if isinstance(base, str):
        loaded = models.load_model(base, kind="reward", dtype=settings.dtype, device=device, head_seed=settings.seed)
    else:
        loaded = copy.copy(base)
        loaded.model = copy.deepcopy(base.model)
        loaded.tokenizer = copy.deepcopy(base.tokenizer)
    model, tok = loaded.model, loaded.tokenizer
    if settings.head_init_std is not None and str(loaded.head).startswith("random"):
        _init_head(model, settings.head_init_std, settings.seed)
    if getattr(model.config, "num_labels", 1) != 1:
        raise RmnbError(f"{loaded.id!r} loaded with num_labels={model.config.num_labels}; a reward model needs one "
                        "output. Fix: set num_labels=1 in the folder's config.json, or use a registry id.")
    if settings.add_pad_token and (tok.pad_token is None or tok.pad_token_id == tok.eos_token_id):
        tok.add_special_tokens({"pad_token": "[PAD]"})
        model.resize_token_embeddings(len(tok))
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    model.config.pad_token_id = tok.pad_token_id
    return loaded


def _init_head(model, std: float, seed: int) -> None:
    """Re-draw a fresh linear score head from N(0, std^2) with a seeded generator (same rule for every base)."""
    head = getattr(model, "score", None)
    if not isinstance(head, torch.nn.Linear):
        raise RmnbError("head_init_std needs a linear 'score' head; this model has none.")
    gen = torch.Generator(device="cpu").manual_seed(seed)
    with torch.no_grad():
        head.weight.copy_((torch.randn(head.weight.shape, generator=gen) * std).to(head.weight.dtype))
        if head.bias is not None:
            head.bias.zero_()


def lora_config(model, settings: TrainSettings):
    """PEFT LoRA for sequence classification (PEFT then also trains the new ``score`` head)."""
    from peft import LoraConfig, TaskType

    layers = None
    if settings.lora_top_layers:
        n = model.config.get_text_config().num_hidden_layers
        layers = list(range(max(0, n - settings.lora_top_layers), n))
    return LoraConfig(task_type=TaskType.SEQ_CLS, r=settings.lora_r, lora_alpha=settings.lora_alpha,
                      lora_dropout=settings.lora_dropout, target_modules=list(settings.lora_targets),
                      layers_to_transform=layers)


# ---------------------------------------------------------------------------------------------------------------
# Bradley-Terry loss and held-out accuracy


def bt_loss(chosen: torch.Tensor, rejected: torch.Tensor) -> torch.Tensor:
    """The Bradley-Terry loss ``mean(-log sigmoid(r_chosen - r_rejected))`` (what TRL's RewardTrainer minimises)."""
    return -torch.nn.functional.logsigmoid(chosen - rejected).mean()


def pair_scores(model, encoded: pd.DataFrame, batch_size: int = 16) -> pd.DataFrame:
    """Reward of each pair's chosen and rejected conversation: ``pair_id, chosen, rejected, margin, correct``."""
    from .scoring import reward_scores_full

    n = len(encoded)
    seqs = list(encoded.chosen_ids) + list(encoded.rejected_ids)
    was_training = model.training
    model.eval()
    scores = reward_scores_full(model, seqs, batch_size=batch_size)
    model.train(was_training)
    out = pd.DataFrame({"pair_id": encoded.pair_id.to_numpy(), "chosen": scores[:n], "rejected": scores[n:]})
    out["margin"] = out.chosen - out.rejected
    out["correct"] = out.margin > 0
    return out


def accuracy_summary(pairs: pd.DataFrame) -> dict:
    """Pairwise accuracy with a Wilson 95% interval, a two-sided binomial test against chance (0.5) and the
    held-out BT loss."""
    from scipy.stats import binomtest

    n, k = len(pairs), int(pairs.correct.sum())
    test = binomtest(k, n, 0.5)
    ci = test.proportion_ci(confidence_level=0.95, method="wilson")
    loss = float(bt_loss(torch.tensor(pairs.chosen.to_numpy()), torch.tensor(pairs.rejected.to_numpy())))
    return dict(accuracy=k / n, n=n, correct=k, ci_low=float(ci.low), ci_high=float(ci.high),
                p_vs_chance=float(test.pvalue), bt_loss=loss, chance=0.5)


# ---------------------------------------------------------------------------------------------------------------
# Training


@dataclass
class TrainedRun:
    """A finished training run on disk."""

    folder: Path
    manifest: dict = field(repr=False)

    @classmethod
    def load(cls, folder: str | Path) -> "TrainedRun":
        folder = Path(folder)
        path = folder / "manifest.json"
        if not path.exists():
            raise RmnbError(f"{folder} holds no finished training run (no manifest.json). Fix: train it again.")
        return cls(folder, json.loads(path.read_text()))

    @property
    def model_dir(self) -> Path:
        return self.folder / "model"

    @property
    def settings(self) -> TrainSettings:
        raw = dict(self.manifest["settings"])
        raw["lora_targets"] = tuple(raw["lora_targets"])
        return TrainSettings(**raw)

    @property
    def checkpoints(self) -> list[tuple[int, Path]]:
        return [(int(s), self.folder / "checkpoints" / f"step-{int(s):06d}")
                for s in self.manifest["plan"]["checkpoint_steps"]]

    @property
    def heldout(self) -> dict:
        return self.manifest["heldout"]

    def log(self) -> pd.DataFrame:
        """The trainer's per-step log (loss, train accuracy, learning rate ...)."""
        return pd.DataFrame([r for r in self.manifest["log_history"] if "loss" in r])


def _versions() -> dict:
    import peft
    import transformers
    import trl

    from . import __version__

    return {"rmnb": __version__, "torch": torch.__version__, "transformers": transformers.__version__,
            "trl": trl.__version__, "peft": peft.__version__}


def train(base, data: PreferenceData, settings: TrainSettings, out_dir: str | Path, *, device: str = "auto",
          progress: bool = True, base_id: str | None = None) -> TrainedRun:
    """Train one reward model and write the run folder ``out_dir`` (atomically: a temp folder, then renamed).

    ``base``: registry id, Hugging Face id or local folder, or a ``LoadedModel`` already in memory (then pass
    ``base_id`` to name it in the manifest).
    """
    from datasets import Dataset
    from trl import RewardConfig, RewardTrainer

    from . import models
    from .device import describe_device, resolve_device

    t0 = time.time()
    out_dir = Path(out_dir)
    tmp = out_dir.with_name(f"{out_dir.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "checkpoints").mkdir(parents=True)
    base_name = base if isinstance(base, str) else (base_id or base.id)

    train_pairs, held_pairs = split_for(data, settings)
    plan = make_plan(train_pairs, settings)
    loaded = load_base(base, settings, device=device)
    model, tok = loaded.model, loaded.tokenizer
    enc_train = encode_pairs(train_pairs, tok, settings.max_length).set_index("pair_id", drop=False)
    enc_held = encode_pairs(held_pairs, tok, settings.max_length)
    t_setup = time.time()

    held0 = pair_scores(model, enc_held)
    t_eval0 = time.time()

    rows = enc_train.loc[list(plan.order)]
    dataset = Dataset.from_dict({"pair_id": rows.pair_id.tolist(), "chosen_ids": rows.chosen_ids.tolist(),
                                 "rejected_ids": rows.rejected_ids.tolist()})
    dev = resolve_device(device)
    args = RewardConfig(
        output_dir=str(tmp / "trainer"), per_device_train_batch_size=settings.per_device_batch,
        gradient_accumulation_steps=settings.grad_accum, learning_rate=settings.learning_rate,
        lr_scheduler_type=settings.lr_scheduler, warmup_steps=settings.warmup_ratio,
        max_grad_norm=settings.max_grad_norm, weight_decay=settings.weight_decay, num_train_epochs=1,
        max_steps=plan.steps, logging_steps=1, save_strategy="no", eval_strategy="no", report_to="none",
        seed=settings.seed, data_seed=settings.seed, bf16=settings.dtype == "bfloat16" and dev.type == "cuda",
        fp16=False, activation_checkpointing=settings.gradient_checkpointing, max_length=None,
        remove_unused_columns=False, disable_tqdm=True, dataloader_num_workers=0, use_cpu=dev.type == "cpu",
        train_sampling_strategy="sequential", optim="adamw_torch")
    collator = _RecordingCollator(pad_token_id=tok.pad_token_id)
    saver = _Checkpoints(set(plan.checkpoint_steps), tmp / "checkpoints", plan.steps, progress)
    trainer = RewardTrainer(model=model, args=args, train_dataset=dataset, processing_class=tok,
                            data_collator=collator, peft_config=lora_config(model, settings), callbacks=[saver])
    from transformers.trainer_callback import PrinterCallback

    if settings.head_lr is not None:
        trainer.optimizer = _optimizer(trainer.model, settings)
    trainer.remove_callback(PrinterCallback)  # the per-step log goes to the manifest, not to stdout
    with warnings.catch_warnings():  # transformers' deprecation notice for a name PEFT still uses
        warnings.simplefilter("ignore", FutureWarning)
        trainer.train()
    saver.close()
    t_train = time.time()
    if collator.seen != list(plan.order):
        raise RmnbError("the trainer consumed the pairs in a different order than the plan; this is a bug in rmnb.")

    merged = trainer.model.merge_and_unload()
    merged.eval()
    held1 = pair_scores(merged, enc_held)
    t_eval1 = time.time()
    with models.quiet_transformers():
        merged.save_pretrained(tmp / "model")
        tok.save_pretrained(tmp / "model")
    held = held0.merge(held1, on="pair_id", suffixes=("_step0", "_final"))
    held.to_parquet(tmp / "heldout_scores.parquet")

    manifest = {
        "base_id": base_name,
        "base_revision": models.static_revision(base_name) if isinstance(base, str) else "in-memory",
        "settings": settings.as_dict(), "settings_key": settings.key(), "training_version": TRAINING_VERSION,
        "data": {"name": data.name, "fingerprint": data.fingerprint(), "n_pairs": len(data),
                 "train": {"name": train_pairs.name, "fingerprint": train_pairs.fingerprint(), "n": len(train_pairs)},
                 "heldout": {"name": held_pairs.name, "fingerprint": held_pairs.fingerprint(), "n": len(held_pairs)}},
        "plan": {"order": list(plan.order), "steps": plan.steps, "checkpoint_steps": list(plan.checkpoint_steps),
                 "effective_batch": plan.effective_batch, "seed": plan.seed,
                 "data_fingerprint": plan.data_fingerprint},
        "consumed_order": collator.seen,
        "tokens": {"train_truncated": int(enc_train.truncated.sum()), "heldout_truncated": int(enc_held.truncated.sum()),
                   "train_mean": float(enc_train.n_tokens.mean()), "train_max": int(enc_train.n_tokens.max()),
                   "train_total": int(sum(len(c) + len(r) for c, r in zip(rows.chosen_ids, rows.rejected_ids)))},
        "heldout": {"step0": accuracy_summary(held0), "final": accuracy_summary(held1)},
        "log_history": trainer.state.log_history,
        "timings_s": {"setup": t_setup - t0, "eval_step0": t_eval0 - t_setup, "train": t_train - t_eval0,
                      "eval_final": t_eval1 - t_train, "total": time.time() - t0},
        "device": describe_device(dev), "versions": _versions(),
        "template_source": loaded.template_source, "pad_token": tok.pad_token,
    }
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1, default=_json_default))
    shutil.rmtree(tmp / "trainer", ignore_errors=True)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    os.replace(tmp, out_dir)
    return TrainedRun.load(out_dir)


def _optimizer(model, settings: TrainSettings) -> torch.optim.Optimizer:
    """AdamW with the score head in its own parameter group at ``head_lr`` (the scheduler scales both groups)."""
    head, rest = [], []
    for name, param in model.named_parameters():
        if param.requires_grad:
            (head if "score" in name.split(".") else rest).append(param)
    if not head:
        raise RmnbError("no trainable score head found; cannot give it its own learning rate.")
    groups = [{"params": rest, "lr": settings.learning_rate}, {"params": head, "lr": settings.head_lr}]
    return torch.optim.AdamW(groups, lr=settings.learning_rate, weight_decay=settings.weight_decay)


def _json_default(value):
    """numpy scalars as numbers; anything else JSON cannot write (paths, dtypes, ...) as text."""
    return value.item() if isinstance(value, np.generic) else str(value)


def _collator_base():
    from trl.trainer.reward_trainer import DataCollatorForPreference

    return DataCollatorForPreference


class _RecordingCollator(_collator_base()):
    """TRL's preference collator that also records the pair ids of every batch it builds."""

    def __init__(self, pad_token_id: int):
        super().__init__(pad_token_id=pad_token_id)
        self.seen: list[int] = []

    def torch_call(self, examples):
        self.seen.extend(int(e["pair_id"]) for e in examples)
        return super().torch_call([{k: e[k] for k in ("chosen_ids", "rejected_ids")} for e in examples])


def _callback_base():
    from transformers import TrainerCallback

    return TrainerCallback


class _Checkpoints(_callback_base()):
    """Save the adapter (LoRA + score head) at step 0 and at the plan's checkpoint steps; drive a progress bar."""

    def __init__(self, steps: set[int], folder: Path, total: int, progress: bool):
        self.steps, self.folder = steps, folder
        self.bar = None
        if progress:
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc="training", unit="step", leave=False)

    def _save(self, model, step: int):
        model.save_pretrained(self.folder / f"step-{step:06d}")

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        if 0 in self.steps:
            self._save(model, 0)

    def on_step_end(self, args, state, control, model=None, **kwargs):
        if self.bar is not None:
            self.bar.update(1)
        if state.global_step in self.steps:
            self._save(model, state.global_step)

    def close(self):
        if self.bar is not None:
            self.bar.close()


# ---------------------------------------------------------------------------------------------------------------
# Scoring checkpoints


def checkpoint_model(base_loaded, adapter_dir: Path):
    """A plain sequence classifier: a copy of the base with one checkpoint's adapter merged in."""
    from peft import PeftModel

    model = copy.deepcopy(base_loaded.model)
    with warnings.catch_warnings():  # transformers' deprecation notice for a name PEFT still uses
        warnings.simplefilter("ignore", FutureWarning)
        merged = PeftModel.from_pretrained(model, str(adapter_dir)).merge_and_unload()
    merged.eval()
    return merged


def score_checkpoints(run: TrainedRun, prompt: str, responses, *, base=None, steps=None, batch_size: int | None = None,
                      device: str = "auto", refresh: bool = False, progress: bool = True) -> pd.DataFrame:
    """Scores of every response (vocabulary tokens or strings) under ``prompt`` at each checkpoint, using the
    shared-prefix scorer. Cached in the run folder by (prompt, responses, steps, scoring version).

    Returns ``step, response, token_id, score``. ``base``: the same in-memory ``LoadedModel`` the run was trained
    from (tests); default: load ``run.manifest["base_id"]`` again. ``batch_size``: default the base's registry value.
    """
    from .responses import Conversation
    from .scoring import reward_scores_cached

    steps = [s for s, _ in run.checkpoints] if steps is None else list(steps)
    known = dict(run.checkpoints)
    missing = [s for s in steps if s not in known]
    if missing:
        raise RmnbError(f"steps {missing} are not checkpoints of this run (checkpoints: {sorted(known)}).")
    key = hashlib.sha256(json.dumps([prompt, responses.fingerprint(), steps, SCORING_VERSION]).encode()).hexdigest()[:16]
    cache = run.folder / "scores" / f"{key}.parquet"
    if cache.exists() and not refresh:
        return pd.read_parquet(cache)

    settings = run.settings
    loaded = load_base(base if base is not None else run.manifest["base_id"], settings, device=device)
    if run.manifest.get("pad_token") and loaded.tokenizer.pad_token != run.manifest["pad_token"]:
        raise RmnbError("the base's pad token differs from the one used in training; cannot score checkpoints.")
    encoded = Conversation(loaded.tokenizer, mode="chat").encode(prompt, responses)
    batch_size = batch_size or loaded.spec.batch_size or 64
    frame = responses.frame()
    out = []
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(steps) * len(responses), desc="scoring checkpoints", unit="resp", leave=False)
    for step in steps:
        model = checkpoint_model(loaded, known[step])
        scores = reward_scores_cached(model, encoded, batch_size=batch_size,
                                      progress=(lambda n: bar.update(n)) if bar is not None else None)
        out.append(frame.assign(step=step, score=scores))
        del model
    if bar is not None:
        bar.close()
    result = pd.concat(out, ignore_index=True)[["step", "response", "token_id", "score"]]
    cache.parent.mkdir(exist_ok=True)
    tmp = cache.with_suffix(f".tmp-{os.getpid()}")
    result.to_parquet(tmp)
    os.replace(tmp, cache)
    return result


# ---------------------------------------------------------------------------------------------------------------
# Analysis of checkpoint scores (Figures 4a and 5)


def checkpoint_median_ranks(scores: pd.DataFrame, matched: pd.DataFrame) -> pd.DataFrame:
    """Figure 4a's statistic: rank the matched tokens within each checkpoint (1 = highest score, ties averaged;
    each case/space variant is its own row), then the median rank per category.

    ``scores``: ``step, token_id, score``; ``matched``: ``token_id, category`` (:func:`rmnb.token_norm.
    matched_vocabulary`). Returns ``step, category, median_rank, n_tokens``.
    """
    from .stats import rank_within

    joined = scores.merge(matched[["token_id", "category"]], on="token_id", how="inner")
    joined["rank"] = rank_within(joined, ["step"])
    out = joined.groupby(["step", "category"], observed=True)["rank"].agg(median_rank="median", n_tokens="size")
    return out.reset_index()


def noun_ranks(scores: pd.DataFrame, nouns: pd.DataFrame) -> pd.DataFrame:
    """Figure 5's ranks: tokens normalised (ASCII, strip, lowercase) and joined to the Big Two nouns; the scores
    of a noun's variants averaged per checkpoint; nouns ranked within each checkpoint.
    Returns ``step, word, category, score, n_variants, rank``."""
    from .stats import rank_within
    from .token_norm import normalise_noun

    joined = scores.assign(word=scores.response.map(normalise_noun)).merge(
        nouns.rename(columns={"term": "word"})[["word", "category"]], on="word", how="inner")
    avg = joined.groupby(["step", "word", "category"], observed=True).score.agg(score="mean", n_variants="size")
    avg = avg.reset_index()
    avg["rank"] = rank_within(avg, ["step"])
    return avg


def rank_changes(ranks: pd.DataFrame, first: int, last: int) -> pd.DataFrame:
    """``rank_change = rank(first checkpoint) - rank(last checkpoint)`` per noun (positive = preferred late in
    training), sorted from most improved to most worsened."""
    wide = ranks.pivot_table(index=["word", "category"], columns="step", values="rank", observed=True)
    out = pd.DataFrame({"rank_first": wide[first], "rank_last": wide[last]}).reset_index()
    out["rank_change"] = out.rank_first - out.rank_last
    return out.sort_values(["rank_change", "word"], ascending=[False, True]).reset_index(drop=True)


def top_movers(changes: pd.DataFrame, k: int = 10) -> pd.DataFrame:
    """The ``k`` most improved and ``k`` most worsened nouns (Figure 5's bars)."""
    k = min(k, len(changes) // 2)
    return pd.concat([changes.head(k), changes.tail(k)]).drop_duplicates("word").reset_index(drop=True)


def heldout_table(runs: dict, labels: dict | None = None) -> pd.DataFrame:
    """Held-out accuracy of each run at step 0 (untrained head) and at the end, one row per (base, when)."""
    rows = []
    for base, run in runs.items():
        for when, key in (("step 0 (untrained head)", "step0"), ("final", "final")):
            rows.append({"base": base, "base_label": (labels or {}).get(base, base), "when": when,
                         "step": 0 if key == "step0" else run.manifest["plan"]["steps"], **run.heldout[key]})
    return pd.DataFrame(rows)
