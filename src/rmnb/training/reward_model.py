"""Bradley-Terry reward-model training with TRL's ``RewardTrainer`` and PEFT LoRA (paper §4, the authors' training recipe).

A run takes a base model (registry id, Hugging Face id, local folder, or a model already in memory), preference
pairs (:mod:`rmnb.data.preferences`) and :class:`TrainSettings`, and writes one folder:

``manifest.json``            settings, the training plan, data fingerprints, held-out accuracy, loss log, versions
``checkpoints/step-NNNNNN/`` the LoRA adapter and score head every ``checkpoint_every`` steps, step 0 included
``model/``                   the final reward model, LoRA merged: a plain sequence classifier any code can load
``scores/*.parquet``         cached checkpoint scores (:func:`rmnb.training.checkpoint_scores.score_checkpoints`)

**Identical data, order and hyperparameters across bases, by construction.** The pairs, their split and the
order in which the trainer consumes them (:class:`~rmnb.training.recipe.TrainingPlan`) are computed from the data and the settings
only, never from a tokenizer or a model; the trainer reads the rows in that order (sequential sampler) and the
collator records the pair ids it sees, so the manifest proves it. Lengths are limited by characters before
tokenizing (``max_chars``) rather than by TRL's token-length filter, which would drop different pairs for
different tokenizers; the rare conversation still longer than ``max_length`` tokens is truncated on the right, as
in the authors' code, and counted.

The presets (``"paper"``, the authors' recipe for a GPU, and ``"cpu"``, a laptop-sized run) live in
:mod:`rmnb.training.recipe`; tokenizing the pairs and preparing the base in :mod:`rmnb.training.preparation`.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from scipy.stats import binomtest
from tqdm import tqdm

from rmnb.base.device import describe_device, resolve_device
from rmnb.base.errors import RmnbError
from rmnb.base.provenance import TRAINING_PACKAGES, package_versions
from rmnb.base.quiet import quiet_transformers
from rmnb.base.tempfiles import remove_stale_temps
from rmnb.data.preferences import PreferenceData
from rmnb.inference.reward import reward_scores_grouped
from rmnb.models import loading as models
from rmnb.training.preparation import encode_pairs, load_base, lora_config
from rmnb.training.recipe import TRAINING_VERSION, TrainSettings, make_plan, split_for

# ---------------------------------------------------------------------------------------------------------------
# Bradley-Terry loss and held-out accuracy


def bt_loss(chosen: torch.Tensor, rejected: torch.Tensor) -> torch.Tensor:
    """The Bradley-Terry loss ``mean(-log sigmoid(r_chosen - r_rejected))`` (what TRL's RewardTrainer minimises)."""
    return -torch.nn.functional.logsigmoid(chosen - rejected).mean()


def pair_scores(model, encoded: pd.DataFrame, batch_size: int = 16) -> pd.DataFrame:
    """Reward of each pair's chosen and rejected conversation: ``pair_id, chosen, rejected, margin, correct``."""
    n = len(encoded)
    seqs = list(encoded.chosen_ids) + list(encoded.rejected_ids)
    was_training = model.training
    model.eval()
    scores = reward_scores_grouped(model, seqs, batch_size=batch_size)  # each question's prefix run once
    model.train(was_training)
    out = pd.DataFrame({"pair_id": encoded.pair_id.to_numpy(), "chosen": scores[:n], "rejected": scores[n:]})
    out["margin"] = out.chosen - out.rejected
    out["correct"] = out.margin > 0
    return out


def accuracy_summary(pairs: pd.DataFrame) -> dict:
    """Pairwise accuracy with a Wilson 95% interval, a two-sided binomial test against chance (0.5) and the
    held-out BT loss."""
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
        return pd.DataFrame([r for r in self.manifest.get("log_history", []) if "loss" in r])



def train(base, data: PreferenceData, settings: TrainSettings, out_dir: str | Path, *, device: str = "auto",
          progress: bool = True, base_id: str | None = None, heldout: PreferenceData | None = None,
          curve_pairs: int = 0) -> TrainedRun:
    """Train one reward model and write the run folder ``out_dir`` (atomically: a temp folder, then renamed).

    ``base``: registry id, Hugging Face id or local folder, or a ``LoadedModel`` already in memory (then pass
    ``base_id`` to name it in the manifest). ``heldout``: a separate held-out set (see
    :func:`~rmnb.training.recipe.split_for`); default: a split of ``data``. ``curve_pairs``: at every checkpoint,
    held-out accuracy on the first this many held-out pairs (the learning curve, in the manifest; 0: none).
    Pairs with a ``framing`` column also get accuracy per framing.
    """
    from datasets import Dataset
    from trl import RewardConfig, RewardTrainer


    t0 = time.time()
    out_dir = Path(out_dir)
    remove_stale_temps(out_dir)  # of writers killed mid-way
    tmp = out_dir.with_name(f"{out_dir.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "checkpoints").mkdir(parents=True)
    base_name = base if isinstance(base, str) else (base_id or base.id)

    train_pairs, held_pairs = split_for(data, settings, heldout)
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
    collator = _recording_collator(tok.pad_token_id)
    curve_enc = enc_held.head(curve_pairs) if curve_pairs else None
    framing = _framings(held_pairs)
    words_seen = _words_seen(train_pairs, plan)

    def evaluate(model, step):
        scored = pair_scores(model, curve_enc)
        row = {"step": step, "pairs_seen": step * plan.effective_batch, "accuracy": float(scored.correct.mean()),
               "n": len(scored)}
        if words_seen is not None:
            row["training_words_seen"] = words_seen[step]
        if framing is not None:
            for name, acc in scored.groupby(scored.pair_id.map(framing)).correct.mean().items():
                row[f"accuracy_{name}"] = float(acc)
        return row

    saver = _checkpoints(set(plan.checkpoint_steps), tmp / "checkpoints", plan.steps, progress,
                         evaluate if curve_enc is not None else None)
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
    with quiet_transformers():
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
        "heldout": {"step0": accuracy_summary(held0), "final": accuracy_summary(held1),
                    **({"by_framing": {part: {name: accuracy_summary(g) for name, g in
                                              frame.groupby(frame.pair_id.map(framing))}
                                       for part, frame in (("step0", held0), ("final", held1))}}
                       if framing is not None else {})},
        "curve": saver.curve,
        "log_history": trainer.state.log_history,
        "timings_s": {"setup": t_setup - t0, "eval_step0": t_eval0 - t_setup, "train": t_train - t_eval0,
                      "eval_final": t_eval1 - t_train, "total": time.time() - t0},
        "device": describe_device(dev), "versions": package_versions(("rmnb", *TRAINING_PACKAGES)),
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


def _framings(pairs: PreferenceData) -> dict | None:
    """pair id -> framing, when the pairs have one (the valence pairs)."""
    if "framing" not in pairs.frame:
        return None
    return dict(zip(pairs.frame.pair_id.astype(int), pairs.frame.framing))


def _words_seen(train: PreferenceData, plan) -> dict | None:
    """Optimizer step -> distinct training words (chosen or rejected answers) consumed by the end of that step."""
    if "chosen_word" not in train.frame:
        return None
    words = train.frame.set_index("pair_id")[["chosen_word", "rejected_word"]]
    seen, out = set(), {0: 0}
    for step in range(1, plan.steps + 1):
        for pid in plan.batch(step):
            seen.update(words.loc[pid])
        out[step] = len(seen)
    return out


def _json_default(value):
    """numpy scalars as numbers; anything else JSON cannot write (paths, dtypes, ...) as text."""
    return value.item() if isinstance(value, np.generic) else str(value)


def _recording_collator(pad_token_id: int):
    """TRL's preference collator that also records the pair ids of every batch it builds (``.seen``). The class is
    made on first use: importing trl takes seconds, which every ``rmnb`` command would otherwise pay."""
    from trl.trainer.reward_trainer import DataCollatorForPreference

    class _RecordingCollator(DataCollatorForPreference):
        def __init__(self, pad_token_id: int):
            super().__init__(pad_token_id=pad_token_id)
            self.seen: list[int] = []

        def torch_call(self, examples):
            self.seen.extend(int(e["pair_id"]) for e in examples)
            return super().torch_call([{k: e[k] for k in ("chosen_ids", "rejected_ids")} for e in examples])

    return _RecordingCollator(pad_token_id=pad_token_id)


def _checkpoints(steps: set[int], folder: Path, total: int, progress: bool, evaluate=None):
    """A trainer callback that saves the adapter at the plan's steps (made on first use, like the collator: a
    module-level subclass would import transformers' trainer and peft for every ``rmnb`` command)."""
    from transformers import TrainerCallback

    class _Checkpoints(TrainerCallback):
        """Save the adapter (LoRA + score head) at step 0 and at the plan's checkpoint steps; drive a progress bar."""

        def __init__(self, steps: set[int], folder: Path, total: int, progress: bool, evaluate):
            self.steps, self.folder, self.evaluate = steps, folder, evaluate
            self.curve: list[dict] = []
            self.bar = None
            if progress:
                self.bar = tqdm(total=total, desc="training", unit="step", leave=False)

        def _save(self, model, step: int):
            model.save_pretrained(self.folder / f"step-{step:06d}")
            if self.evaluate is not None:
                self.curve.append(self.evaluate(model, step))

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

    return _Checkpoints(steps, folder, total, progress, evaluate)


# ---------------------------------------------------------------------------------------------------------------
