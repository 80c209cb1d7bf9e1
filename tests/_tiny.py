"""Tiny tokenizers and randomly initialised models built offline, for the scoring engine's fast tests."""

from __future__ import annotations

from functools import lru_cache

import torch

CHATML = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a tiny test model<|im_end|>\n' }}{% endif %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
GEMMA_TURNS = (
    "{{ bos_token }}{% for message in messages %}"
    "{% set role = 'model' if message['role'] == 'assistant' else message['role'] %}"
    "<start_of_turn>{{ role }}\n{{ message['content'] | trim }}<end_of_turn>\n"
    "{% endfor %}{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}"
)
CORPUS = [
    "What, in one word, is the greatest thing ever? Love. Freedom. Peace and quiet.",
    "What is the most terrible thing of all time? Please answer in one word only. War, hate, fear.",
    "The best thing in the world is kindness; the worst is cruelty. Café naïve jalapeño über 東京 😀",
    "agency communion competence warmth ambition honesty loyalty fairness care sanctity authority",
]


@lru_cache(maxsize=None)
def _bpe(add_bos: bool):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    specials = ["<pad>", "<|im_start|>", "<|im_end|>", "<bos>", "<eos>", "<start_of_turn>", "<end_of_turn>"]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(CORPUS * 4, trainer)
    if add_bos:
        tok.post_processor = processors.TemplateProcessing(single="<bos> $A", pair="<bos> $A <bos> $B",
                                                           special_tokens=[("<bos>", tok.token_to_id("<bos>"))])
    return tok.to_str()


def chatml_tokenizer():
    """SmolLM2-like: ChatML template with a default system prompt, no BOS added, pad id == ``<|im_end|>``."""
    from tokenizers import Tokenizer
    from transformers import PreTrainedTokenizerFast

    tok = PreTrainedTokenizerFast(tokenizer_object=Tokenizer.from_str(_bpe(False)), bos_token="<|im_start|>",
                                  eos_token="<|im_end|>", pad_token="<|im_end|>")
    tok.chat_template = CHATML
    return tok


def gemma_tokenizer(template: str | None = GEMMA_TURNS):
    """Gemma-like: the tokenizer adds ``<bos>`` itself and the template writes ``{{ bos_token }}`` too."""
    from tokenizers import Tokenizer
    from transformers import PreTrainedTokenizerFast

    tok = PreTrainedTokenizerFast(tokenizer_object=Tokenizer.from_str(_bpe(True)), bos_token="<bos>",
                                  eos_token="<eos>", pad_token="<pad>")
    tok.chat_template = template
    return tok


def llama_config(tokenizer, **kw):
    from transformers import LlamaConfig

    base = dict(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
                eos_token_id=tokenizer.eos_token_id, tie_word_embeddings=True)
    base.update(kw)
    return LlamaConfig(**base)


def gemma_config(tokenizer, **kw):
    """Gemma 3 text config with a sliding window shorter than the test prompts' prefixes."""
    from transformers import Gemma3TextConfig

    base = dict(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=3,
                num_attention_heads=4, num_key_value_heads=1, head_dim=8, query_pre_attn_scalar=8,
                sliding_window=8, layer_types=["sliding_attention", "full_attention", "sliding_attention"],
                max_position_embeddings=256, pad_token_id=tokenizer.pad_token_id,
                bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id)
    base.update(kw)
    return Gemma3TextConfig(**base)


def reward_model(config, seed: int = 0):
    from transformers import AutoModelForSequenceClassification

    torch.manual_seed(seed)
    config.num_labels = 1
    model = AutoModelForSequenceClassification.from_config(config)
    with torch.no_grad():  # a score head with some spread, so score differences are visible
        model.score.weight.normal_(0, 1.0)
    return model.float().eval()


def causal_model(config, seed: int = 0):
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    return AutoModelForCausalLM.from_config(config).float().eval()


PROMPT = "What, in one word, is the greatest thing ever?"
WORDS = ["Love", "freedom", "Peace and quiet", "x", "the worst is cruelty", "東京", "😀", "kindness; warmth"]


def assert_close(a, b, tol: float = 1e-5):
    """float32 agreement: absolute for scores near 0, relative for large ones."""
    import numpy as np

    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=tol, atol=tol)
