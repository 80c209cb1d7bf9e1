"""Reward scoring with prefix reuse equals the plain full-sequence computation (tiny random models, CPU)."""

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
    reward_model,
)
from rmnb.base.errors import RmnbError
from rmnb.inference.responses import Conversation, Encoded, strings, vocabulary
from rmnb.inference.reward import (
    decode_tokens,
    facct_texts,
    read_score,
    reward_scores_cached,
    reward_scores_full,
    score_texts,
    split_reward_model,
    supports_prefix_reuse,
)


@pytest.fixture(scope="module")
def chatml():
    tok = chatml_tokenizer()
    return tok, reward_model(llama_config(tok))


def full(model, enc: Encoded, **kw):
    return reward_scores_full(model, [enc.full(i) for i in range(len(enc.blocks))], **kw)


@pytest.mark.parametrize("which", ["chatml", "tiny_gemma_rm"])
def test_cached_equals_full_for_every_token(which, request):
    tok, model = request.getfixturevalue(which)
    enc = Conversation(tok).encode(PROMPT, vocabulary(tok))
    cached = reward_scores_cached(model, enc, batch_size=64)
    assert_close(cached, full(model, enc, batch_size=64))
    assert np.std(cached) > 0.01  # the scores really differ between tokens


@pytest.mark.parametrize("which", ["chatml", "tiny_gemma_rm"])
def test_cached_equals_full_for_strings_of_different_lengths(which, request):
    tok, model = request.getfixturevalue(which)
    enc = Conversation(tok).encode(PROMPT, strings(WORDS))
    assert len({len(b) for b in enc.blocks}) > 2
    cached = reward_scores_cached(model, enc, batch_size=3)
    assert_close(cached, full(model, enc, batch_size=1))


def test_sliding_window_shorter_than_prefix(tiny_gemma_rm):
    tok, model = tiny_gemma_rm
    enc = Conversation(tok).encode(PROMPT, strings(WORDS))
    assert len(enc.prefix) > model.config.sliding_window  # the sliding layers really drop part of the prefix
    assert_close(reward_scores_cached(model, enc), full(model, enc))


@pytest.mark.parametrize("which", ["chatml", "gemma_wide"])
def test_shared_prefix_attention_is_used_and_equals_full(which, request, monkeypatch):
    """The copy-free prefix attention (rmnb.inference.prefix_attention) really runs, for grouped-query heads
    (Llama: 4 query heads on 2 key/value heads; Gemma 3: 4 on 1), and gives the plain full-sequence scores, also
    for blocks of different lengths; the model's own attention setting is restored afterwards."""
    from rmnb.inference import prefix_attention

    if which == "gemma_wide":
        tok = gemma_tokenizer()
        model = reward_model(gemma_config(tok, sliding_window=256))
    else:
        tok, model = request.getfixturevalue(which)
    calls = []
    real = prefix_attention.prefix_attention
    monkeypatch.setattr(prefix_attention, "prefix_attention", lambda *a, **k: calls.append(1) or real(*a, **k))
    before = model.config._attn_implementation
    enc = Conversation(tok).encode(PROMPT, strings(WORDS))
    assert len({len(b) for b in enc.blocks}) > 2
    assert_close(reward_scores_cached(model, enc, batch_size=3), full(model, enc, batch_size=1))
    assert calls and model.config._attn_implementation == before
    assert prefix_attention.applies(model.config, len(enc.prefix) + 4)
    assert not prefix_attention.applies(gemma_config(tok), len(enc.prefix) + 4)  # window 8: the cache path


def test_batch_size_invariance(chatml):
    tok, model = chatml
    enc = Conversation(tok).encode(PROMPT, strings(WORDS * 3))
    runs = [reward_scores_cached(model, enc, batch_size=b) for b in (1, 4, 7, 64)]
    for other in runs[1:]:
        assert_close(other, runs[0])
    fulls = [full(model, enc, batch_size=b) for b in (1, 5)]
    assert_close(fulls[0], fulls[1])


def test_left_and_right_padding_agree(chatml):
    tok, model = chatml
    enc = Conversation(tok).encode(PROMPT, strings(WORDS))
    right = full(model, enc, batch_size=8, padding_side="right")
    left = full(model, enc, batch_size=8, padding_side="left")
    single = full(model, enc, batch_size=1)
    assert_close(right, left)
    assert_close(right, single)


def test_token_responses_are_inserted_exactly(chatml):
    tok, _ = chatml
    vocab = vocabulary(tok)
    conv = Conversation(tok)
    enc = conv.encode(PROMPT, vocab)
    suffix = conv.suffix_ids(PROMPT)
    for i, tid in enumerate(vocab.token_ids):
        assert enc.blocks[i] == [tid, *suffix]
        assert enc.full(i) == conv.prefix_ids(PROMPT) + [tid] + suffix
    # ids whose decoded text re-encodes to something else are kept as they are, with id, raw and decoded text
    round_trip_changes = [i for i in vocab.token_ids if tok(vocab.text[i], add_special_tokens=False).input_ids != [i]]
    assert round_trip_changes
    frame = vocab.frame()
    assert list(frame.columns) == ["response", "token_id", "token"]
    assert frame.token_id.tolist() == list(range(len(tok)))
    assert frame.token.tolist() == tok.convert_ids_to_tokens(list(range(len(tok))))


def test_end_of_turn_candidate_is_pooled_at_its_last_real_token(chatml):
    """SmolLM2's pad id is its end-of-turn token: pooling must not search for the pad id."""
    tok, model = chatml
    assert tok.pad_token_id == tok.eos_token_id == tok.convert_tokens_to_ids("<|im_end|>")
    ids = [tok.eos_token_id, tok.pad_token_id, 80, tok.convert_tokens_to_ids("<|im_start|>")]
    conv = Conversation(tok, end_of_turn=False)  # blocks end in the candidate itself, here often the pad id
    enc = conv.encode_tokens(PROMPT, ids)
    cached = reward_scores_cached(model, enc, batch_size=4)
    singles = np.array([reward_scores_full(model, [enc.full(i)], batch_size=1)[0] for i in range(len(ids))])
    assert_close(cached, singles)


def test_one_bos_never_two():
    tok = gemma_tokenizer()  # adds <bos> itself and its template writes {{ bos_token }}
    bos = tok.bos_token_id
    prefix = Conversation(tok).prefix_ids(PROMPT)
    assert prefix[0] == bos and prefix[1] != bos
    enc = Conversation(tok).encode(PROMPT, strings(WORDS))
    assert all(enc.full(i).count(bos) == 1 for i in range(len(WORDS)))
    # a template that writes no BOS: rmnb adds exactly one, because this tokenizer always uses one
    no_bos = gemma_tokenizer(template="{% for m in messages %}<start_of_turn>{{ m['role'] }}\n{{ m['content'] }}"
                                      "<end_of_turn>\n{% endfor %}")
    prefix = Conversation(no_bos).prefix_ids(PROMPT)
    assert prefix[0] == bos and prefix.count(bos) == 1
    # the authors' text pipeline (render as text, tokenize with default special tokens) gets a second BOS
    text = facct_texts(tok, PROMPT, ["Love"])[0]
    ids = tok(text).input_ids
    assert ids[:2] == [bos, bos]


def test_no_chat_template_is_a_clear_error():
    tok = gemma_tokenizer(template=None)
    with pytest.raises(RmnbError, match="no chat template"):
        Conversation(tok)
    Conversation(tok, mode="raw")  # raw prompts need no template


def test_authors_pipeline_matches_where_tokens_round_trip(chatml):
    tok, model = chatml
    ids = list(range(len(tok)))
    texts = facct_texts(tok, PROMPT, decode_tokens(tok, ids))
    authors = score_texts(model, tok, texts, batch_size=32)
    ours = reward_scores_cached(model, Conversation(tok).encode_tokens(PROMPT, ids))
    same = [i for i, t in enumerate(texts) if tok(t).input_ids == Conversation(tok).encode_tokens(PROMPT, [i]).full(0)]
    assert len(same) > len(ids) // 2
    assert_close(authors[same], ours[same])


def test_head_types_shapes_and_direction(chatml):
    """Each way of reading a score gives one value per row, and a head aimed at 'chosen' ranks it first."""
    tok, model = chatml
    backbone, head = split_reward_model(model)
    assert supports_prefix_reuse(model) and head.out_features == 1
    conv = Conversation(tok)
    enc = conv.encode(PROMPT, strings(["Love", "War"]))
    with torch.no_grad():
        hidden = [backbone(input_ids=torch.tensor([enc.full(i)])).last_hidden_state[0, -1] for i in range(2)]
        saved = head.weight.clone()
        head.weight.copy_((hidden[0] - hidden[1])[None])
        chosen, rejected = reward_scores_cached(model, enc)
        head.weight.copy_(saved)
    assert chosen > rejected
    logits = torch.tensor([[1.5, -2.0], [0.5, 3.0]])
    assert read_score(logits[:, :1]).tolist() == [1.5, 0.5]
    assert read_score(logits, "logits_first").tolist() == [1.5, 0.5]

    class Out:
        score = torch.tensor([[0.25], [-1.0]])

    assert read_score(Out(), "score_attr").tolist() == [0.25, -1.0]
    assert not supports_prefix_reuse(causal_model(llama_config(tok)))


def test_grouped_scores_equal_full_and_share_prefixes(chatml):
    """Whole sequences scored in groups that share a question (preference pairs) equal the plain computation; a
    sequence that shares nothing stays alone, and every group member keeps at least one token of its own."""
    from rmnb.inference.reward import reward_scores_grouped, shared_prefix_groups

    tok, model = chatml
    conv = Conversation(tok)
    seqs = [conv.encode(q, strings(WORDS)).full(i) for q in (PROMPT, "Name the worst thing.") for i in range(4)]
    seqs.append(tok("unrelated text").input_ids)
    groups = shared_prefix_groups(seqs)
    shared = [g for g in groups if g[1]]
    assert len(shared) == 2 and sorted(len(m) for m, _ in shared) == [4, 4]
    assert [m for m, p in groups if not p] == [[len(seqs) - 1]]
    assert all(len(p) < len(seqs[i]) for m, p in shared for i in m)
    assert_close(reward_scores_grouped(model, seqs, batch_size=3), reward_scores_full(model, seqs, batch_size=1))


def test_a_lora_wrapped_model_scores_through_the_prefix_path(chatml):
    """During training the model is a PEFT wrapper (LoRA layers in place, the head in PEFT's wrapper): the
    prefix path must use the adapter and the trained head copy, and equal the wrapper's own forward pass."""
    import copy

    from peft import LoraConfig, TaskType, get_peft_model

    from rmnb.inference.reward import reward_scores_grouped

    tok, base = chatml
    model = get_peft_model(copy.deepcopy(base), LoraConfig(task_type=TaskType.SEQ_CLS, r=4,
                                                           target_modules=["q_proj", "v_proj"]))
    torch.manual_seed(1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name or "modules_to_save" in name:
                p.normal_(0, 0.5)  # an adapter and a head copy that really change the scores
    model.eval()
    assert split_reward_model(model) is not None
    conv = Conversation(tok)
    seqs = [conv.encode(PROMPT, strings(WORDS)).full(i) for i in range(4)]
    with torch.no_grad():
        own = [float(model(input_ids=torch.tensor([s])).logits[0, 0]) for s in seqs]
        plain = [float(base(input_ids=torch.tensor([s])).logits[0, 0]) for s in seqs]
    assert_close(reward_scores_grouped(model, seqs, batch_size=2), own)
    assert np.abs(np.array(own) - np.array(plain)).max() > 1e-3
