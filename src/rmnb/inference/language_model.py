"""Running a language model for log-probs: its own preference among responses.

- :func:`next_token_logprobs`: one forward pass of the prompt gives log p(token | prompt) for the whole
  vocabulary (last position's logits in float32, log-softmax over all of them, as in the paper's §3a).
- :func:`sequence_logprobs_cached`: multi-token responses by the chain rule,
  log p(t_1..t_n | prompt) = sum_k log p(t_k | prompt, t_<k), with the prompt run once and candidates batched
  against its cached keys/values. :func:`sequence_logprobs_full` is the direct computation it must equal.

- :func:`live_logprobs` and :class:`ModelPool`: the next-token log-prob tables of the §3 chapters, computed live
  (or read from the authors' release, :mod:`rmnb.data.logprob_tables`), each model loaded once per chapter.

How the prompt is presented (instruct models: chat template with generation prompt; pretrained models: the raw
prompt with default special tokens) is the :class:`rmnb.inference.responses.Conversation`'s business.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch

from rmnb.base.errors import RmnbError
from rmnb.base.paths import cache_dir
from rmnb.base.provenance import slug
from rmnb.data.logprob_tables import LogprobTable, released_logprobs
from rmnb.inference.responses import Conversation, Encoded
from rmnb.inference.reward import ProgressFn, _device, _pad_id, _pad_rows, batches, expanded_cache
from rmnb.inference.token_match import vocab_table
from rmnb.models.loading import load_model, load_tokenizer, static_revision

MAX_LOGIT_ELEMENTS = 1 << 26  # cap on batch x length x vocab floats held at once (256 MB in float32)


@torch.inference_mode()
def next_token_logprobs(model, prefix_ids: Sequence[int]) -> torch.Tensor:
    """log p(next token | prefix) over the whole output vocabulary: float32 tensor of shape [vocab]."""
    ids = torch.as_tensor([list(prefix_ids)], dtype=torch.long, device=_device(model))
    logits = model(input_ids=ids, use_cache=False, logits_to_keep=1).logits[0, -1]
    return torch.log_softmax(logits.float(), dim=-1).cpu()


def _token_logprobs(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """log_softmax(logits)[targets] along the last axis, in float32."""
    logits = logits.float()
    return logits.gather(-1, targets.unsqueeze(-1)).squeeze(-1) - torch.logsumexp(logits, dim=-1)


@torch.inference_mode()
def sequence_logprobs_cached(model, encoded: Encoded, *, batch_size: int = 64,
                             progress: ProgressFn = None) -> np.ndarray:
    """Chain-rule log-prob of each block's span ``[start, end)`` given the prefix and the block before it."""
    from transformers import DynamicCache

    if not encoded.prefix:
        return sequence_logprobs_full(model, [encoded.full(i) for i in range(len(encoded.blocks))],
                                      [(0 + s, 0 + e) for s, e in encoded.span], batch_size=batch_size,
                                      progress=progress)
    device, pad, config = _device(model), _pad_id(model.config), model.config
    n_prefix = len(encoded.prefix)
    cache = DynamicCache(config=config)
    ids = torch.as_tensor([encoded.prefix], dtype=torch.long, device=device)
    first = model(input_ids=ids, past_key_values=cache, use_cache=True, logits_to_keep=1).logits[0, -1]
    kv = [(layer.keys, layer.values) for layer in cache.layers]
    vocab = first.shape[-1]
    result = np.empty(len(encoded.blocks), dtype=np.float64)

    # block token j is predicted by the prefix's last position (j = 0) or by block position j - 1, so the inputs
    # a candidate needs are its block up to (not including) the last token of its span
    inputs = [b[:max(e - 1, 0)] for b, (_, e) in zip(encoded.blocks, encoded.span)]
    by_length = Encoded(encoded.prefix, inputs, encoded.span)
    step = max(1, min(batch_size, MAX_LOGIT_ELEMENTS // (max(1, max(map(len, inputs))) * vocab)))
    for idx in batches(by_length, step):
        rows = len(idx)
        width = max(len(inputs[i]) for i in idx)
        predictors = first.float().expand(rows, 1, vocab)
        if width:
            ids, mask, _ = _pad_rows([inputs[i] or [pad] for i in idx], pad, "right")
            for r, i in enumerate(idx):
                if not inputs[i]:
                    mask[r] = 0
            ids = ids.to(device)
            position_ids = torch.arange(n_prefix, n_prefix + width, device=device).expand(rows, width)
            full_mask = None
            if not bool(mask.all()):
                full_mask = torch.cat([torch.ones((rows, n_prefix), dtype=torch.long), mask], dim=1).to(device)
            logits = model(input_ids=ids, attention_mask=full_mask, position_ids=position_ids,
                           past_key_values=expanded_cache(config, kv, rows), use_cache=True).logits
            predictors = torch.cat([predictors, logits.float()], dim=1)
        rows_of, positions, targets = [], [], []
        for r, i in enumerate(idx):
            start, end = encoded.span[i]
            rows_of += [r] * (end - start)
            positions += range(start, end)
            targets += encoded.blocks[i][start:end]
        rows_t = torch.as_tensor(rows_of, dtype=torch.long, device=device)
        lp = _token_logprobs(predictors[rows_t, torch.as_tensor(positions, dtype=torch.long, device=device)],
                             torch.as_tensor(targets, dtype=torch.long, device=device))
        sums = torch.zeros(rows, dtype=torch.float64, device=device).index_add_(0, rows_t, lp.double())
        result[idx] = sums.cpu().numpy()
        if progress:
            progress(rows)
    return result


@torch.inference_mode()
def sequence_logprobs_full(model, sequences: Sequence[Sequence[int]], spans: Sequence[tuple[int, int]], *,
                           batch_size: int = 16, progress: ProgressFn = None) -> np.ndarray:
    """Direct reference: log p(seq[start:end] | seq[:start]) from one plain forward pass per sequence."""
    device, pad = _device(model), _pad_id(model.config)
    result = np.empty(len(sequences), dtype=np.float64)
    for start_row in range(0, len(sequences), batch_size):
        idx = list(range(start_row, min(start_row + batch_size, len(sequences))))
        ids, mask, _ = _pad_rows([sequences[i] for i in idx], pad, "right")
        ids, mask = ids.to(device), mask.to(device)
        logits = model(input_ids=ids, attention_mask=mask, use_cache=False).logits
        for r, i in enumerate(idx):
            start, end = spans[i]
            if start < 1:
                raise ValueError("a span must start after at least one context token")
            targets = ids[r, start:end]
            result[i] = float(_token_logprobs(logits[r, start - 1:end - 1], targets).sum())
        if progress:
            progress(len(idx))
    return result


def token_logprobs(model, encoded: Encoded, token_ids: Sequence[int], *, end_of_turn: bool = False,
                   batch_size: int = 64, progress: ProgressFn = None) -> np.ndarray:
    """Single-token responses: one forward pass for all of them, or, with ``end_of_turn``, the chain rule over
    the token and the template's end-of-turn token (log p(token) + log p(end | token))."""
    if not end_of_turn:
        lp = next_token_logprobs(model, encoded.prefix)
        if progress:
            progress(len(token_ids))
        return lp[torch.as_tensor(list(token_ids), dtype=torch.long)].double().numpy()
    return sequence_logprobs_cached(model, with_end_of_turn(encoded), batch_size=batch_size, progress=progress)


def with_end_of_turn(encoded: Encoded) -> Encoded:
    """The same candidates with each span extended by one token: the first closing token (end of turn)."""
    spans = [(s, min(e + 1, len(b))) for (s, e), b in zip(encoded.span, encoded.blocks)]
    return Encoded(encoded.prefix, encoded.blocks, spans)


def live_logprobs(loaded, prompts: pd.DataFrame, fmt: str = "chat") -> np.ndarray:
    """``[n_prompts, vocab]`` log-probs of the next token after each prompt, computed with rmnb's scorer.

    ``loaded`` is an :class:`rmnb.models.loading.LoadedModel` (causal LM); ``prompts`` has ``text``; ``fmt`` is
    ``"chat"`` (chat template + generation prompt) or ``"raw"`` (the bare prompt, default special tokens).
    """
    if fmt not in ("chat", "raw"):
        raise RmnbError(f"prompt format must be 'chat' or 'raw', not {fmt!r}.")
    conv = Conversation(loaded.tokenizer, mode=fmt, generation_prompt=True)
    rows = [next_token_logprobs(loaded.model, conv.prefix_ids(text)).numpy() for text in prompts.text]
    values = np.stack(rows).astype(np.float32)
    n_vocab = len(loaded.tokenizer)
    return values[:, :n_vocab] if values.shape[1] > n_vocab else values


LOGPROB_CACHE_VERSION = 1   # bump when live log-prob computation changes (invalidates the on-disk cache)


class ModelPool:
    """Loads each model once per chapter and memoises its vocabulary table and log-prob tables. Live tables of a
    model whose revision is known (an embedded model's package version, a pinned Hub commit, a folder's digest)
    are also cached on disk (``<cache>/logprobs/``), keyed by model, revision, prompt format, dtype and the prompts'
    text, so a rebuild reads them instead of running the model; ``from_cache`` says, per model, which it did."""

    def __init__(self, device: str = "auto", dtype: str | None = None):
        self.device, self.dtype = device, dtype
        self._loaded, self._vocab, self._tables = {}, {}, {}
        self.from_cache: dict[str, bool] = {}

    def loaded(self, model_id: str):
        if model_id not in self._loaded:
            self._loaded[model_id] = load_model(model_id, kind="lm", device=self.device, dtype=self.dtype)
        return self._loaded[model_id]

    def vocab(self, model_id: str) -> pd.DataFrame:
        if model_id not in self._vocab:
            tokenizer = (self._loaded[model_id].tokenizer if model_id in self._loaded else load_tokenizer(model_id))
            self._vocab[model_id] = vocab_table(tokenizer)
        return self._vocab[model_id]

    def table(self, model_id: str, prompts: pd.DataFrame, source: str, fmt: str = "chat",
              released_revision: str | None = "main") -> "LogprobTable":
        key = (model_id, source, fmt if source == "live" else None, tuple(prompts.prompt_id), released_revision)
        if key not in self._tables:
            if source == "released":
                self._tables[key] = released_logprobs(model_id, prompts.prompt_id, released_revision)
            elif source == "live":
                values, revision = self._live(model_id, prompts, fmt)
                vocab = self.vocab(model_id).iloc[: values.shape[1]]  # ids past the model's output layer: unscored
                self._tables[key] = LogprobTable(model_id, list(prompts.prompt_id), values, vocab, "live", fmt,
                                                 revision)
            else:
                raise RmnbError(f"source must be 'live' or 'released', not {source!r}.")
        return self._tables[key]

    def _live(self, model_id: str, prompts: pd.DataFrame, fmt: str) -> tuple[np.ndarray, str]:
        """Live log-probs from the disk cache when the model's revision is known, else computed (and cached)."""
        revision = static_revision(model_id)
        path = None
        if revision != "unpinned":
            digest = hashlib.sha256(json.dumps([model_id, revision, fmt, self.dtype, list(prompts.prompt_id),
                                                list(prompts.text), LOGPROB_CACHE_VERSION]).encode()).hexdigest()
            path = cache_dir("logprobs") / f"{slug(model_id)}-{digest[:16]}.npy"
            if path.exists():
                self.from_cache[model_id] = True
                return np.load(path), revision
        loaded = self.loaded(model_id)
        values = live_logprobs(loaded, prompts, fmt)
        self.from_cache[model_id] = False
        if path is not None:
            tmp = path.with_name(f"{path.stem}.tmp-{os.getpid()}.npy")
            np.save(tmp, values)
            os.replace(tmp, path)
        return values, loaded.revision

    def release(self, model_id: str) -> None:
        """Free a model's weights (its tables stay)."""
        if self._loaded.pop(model_id, None) is not None:
            gc.collect()
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
