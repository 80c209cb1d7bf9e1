"""Attention over a shared prefix without copying it: the kernel of prefix-reuse reward scoring.

Prefix-reuse scoring (:mod:`rmnb.inference.reward`) runs one prompt's prefix once and then scores many short
candidate blocks against its keys and values. Through a ``DynamicCache`` every batch first *copies* the prefix
into each row (the cache concatenates the expanded prefix with the block's keys) and eager attention copies it
again for each query head of a key/value group (``repeat_kv``): measured, those copies were about a fifth of a
whole-vocabulary search on 2 CPU cores. This attention function computes the same softmax without either copy:

- the prefix keys and values (batch 1, as the cache stored them, rotary applied) come in through the forward
  call's keyword ``rmnb_prefix_kv`` (one ``(keys, values)`` per layer);
- query heads are grouped by their key/value head (grouped-query attention as a reshape, not a copy) and the batch
  folded into the rows, so the prefix part is one matrix product per key/value head against the single prefix;
- the block part is causal within the block: a candidate's real tokens come first (right padding), so a real
  token never sees a pad and no padding mask is needed;
- one softmax over [prefix, block] scores, then the two weighted sums.

It is the same computation as eager attention over ``prefix + block`` (the tests compare the scores with the
plain full-sequence path); floating-point sums are ordered differently, so scores agree to about 1e-5, not
bit for bit. Models whose attention needs more (logit soft-capping, a sliding window shorter than prefix + block,
dropout in training) are refused, and the caller uses the cache path.
"""

from __future__ import annotations

from contextlib import contextmanager

import torch

NAME = "rmnb_prefix"   # the attention implementation's registered name
KWARG = "rmnb_prefix_kv"


def prefix_attention(module, query, key, value, attention_mask, scaling: float | None = None,
                     dropout: float = 0.0, softcap: float | None = None, sliding_window: int | None = None,
                     **kwargs):
    """``(output [B, q, H, d], None)`` for block queries ``query [B, H, q, d]`` against prefix + block keys."""
    if softcap or dropout:
        raise ValueError("the prefix attention computes neither logit soft-capping nor dropout; use the cache path")
    prefix_k, prefix_v = kwargs[KWARG][module.layer_idx]       # [1, KV, P, d] each
    batch, heads, q_len, dim = query.shape
    kv_heads, n_prefix = key.shape[1], prefix_k.shape[2]
    group = heads // kv_heads
    scale = dim ** -0.5 if scaling is None else scaling
    rows = group * q_len

    grouped = query.reshape(batch, kv_heads, rows, dim)         # heads h = kv * group + g (transformers' repeat_kv)
    folded = grouped.transpose(0, 1).reshape(kv_heads, batch * rows, dim)
    s_prefix = torch.bmm(folded, prefix_k[0].transpose(1, 2)).view(kv_heads, batch, rows, n_prefix).transpose(0, 1)
    s_block = torch.matmul(grouped, key.transpose(2, 3))        # [B, KV, rows, q]
    position = torch.arange(rows, device=query.device) % q_len
    future = torch.arange(q_len, device=query.device)[None, :] > position[:, None]
    s_block = s_block.masked_fill(future, float("-inf"))
    weights = torch.softmax(torch.cat([s_prefix, s_block], dim=-1) * scale, dim=-1, dtype=torch.float32)
    weights = weights.to(query.dtype)
    w_prefix, w_block = weights[..., :n_prefix], weights[..., n_prefix:]
    from_prefix = torch.bmm(w_prefix.transpose(0, 1).reshape(kv_heads, batch * rows, n_prefix), prefix_v[0])
    out = from_prefix.view(kv_heads, batch, rows, dim).transpose(0, 1) + torch.matmul(w_block, value)
    return out.reshape(batch, heads, q_len, dim).transpose(1, 2).contiguous(), None


def _no_mask(*args, **kwargs):
    """The mask builder for :data:`NAME`: none (the attention function applies its own causal block mask)."""
    return None


def register() -> None:
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface

    AttentionInterface.register(NAME, prefix_attention)
    AttentionMaskInterface.register(NAME, _no_mask)


def applies(config, n_positions: int) -> bool:
    """Whether :func:`prefix_attention` computes this model's attention exactly for ``n_positions`` (prefix +
    longest block): no logit soft-capping, no sliding window shorter than that."""
    text = config.get_text_config() if hasattr(config, "get_text_config") else config
    if getattr(text, "attn_logit_softcapping", None):
        return False
    window = getattr(text, "sliding_window", None)
    return window is None or n_positions <= int(window)


@contextmanager
def using(model):
    """Switch ``model`` (and its submodules' shared config) to :data:`NAME` for the duration."""
    register()
    configs = {id(c): c for c in (model.config, getattr(model.config, "get_text_config", lambda: None)()) if c}
    saved = {k: c._attn_implementation for k, c in configs.items()}
    try:
        for c in configs.values():
            c._attn_implementation = NAME
        yield
    finally:
        for k, c in configs.items():
            c._attn_implementation = saved[k]
