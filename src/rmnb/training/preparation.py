"""Preparing a reward-model run: the preference pairs tokenized exactly as the scorer tokenizes, and the base
loaded as a one-output sequence classifier with a seeded fresh score head and its LoRA configuration."""

from __future__ import annotations

import copy

import pandas as pd
import torch

from rmnb.base.errors import RmnbError
from rmnb.data.preferences import PreferenceData
from rmnb.inference.responses import Conversation
from rmnb.models import loading as models
from rmnb.models.templates import drop_default_system_prompt
from rmnb.training.recipe import TrainSettings


def encode_conversation(conversation, messages: list[dict]) -> list[int]:
    """Token ids of a whole conversation, rendered by the chat template as text and tokenized exactly as the
    scorer tokenizes (no added special tokens, one BOS when the template writes none)."""
    text = conversation.tokenizer.apply_chat_template(messages, tokenize=False, **conversation.template_kwargs)
    return conversation.encode_text(text)


def encode_pairs(data: PreferenceData, tokenizer, max_length: int) -> pd.DataFrame:
    """``pair_id, chosen_ids, rejected_ids, truncated`` for every pair, right-truncated at ``max_length``."""
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
    the settings say (pad token, chat template). ``base``: a model id / folder, or a ``LoadedModel`` (deep-copied)."""
    if isinstance(base, str):
        loaded = models.load_model(base, kind="reward", dtype=settings.dtype, device=device, head_seed=settings.seed)
    else:
        loaded = copy.copy(base)
        loaded.model = copy.deepcopy(base.model)
        loaded.tokenizer = copy.deepcopy(base.tokenizer)
    model, tok = loaded.model, loaded.tokenizer
    if not settings.default_system_prompt:
        drop_default_system_prompt(tok)
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


