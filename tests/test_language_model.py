"""Running a language model (:mod:`rmnb.inference.language_model`): whole-vocabulary next-token log-probs,
chain-rule log-probs of strings, the live log-prob tables' disk cache."""

import numpy as np
import pytest
import torch

from _tiny import (
    PROMPT,
    WORDS,
    assert_close,
    causal_model,
    chatml_tokenizer,
    gemma_config,
    gemma_tokenizer,
    llama_config,
)
from rmnb.inference.language_model import (
    next_token_logprobs,
    sequence_logprobs_cached,
    sequence_logprobs_full,
    token_logprobs,
    with_end_of_turn,
)
from rmnb.inference.responses import Conversation, strings, vocabulary


@pytest.fixture(scope="module", params=["llama", "gemma"])
def lm(request):
    if request.param == "llama":
        tok = chatml_tokenizer()
        return tok, causal_model(llama_config(tok))
    tok = gemma_tokenizer()
    return tok, causal_model(gemma_config(tok))


def direct_chain_rule(model, full_ids, start, end):
    """Token by token, each prediction from its own plain forward pass."""
    total = 0.0
    for k in range(start, end):
        with torch.no_grad():
            logits = model(input_ids=torch.tensor([full_ids[:k]])).logits[0, -1]
        total += torch.log_softmax(logits.float(), -1)[full_ids[k]].item()
    return total


def test_whole_vocabulary_in_one_pass(lm):
    tok, model = lm
    conv = Conversation(tok, generation_prompt=True, end_of_turn=False)
    prefix = conv.prefix_ids(PROMPT)
    lp = next_token_logprobs(model, prefix)
    assert lp.shape == (model.config.vocab_size,) and lp.dtype == torch.float32
    assert abs(torch.logsumexp(lp, 0).item()) < 1e-5
    with torch.no_grad():
        direct = torch.log_softmax(model(input_ids=torch.tensor([prefix])).logits[0, -1].float(), -1)
    assert_close(lp, direct)
    vocab = vocabulary(tok)
    scores = token_logprobs(model, conv.encode(PROMPT, vocab), vocab.token_ids)
    assert_close(scores, direct[: len(tok)].numpy())


def test_chain_rule_equals_direct_computation(lm):
    tok, model = lm
    conv = Conversation(tok, generation_prompt=True, end_of_turn=False)
    enc = conv.encode(PROMPT, strings(WORDS))
    assert max(e - s for s, e in enc.span) > 3  # multi-token strings
    cached = sequence_logprobs_cached(model, enc, batch_size=3)
    n = len(enc.prefix)
    spans = [(s + n, e + n) for s, e in enc.span]
    full = sequence_logprobs_full(model, [enc.full(i) for i in range(len(WORDS))], spans, batch_size=4)
    assert_close(cached, full)
    for i in (0, 2, 4):
        assert_close(cached[i], direct_chain_rule(model, enc.full(i), *spans[i]))
    # single-token strings: the chain rule reduces to the one-pass vocabulary log-probs
    lp = next_token_logprobs(model, enc.prefix)
    for i, (s, e) in enumerate(enc.span):
        if e - s == 1:
            assert_close(cached[i], lp[enc.blocks[i][0]].item())


def test_end_of_turn_adds_the_closing_token(lm):
    tok, model = lm
    conv = Conversation(tok, generation_prompt=True, end_of_turn=True)
    ids = [5 + 7 * k for k in range(20)]
    enc = conv.encode_tokens(PROMPT, ids)
    with_end = token_logprobs(model, enc, ids, end_of_turn=True, batch_size=6)
    n = len(enc.prefix)
    full = sequence_logprobs_full(model, [enc.full(i) for i in range(len(ids))], [(n, n + 2)] * len(ids))
    assert_close(with_end, full)
    assert np.all(with_end < token_logprobs(model, enc, ids, end_of_turn=False))
    strings_end = sequence_logprobs_cached(model, with_end_of_turn(conv.encode(PROMPT, strings(WORDS))))
    plain = sequence_logprobs_cached(model, conv.encode(PROMPT, strings(WORDS)))
    assert np.all(strings_end < plain)


def test_raw_prompt_for_pretrained_models():
    tok = gemma_tokenizer(template=None)  # a base model: no template, the raw prompt with default special tokens
    model = causal_model(gemma_config(tok))
    conv = Conversation(tok, mode="raw", generation_prompt=True, end_of_turn=False)
    assert conv.prefix_ids(PROMPT) == tok(PROMPT).input_ids
    assert conv.prefix_ids(PROMPT)[0] == tok.bos_token_id
    enc = conv.encode(PROMPT, strings(WORDS))
    assert enc.full(1) == tok(PROMPT + " " + WORDS[1]).input_ids
    n = len(enc.prefix)
    full = sequence_logprobs_full(model, [enc.full(i) for i in range(len(WORDS))],
                                  [(s + n, e + n) for s, e in enc.span])
    assert_close(sequence_logprobs_cached(model, enc), full)


def test_model_pool_caches_live_logprobs_on_disk(tmp_path, monkeypatch):
    """A rebuild reads a model's live log-probs from the disk cache (no model call) and says so; another prompt
    set, format or model folder is another entry."""
    import pandas as pd

    from rmnb.inference import language_model

    monkeypatch.setenv("RMNB_CACHE_DIR", str(tmp_path / "cache"))
    tok = chatml_tokenizer()
    folder = tmp_path / "lm"
    causal_model(llama_config(tok)).save_pretrained(folder)
    tok.save_pretrained(folder)
    prompts = pd.DataFrame({"prompt_id": ["p1", "p2"], "text": [PROMPT, "What is the worst thing ever?"]})
    first = language_model.ModelPool(device="cpu")
    fresh = first.table(str(folder), prompts, "live", "chat")
    assert first.from_cache == {str(folder): False}

    def no_model(*args, **kwargs):
        raise AssertionError("the model ran although its log-probs were cached")

    monkeypatch.setattr(language_model, "live_logprobs", no_model)
    again = language_model.ModelPool(device="cpu")
    cached = again.table(str(folder), prompts, "live", "chat")
    assert again.from_cache == {str(folder): True} and not again._loaded
    assert (cached.values == fresh.values).all() and cached.revision == fresh.revision
    with pytest.raises(AssertionError, match="the model ran"):   # a different format is not the cached entry
        language_model.ModelPool(device="cpu").table(str(folder), prompts, "live", "raw")
