"""Reward scoring: shared-prefix key/value reuse, and the plain full-sequence computation it must equal.

For one prompt, the templated conversation up to the response (the *prefix*) is run once; its keys and values
are then shared by every candidate. A batch of candidates, with explicit ``position_ids`` starting after the
prefix, attends to them in place (:mod:`rmnb.inference.prefix_attention`; where that attention does not apply,
through a key/value cache expanded to the batch, with an attention mask covering prefix + candidate); each
candidate pays only for its own tokens plus the template's closing tokens. The score is read at each
candidate's last real token, chosen explicitly (never by searching for the pad id: SmolLM2's pad id is its
end-of-turn token). :func:`reward_scores_grouped` applies the same reuse to whole sequences that share a prefix
(preference pairs after the same question).

Standard Hugging Face sequence classifiers (a backbone plus a linear ``score`` head, also inside a PEFT wrapper)
use the cached path. Models whose score is not a linear head on the last hidden state (remote-code RMs that
return ``.score``) fall back to a full forward pass of the model itself; :func:`supports_prefix_reuse` tells
which path applies.

Also here: :func:`facct_texts` / :func:`score_texts`, the FAccT authors' text pipeline (decode, render the chat
template as text, tokenize with padding and default special tokens, full forward pass), used as the baseline of
``benchmarks/scoring_speed.py`` and to reproduce the authors' quirks (a possible second BOS).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import nullcontext

import numpy as np
import torch

from rmnb.inference import prefix_attention
from rmnb.inference.responses import Encoded, common_prefix_len

ProgressFn = Callable[[int], None] | None


# ---------------------------------------------------------------------------------------------------------------
# Model plumbing


def split_reward_model(model) -> tuple[torch.nn.Module, torch.nn.Module] | None:
    """(backbone, linear score head) of a standard HF sequence classifier, or ``None`` if it is not one.

    A PEFT model (LoRA during training) counts too: its base model carries the adapter layers in place, and its
    head is PEFT's wrapper around the linear head (``original_module``), which applies the trained copy."""
    if hasattr(model, "get_base_model"):
        model = model.get_base_model()
    head = getattr(model, "score", None)
    linear = getattr(head, "original_module", head)
    prefix = getattr(model, "base_model_prefix", None)
    backbone = getattr(model, prefix, None) if prefix else None
    if isinstance(linear, torch.nn.Linear) and isinstance(backbone, torch.nn.Module) and backbone is not model:
        return backbone, head
    return None


def supports_prefix_reuse(model) -> bool:
    return split_reward_model(model) is not None


def read_score(output, how: str = "logits_squeeze") -> torch.Tensor:
    """The scalar reward per row: ``logits.squeeze(-1)``, ``logits[:, 0]`` or the model's ``.score``."""
    if how == "score_attr":
        value = output.score
    else:
        logits = output if isinstance(output, torch.Tensor) else output.logits
        value = logits[:, 0] if how == "logits_first" else logits.squeeze(-1)
    if value.dim() != 1:
        value = value.reshape(value.shape[0], -1)[:, 0]
    return value.float()


def _device(model) -> torch.device:
    return next(model.parameters()).device


def _pad_id(config) -> int:
    """The pad token id of a model's config (0 when it has none: padded cells are masked anyway)."""
    pad = getattr(config, "pad_token_id", None)
    return int(pad) if isinstance(pad, int) and pad >= 0 else 0


def _pad_rows(rows: Sequence[Sequence[int]], pad_id: int, side: str = "right"):
    """(ids, attention mask, lengths) as tensors; padded cells hold ``pad_id`` and mask 0."""
    lengths = torch.tensor([len(r) for r in rows], dtype=torch.long)
    width = int(lengths.max())
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for r, row in enumerate(rows):
        n = len(row)
        cols = slice(0, n) if side == "right" else slice(width - n, width)
        ids[r, cols] = torch.as_tensor(row, dtype=torch.long)
        mask[r, cols] = 1
    return ids, mask, lengths


def run_prefix(backbone, config, prefix_ids: Sequence[int]):
    """Run the shared prefix once: (per-layer (keys, values) with batch 1, backbone output)."""
    from transformers import DynamicCache

    device = _device(backbone)
    cache = DynamicCache(config=config)
    ids = torch.as_tensor([list(prefix_ids)], dtype=torch.long, device=device)
    out = backbone(input_ids=ids, past_key_values=cache, use_cache=True)
    return [(layer.keys, layer.values) for layer in cache.layers], out


def expanded_cache(config, kv, batch: int):
    """A fresh cache whose layers hold the prefix keys/values expanded (a view, no copy) to ``batch`` rows."""
    from transformers import DynamicCache

    return DynamicCache(((k.expand(batch, -1, -1, -1), v.expand(batch, -1, -1, -1)) for k, v in kv), config=config)


def batches(encoded: Encoded, batch_size: int):
    """Candidate indices in batches of similar length (shortest first), so padding stays small."""
    order = sorted(range(len(encoded.blocks)), key=lambda i: len(encoded.blocks[i]))
    for start in range(0, len(order), batch_size):
        yield order[start:start + batch_size]


# ---------------------------------------------------------------------------------------------------------------
# Reward scores


@torch.inference_mode()
def reward_scores_cached(model, encoded: Encoded, *, batch_size: int = 64, score_output: str = "logits_squeeze",
                         progress: ProgressFn = None, attention: str = "auto") -> np.ndarray:
    """Scores of ``prefix + block`` for every block, running the prefix once (see module docstring).

    ``attention``: ``"auto"`` reads the prefix in place (:mod:`rmnb.inference.prefix_attention`) where that is
    exact for the model, else through a key/value cache; ``"cache"`` always uses the cache (the benchmark's
    comparison)."""
    parts = split_reward_model(model)
    if parts is None or not encoded.prefix:
        return reward_scores_full(model, [encoded.full(i) for i in range(len(encoded.blocks))],
                                  batch_size=batch_size, score_output=score_output, progress=progress)
    backbone, head = parts
    hidden = last_hidden_cached(backbone, model.config, encoded, batch_size=batch_size, progress=progress,
                                attention=attention)
    return read_score(head(hidden), score_output).cpu().numpy().astype(np.float64)


@torch.inference_mode()
def last_hidden_cached(backbone, config, encoded: Encoded, *, batch_size: int = 64, progress: ProgressFn = None,
                       attention: str = "auto") -> torch.Tensor:
    """The backbone's last hidden state at each candidate's last real token (``[n candidates, hidden size]``),
    running the prefix once: what a linear score head reads (:func:`reward_scores_cached`)."""
    if attention not in ("auto", "cache"):
        raise ValueError(f"attention must be 'auto' or 'cache', not {attention!r}")
    device, pad_id = _device(backbone), _pad_id(config)
    kv, _ = run_prefix(backbone, config, encoded.prefix)
    n_prefix = len(encoded.prefix)
    shared = attention == "auto" and prefix_attention.applies(config, n_prefix + max(map(len, encoded.blocks)))
    hidden = None
    with prefix_attention.using(backbone) if shared else nullcontext():
        for idx in batches(encoded, batch_size):
            ids, mask, lengths = _pad_rows([encoded.blocks[i] for i in idx], pad_id, "right")
            rows, width = ids.shape
            ids, lengths = ids.to(device), lengths.to(device)
            position_ids = torch.arange(n_prefix, n_prefix + width, device=device).expand(rows, width)
            if shared:  # the prefix read in place (rmnb.inference.prefix_attention); right padding needs no mask
                out = backbone(input_ids=ids, position_ids=position_ids, use_cache=False,
                               **{prefix_attention.KWARG: kv})
            else:
                full_mask = None
                if not bool(mask.all()):
                    full_mask = torch.cat([torch.ones((rows, n_prefix), dtype=torch.long), mask], dim=1).to(device)
                out = backbone(input_ids=ids, attention_mask=full_mask, position_ids=position_ids,
                               past_key_values=expanded_cache(config, kv, rows), use_cache=True)
            last = out.last_hidden_state[torch.arange(rows, device=device), lengths - 1]
            if hidden is None:
                hidden = torch.empty((len(encoded.blocks), last.shape[-1]), dtype=last.dtype, device=device)
            hidden[torch.as_tensor(idx, device=device)] = last
            if progress:
                progress(rows)
    return hidden


@torch.inference_mode()
def reward_scores_full(model, sequences: Sequence[Sequence[int]], *, batch_size: int = 64,
                       score_output: str = "logits_squeeze", padding_side: str = "right",
                       progress: ProgressFn = None) -> np.ndarray:
    """The plain computation: each whole sequence in its own row, no cache.

    Positions are counted from each row's first real token, so left and right padding give the same scores.
    Standard classifiers are pooled at each row's last real token; other models (remote code) use their own
    forward pass and pooling.
    """
    parts = split_reward_model(model)
    device, pad = _device(model), _pad_id(model.config)
    scores = np.empty(len(sequences), dtype=np.float64)
    order = sorted(range(len(sequences)), key=lambda i: len(sequences[i]))
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        ids, mask, lengths = _pad_rows([sequences[i] for i in idx], pad, padding_side)
        ids, mask = ids.to(device), mask.to(device)
        if parts is None:
            out = model(input_ids=ids, attention_mask=mask)
            scores[idx] = read_score(out, score_output).cpu().numpy()
        else:
            backbone, head = parts
            position_ids = (mask.cumsum(-1) - 1).clamp(min=0)
            out = backbone(input_ids=ids, attention_mask=mask, position_ids=position_ids, use_cache=False)
            if padding_side == "right":
                last = lengths.to(device) - 1
            else:
                last = torch.full_like(lengths, ids.shape[1] - 1).to(device)
            hidden = out.last_hidden_state[torch.arange(len(idx), device=device), last]
            scores[idx] = read_score(head(hidden), score_output).cpu().numpy()
        if progress:
            progress(len(idx))
    return scores


def shared_prefix_groups(sequences: Sequence[Sequence[int]], min_prefix: int = 8) -> list[tuple[list[int], list[int]]]:
    """Sequences grouped by a common prefix: ``[(indices, prefix)]``.

    Sorted sequences sit next to the ones they share most with. A sequence joins the current group when they share
    at least ``min_prefix`` tokens and joining costs fewer token positions than starting a new group (a shorter
    common prefix lengthens every member's block: pairs after the same question stay together, different questions
    behind one system prompt do not). A prefix stops one token short of its group's shortest member, so every
    member keeps a block of its own. Sequences that share too little stay alone (prefix ``[]``)."""
    order = sorted(range(len(sequences)), key=lambda i: list(sequences[i]))
    groups: list[tuple[list[int], list[int]]] = []
    for i in order:
        seq = list(sequences[i])
        if groups:
            members, prefix = groups[-1]
            head = prefix or list(sequences[members[0]])
            n = min(common_prefix_len(head, seq), len(seq) - 1, min(len(sequences[m]) for m in members) - 1)
            lost = (len(prefix) - n) * (len(members) - 1) if prefix else 0  # positions the members' blocks gain
            if n >= min_prefix and lost < n:
                groups[-1] = (members + [i], head[:n])
                continue
        groups.append(([i], []))
    return groups


def reward_scores_grouped(model, sequences: Sequence[Sequence[int]], *, batch_size: int = 64,
                          score_output: str = "logits_squeeze") -> np.ndarray:
    """Scores of whole sequences (as :func:`reward_scores_full`), each group that shares a prompt run once as a
    prefix (:func:`shared_prefix_groups`, :func:`reward_scores_cached`). For preference pairs, whose chosen and
    rejected answers follow the same templated question, this is several times less computation."""
    scores = np.empty(len(sequences), dtype=np.float64)
    alone = []
    for members, prefix in shared_prefix_groups(sequences):
        if not prefix:
            alone.extend(members)
            continue
        blocks = [list(sequences[i])[len(prefix):] for i in members]
        encoded = Encoded(prefix=prefix, blocks=blocks, span=[(0, len(b)) for b in blocks])
        scores[members] = reward_scores_cached(model, encoded, batch_size=batch_size, score_output=score_output)
    if alone:
        scores[alone] = reward_scores_full(model, [sequences[i] for i in alone], batch_size=batch_size,
                                           score_output=score_output)
    return scores


# ---------------------------------------------------------------------------------------------------------------
# The FAccT authors' text pipeline (baseline and quirk reproduction)


def facct_texts(tokenizer, prompt: str, responses: Sequence[str]) -> list[str]:
    """Each response's conversation rendered as text by the chat template (the authors' first step)."""
    return [tokenizer.apply_chat_template([{"role": "user", "content": prompt},
                                           {"role": "assistant", "content": r}], tokenize=False)
            for r in responses]


def decode_tokens(tokenizer, token_ids: Sequence[int]) -> list[str]:
    """Each id decoded on its own, special tokens included (the authors' vocabulary)."""
    return [tokenizer.decode([int(i)], skip_special_tokens=False) for i in token_ids]


def text_inputs(tokenizer, texts: Sequence[str], bos: str = "authors"):
    """A padded batch (``input_ids``, ``attention_mask`` tensors) of rendered conversation texts.

    ``bos="authors"``: the FAccT authors' call, ``tokenizer(texts, padding=True, truncation=True)`` with the
    default ``add_special_tokens=True``: Gemma and Llama 3 texts, which the chat template already starts with BOS,
    get a second BOS. ``bos="single"``: the same texts with ``add_special_tokens=False`` and one BOS prepended
    where the tokenizer normally adds one and the text lacks it (rmnb's :class:`~rmnb.inference.responses.
    Conversation` rule). Padding follows the tokenizer's ``padding_side`` in both.
    """
    if bos == "authors":
        return tokenizer(list(texts), padding=True, truncation=True, return_tensors="pt")
    if bos != "single":
        raise ValueError(f"bos must be 'authors' or 'single', not {bos!r}")
    bos_id = getattr(tokenizer, "bos_token_id", None)
    probe = tokenizer("a").input_ids
    adds_bos = bos_id is not None and bool(probe) and probe[0] == bos_id
    rows = [list(r) for r in tokenizer(list(texts), add_special_tokens=False, truncation=True).input_ids]
    if adds_bos:
        rows = [r if r and r[0] == bos_id else [bos_id, *r] for r in rows]
    return tokenizer.pad({"input_ids": rows}, padding=True, return_tensors="pt")


@torch.inference_mode()
def score_texts(model, tokenizer, texts: Sequence[str], *, batch_size: int = 64,
                score_output: str = "logits_squeeze", progress: ProgressFn = None,
                bos: str = "authors") -> np.ndarray:
    """The authors' scoring: tokenize a batch of texts with padding, truncation and default special tokens, run
    the full model and read its own pooled output (the classifier pools at the last non-pad token).

    ``bos`` (see :func:`text_inputs`): ``"authors"`` (default) is their exact call, a second BOS included for
    Gemma/Llama 3; ``"single"`` is the same path with one BOS. The released §2 scores were probably made the
    authors' way (an inference from their FAccT code: the ICLR paper's §2 scoring code is not released).
    """
    device = _device(model)
    scores = np.empty(len(texts), dtype=np.float64)
    for start in range(0, len(texts), batch_size):
        chunk = list(texts[start:start + batch_size])
        inputs = text_inputs(tokenizer, chunk, bos).to(device)
        out = model(**inputs)
        scores[start:start + len(chunk)] = read_score(out, score_output).cpu().numpy()
        if progress:
            progress(len(chunk))
    return scores
