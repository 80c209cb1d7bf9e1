"""Conversations (rmnb.inference.responses): the authors' BOS rule (``bos="authors"``: two BOS for Gemma/Llama-like
tokenizers) against rmnb's single BOS."""

import numpy as np
import pytest

from _tiny import (
    PROMPT,
    WORDS,
    assert_close,
    chatml_tokenizer,
    gemma_tokenizer,
)
from rmnb.base.errors import RmnbError
from rmnb.inference.responses import Conversation, strings
from rmnb.inference.reward import (
    decode_tokens,
    facct_texts,
    reward_scores_cached,
    reward_scores_full,
    score_texts,
    text_inputs,
)


def _rows(batch):
    return [[int(t) for t, m in zip(ids, mask) if m] for ids, mask in zip(batch["input_ids"], batch["attention_mask"])]


def test_authors_mode_reads_two_bos_single_mode_one():
    tok = gemma_tokenizer()  # the template writes {{ bos_token }} and the tokenizer adds <bos> itself
    bos = tok.bos_token_id
    authors = Conversation(tok, bos="authors").encode(PROMPT, strings(WORDS))
    single = Conversation(tok).encode(PROMPT, strings(WORDS))
    for i in range(len(WORDS)):
        assert authors.full(i)[:2] == [bos, bos] and authors.full(i).count(bos) == 2
        assert single.full(i).count(bos) == 1
        assert authors.full(i)[1:] == single.full(i)  # the only difference is the extra BOS
    # exactly the authors' call: render as text, tokenizer(texts, truncation=True) with default special tokens
    texts = facct_texts(tok, PROMPT, WORDS)
    theirs = tok(texts, truncation=True).input_ids
    assert [authors.full(i) for i in range(len(WORDS))] == [list(x) for x in theirs]


def test_authors_mode_decodes_vocabulary_ids_like_the_authors():
    tok = gemma_tokenizer()
    ids = [i for i in range(len(tok)) if i not in tok.all_special_ids][:40]
    enc = Conversation(tok, bos="authors").encode_tokens(PROMPT, ids)
    theirs = tok(facct_texts(tok, PROMPT, [tok.decode([i]) for i in ids]), truncation=True).input_ids
    assert [enc.full(i) for i in range(len(ids))] == [list(x) for x in theirs]


def test_without_bos_the_two_modes_are_identical():
    tok = chatml_tokenizer()  # adds no BOS; its template writes none
    authors = Conversation(tok, bos="authors").encode(PROMPT, strings(WORDS))
    single = Conversation(tok).encode(PROMPT, strings(WORDS))
    assert [authors.full(i) for i in range(len(WORDS))] == [single.full(i) for i in range(len(WORDS))]
    texts = facct_texts(tok, PROMPT, WORDS)
    assert _rows(text_inputs(tok, texts, "authors")) == _rows(text_inputs(tok, texts, "single"))


def test_text_inputs_bos_rule_and_padding():
    tok = gemma_tokenizer()
    bos = tok.bos_token_id
    texts = facct_texts(tok, PROMPT, WORDS)
    two, one = _rows(text_inputs(tok, texts, "authors")), _rows(text_inputs(tok, texts, "single"))
    assert all(r[:2] == [bos, bos] for r in two) and all(r.count(bos) == 1 for r in one)
    assert [r[1:] for r in two] == one
    assert text_inputs(tok, texts, "authors")["input_ids"].shape[1] == max(len(r) for r in two)  # padded
    with pytest.raises(ValueError):
        text_inputs(tok, texts, "double")


def test_bos_mode_is_validated_and_recorded_only_when_not_default():
    tok = gemma_tokenizer()
    with pytest.raises(RmnbError, match="bos"):
        Conversation(tok, bos="twice")
    assert "bos" not in Conversation(tok).describe()  # existing results keep their content keys
    assert Conversation(tok, bos="authors").describe()["bos"] == "authors"


def test_score_texts_single_equals_rmnb_scoring_and_authors_differs(tiny_gemma_rm):
    tok, model = tiny_gemma_rm
    texts = facct_texts(tok, PROMPT, WORDS)
    single = score_texts(model, tok, texts, batch_size=4, bos="single")
    enc = Conversation(tok).encode(PROMPT, strings(WORDS))
    assert_close(single, reward_scores_cached(model, enc, batch_size=4))
    authors = score_texts(model, tok, texts, batch_size=4)  # the default: the authors' exact call
    enc2 = Conversation(tok, bos="authors").encode(PROMPT, strings(WORDS))
    assert_close(authors, reward_scores_full(model, [enc2.full(i) for i in range(len(WORDS))], batch_size=4))
    assert not np.allclose(authors, single)
    assert decode_tokens(tok, [tok.bos_token_id]) == [tok.bos_token]


def test_score_threads_bos_and_keys_it_only_when_not_the_default(tiny_gemma_rm, tmp_path):
    import rmnb.inference.job as job
    from rmnb.data.store import read_results
    from rmnb.models.loading import wrap_model

    tok, model = tiny_gemma_rm
    rm = wrap_model(model, tok, model_id="tiny-org/tiny-gemma-rm", revision="r1")
    prompts = {"greatest_ever_one": PROMPT}
    default = job.score(rm, prompts, WORDS, out=tmp_path, progress=False)
    single = job.score(rm, prompts, WORDS, out=tmp_path, progress=False, bos="single")
    authors = job.score(rm, prompts, WORDS, out=tmp_path, progress=False, bos="authors")
    assert default == single  # the default is not part of the key: stored runs keep theirs
    assert authors != default
    a, d = read_results(authors), read_results(default)
    assert not np.allclose(a.score.to_numpy(), d.score.to_numpy())  # the second BOS changes the scores
    with pytest.raises(RmnbError):
        job.score(rm, prompts, WORDS, out=tmp_path, progress=False, bos="double")


def test_score_cli_has_a_bos_flag():
    from rmnb import cli

    assert cli.build_parser().parse_args(["score", "--model", "x", "--bos", "authors"]).bos == "authors"
    assert cli.build_parser().parse_args(["score", "--model", "x"]).bos == "single"
