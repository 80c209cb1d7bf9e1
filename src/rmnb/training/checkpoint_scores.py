"""Scores of a training run's checkpoints (paper §4's Figures 4a and 5; chapter 06): each checkpoint's adapter
merged into a copy of the base, then every response scored with the shared-prefix scorer
(:func:`rmnb.inference.reward.reward_scores_cached`), cached in the run folder (``scores/*.parquet``).

Step 0 is the base with the run's seeded score head and LoRA B = 0, so its hidden states are the base's: they are
computed once per process for every seed of the same base, prompt and responses (:func:`_base_scores`), which
makes the step-0 scores of several seeds cost one forward pass.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from rmnb.base.errors import RmnbError
from rmnb.inference.responses import Conversation
from rmnb.inference.reward import last_hidden_cached, read_score, reward_scores_cached, split_reward_model
from rmnb.models import loading
from rmnb.training.preparation import load_base
from rmnb.training.reward_model import TrainedRun

SCORING_VERSION = 2    # bump when checkpoint scoring changes (invalidates cached checkpoint scores; 2: prefix attention)


def checkpoint_model(base_loaded, adapter_dir: Path):
    """A plain sequence classifier: a copy of the base with one checkpoint's adapter merged in."""
    from peft import PeftModel

    model = copy.deepcopy(base_loaded.model)
    with warnings.catch_warnings():  # transformers' deprecation notice for a name PEFT still uses
        warnings.simplefilter("ignore", FutureWarning)
        merged = PeftModel.from_pretrained(model, str(adapter_dir)).merge_and_unload()
    merged.eval()
    return merged


_BASE_HIDDEN: dict = {}   # (the weights' identity, dtype, pad, prompt, responses) -> the base's last hidden states
BASE_HIDDEN_ENTRIES = 128  # prompts x response sets kept (the 54 paper prompts of two bases fit; tens of MB)


def _is_untrained(adapter_dir: Path, model) -> bool:
    """Whether a checkpoint's adapter leaves ``model`` (a base with its seeded head) unchanged: every LoRA B
    matrix is zero (so the merged weights equal the base's) and the saved head equals the model's head."""
    from safetensors.torch import load_file

    path = Path(adapter_dir) / "adapter_model.safetensors"
    if not path.exists():
        return False
    tensors = load_file(str(path))
    heads = {k: v for k, v in tensors.items() if ".score." in k}
    own = {n: p for n, p in model.score.named_parameters()}
    return (all(not bool(v.any()) for k, v in tensors.items() if "lora_B" in k)
            and len(heads) == len(own) > 0
            and all(torch.equal(v.to(own[k.rsplit(".", 1)[-1]].dtype), own[k.rsplit(".", 1)[-1]].detach().cpu())
                    for k, v in heads.items()))


def _weights_identity(backbone, base_id: str, from_registry: bool) -> tuple:
    """What identifies a backbone's weights: the id and its pinned revision when it was loaded by id, else (an
    in-memory base, an unpinned Hub id) the weights' own sums, so that two different bases never share a key."""
    revision = loading.static_revision(base_id) if from_registry else "unpinned"
    if revision != "unpinned":
        return base_id, revision
    with torch.no_grad():
        return (base_id, float(sum(p.sum(dtype=torch.float64) for p in backbone.parameters())),
                float(sum(torch.dot(p.reshape(-1), p.reshape(-1)) for p in backbone.parameters())))


def _base_scores(loaded, identity: tuple, prompt: str, responses, encoded, batch_size: int, progress) -> np.ndarray:
    """Scores of the base with its own (seeded) head. The base's hidden states do not depend on the head, so they
    are computed once per process for every seed of the same base (``identity``: :func:`_weights_identity`),
    prompt and responses (the step-0 scores of several seeds cost one forward pass per prompt)."""
    backbone, head = split_reward_model(loaded.model)
    key = (*identity, str(loaded.model.dtype), loaded.tokenizer.pad_token_id, loaded.tokenizer.chat_template, prompt,
           responses.fingerprint(), SCORING_VERSION)
    hidden = _BASE_HIDDEN.get(key)
    if hidden is None:
        hidden = last_hidden_cached(backbone, loaded.model.config, encoded, batch_size=batch_size, progress=progress)
        while len(_BASE_HIDDEN) >= BASE_HIDDEN_ENTRIES:  # oldest first: memory stays bounded
            _BASE_HIDDEN.pop(next(iter(_BASE_HIDDEN)))
        _BASE_HIDDEN[key] = hidden
    elif progress:
        progress(len(encoded.blocks))
    with torch.inference_mode():
        return read_score(head(hidden)).cpu().numpy().astype(np.float64)


def score_checkpoints(run: TrainedRun, prompt: str, responses, *, base=None, steps=None, batch_size: int | None = None,
                      device: str = "auto", refresh: bool = False, progress: bool = True) -> pd.DataFrame:
    """Scores of every response (vocabulary tokens or strings) under ``prompt`` at each checkpoint, using the
    shared-prefix scorer. Cached in the run folder by (prompt, responses, steps, scoring version).

    Returns ``step, response, token_id, score``. ``base``: the same in-memory ``LoadedModel`` the run was trained
    from (tests); default: load ``run.manifest["base_id"]`` again. ``batch_size``: default the base's registry value.
    """
    steps = _checked_steps(run, steps)
    key = hashlib.sha256(json.dumps([prompt, responses.fingerprint(), steps, SCORING_VERSION]).encode()).hexdigest()[:16]
    return cached_table(run.folder / "scores" / f"{key}.parquet", refresh, lambda: score_prompts(
        run, {"prompt": prompt}, responses, base=base, steps=steps, batch_size=batch_size, device=device,
        progress=progress).drop(columns="prompt_id"))


def score_prompts(run: TrainedRun, prompts: dict[str, str], responses, *, base=None, steps=None,
                  batch_size: int | None = None, device: str = "auto", progress: bool = True) -> pd.DataFrame:
    """Scores of every response under each of ``prompts`` (``{prompt id: text}``) at each checkpoint in ``steps``
    (default: all), not cached: ``step, prompt_id, response, token_id, score``. The base is loaded once and each
    checkpoint merged once for all prompts; step 0 reuses the base's hidden states across seeds
    (:func:`_base_scores`)."""
    steps = _checked_steps(run, steps)
    known = dict(run.checkpoints)
    settings = run.settings
    loaded = load_base(base if base is not None else run.manifest["base_id"], settings, device=device)
    if run.manifest.get("pad_token") and loaded.tokenizer.pad_token != run.manifest["pad_token"]:
        raise RmnbError("the base's pad token differs from the one used in training; cannot score checkpoints.")
    conversation = Conversation(loaded.tokenizer, mode="chat")
    encoded = {pid: conversation.encode(text, responses) for pid, text in prompts.items()}
    batch_size = batch_size or loaded.spec.batch_size or 64
    frame = responses.frame()
    out = []
    bar = None
    if progress:
        bar = tqdm(total=len(steps) * len(prompts) * len(responses), desc="scoring checkpoints", unit="resp",
                   leave=False)
    tick = (lambda n: bar.update(n)) if bar is not None else None
    parts = split_reward_model(loaded.model) if all(e.prefix for e in encoded.values()) else None
    for step in steps:
        untrained = step == 0 and parts is not None and _is_untrained(known[step], loaded.model)
        model = None if untrained else checkpoint_model(loaded, known[step])
        for pid, text in prompts.items():
            if untrained:  # the base with the run's seeded head
                identity = _weights_identity(parts[0], run.manifest["base_id"], from_registry=base is None)
                scores = _base_scores(loaded, identity, text, responses, encoded[pid], batch_size, tick)
            else:
                scores = reward_scores_cached(model, encoded[pid], batch_size=batch_size, progress=tick)
            out.append(frame.assign(step=step, prompt_id=pid, score=scores))
        del model
    if bar is not None:
        bar.close()
    return pd.concat(out, ignore_index=True)[["step", "prompt_id", "response", "token_id", "score"]]


def _checked_steps(run: TrainedRun, steps) -> list[int]:
    known = dict(run.checkpoints)
    steps = list(known) if steps is None else list(steps)
    missing = [s for s in steps if s not in known]
    if missing:
        raise RmnbError(f"steps {missing} are not checkpoints of this run (checkpoints: {sorted(known)}).")
    return steps


def cached_table(path: Path, refresh: bool, compute) -> pd.DataFrame:
    """The table at ``path`` if there is one (and not ``refresh``), else ``compute()`` written there atomically."""
    if path.exists() and not refresh:
        return pd.read_parquet(path)
    result = compute()
    path.parent.mkdir(exist_ok=True)
    tmp = path.with_suffix(f".tmp-{os.getpid()}")
    result.to_parquet(tmp)
    os.replace(tmp, path)
    return result
