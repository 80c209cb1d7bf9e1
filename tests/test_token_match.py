"""Word-to-token matching (paper §3a) on the two embedded tokenizers, offline."""

import numpy as np
import pandas as pd
import pytest

from rmnb.base.errors import RmnbError
from rmnb.data import lexicons
from rmnb.inference import token_match

MODELS = ("gemma3-270m", "smollm2-135m-instruct")


@pytest.fixture(scope="module")
def tokenizers(data_dir):
    from rmnb.models.loading import load_tokenizer

    return {m: load_tokenizer(m) for m in MODELS}


@pytest.fixture(scope="module")
def vocabs(tokenizers):
    return {m: token_match.vocab_table(t) for m, t in tokenizers.items()}


@pytest.fixture(scope="module")
def nouns(data_dir):
    return lexicons.big_two_nouns()


def test_vocab_tables(vocabs, tokenizers):
    assert len(vocabs["gemma3-270m"]) == 262144 and len(vocabs["smollm2-135m-instruct"]) == 49152
    for m, v in vocabs.items():
        assert list(v.token_id[:3]) == [0, 1, 2]
        love = tokenizers[m]("love", add_special_tokens=False).input_ids
        assert v.token_decoded[love[0]] == "love"


def test_strict_match_is_the_papers_rule(vocabs, tokenizers, nouns):
    strict = token_match.strict_match(nouns, vocabs)
    terms = set(strict.term)
    # a regression value for the pinned tokenizers (the paper's count for its own pair is not reported)
    assert len(terms) == 66
    assert strict.groupby("term").model.nunique().eq(2).all()  # in both vocabularies
    assert all(t == t.lower() and " " not in t and "-" not in t for t in terms)
    assert not {"common good", "self-control"} & terms
    for row in strict.itertuples():
        # the early notebook's check: each kept noun tokenizes to exactly one token (after BOS)
        assert tokenizers[row.model](row.term, add_special_tokens=False).input_ids == [row.token_id]
    assert {"love", "freedom"} <= terms


def test_broad_match_adds_case_and_space_variants(vocabs, nouns):
    strict = token_match.strict_match(nouns, vocabs)
    broad = token_match.broad_match(nouns, vocabs)
    assert set(strict.term) <= set(broad.term) and broad.term.nunique() > strict.term.nunique()
    love = set(broad.loc[broad.term == "love", "variant"])
    assert {"love", "Love", " love", " Love"} <= love
    assert token_match.variants("love") == ["love", "Love", "LOVE", " love", " Love", " LOVE"]
    summary = token_match.summary(nouns, strict, broad).set_index("category")
    assert summary.loc["total", "lexicon"] == 263 and summary.loc["total", "strict"] == 66
    assert summary.loc["Agency", "strict"] + summary.loc["Communion", "strict"] == 66


def test_word_logprobs_average_variants():
    matches = pd.DataFrame({"term": ["love", "love", "duty"], "category": ["Communion", "Communion", "Agency"],
                            "variant": ["love", " love", "duty"], "model": ["m", "m", "m"], "token_id": [0, 1, 2]})
    values = np.log(np.array([[0.5, 0.25, 0.25], [0.1, 0.1, 0.8]]))
    out = token_match.word_logprobs(matches, {"m": values}, ["p1", "p2"]).set_index(["prompt_id", "term"])
    assert out.loc[("p1", "love"), "logprob"] == pytest.approx(np.mean(np.log([0.5, 0.25])))
    assert out.loc[("p2", "duty"), "logprob"] == pytest.approx(np.log(0.8))
    with pytest.raises(RmnbError):
        token_match.strict_match(pd.DataFrame({"term": [], "category": []}), {})
    # the log of the summed probability (chapter 03's exercise 3), stable where every variant is very unlikely
    summed = token_match.word_logprobs(matches, {"m": values}, ["p1", "p2"], agg="logsumexp")
    summed = summed.set_index(["prompt_id", "term"])
    assert summed.loc[("p1", "love"), "logprob"] == pytest.approx(np.log(0.75))
    assert summed.loc[("p2", "duty"), "logprob"] == pytest.approx(np.log(0.8))
    tiny = token_match.word_logprobs(matches, {"m": np.array([[-900.0, -900.0, -1.0]])}, ["p1"], agg="logsumexp")
    assert tiny.logprob.iloc[0] == pytest.approx(-900 + np.log(2))
    with pytest.raises(RmnbError, match="logsumexp"):
        token_match.word_logprobs(matches, {"m": values}, ["p1", "p2"], agg="max")


def test_duplicate_decodings_map_to_the_lowest_id():
    vocab = pd.DataFrame({"token_id": [5, 3, 9], "token_decoded": ["x", "x", "y"]})
    matched = token_match.strict_match(pd.DataFrame({"term": ["x", "y", "z"], "category": ["A", "A", "A"]}),
                                       {"m": vocab})
    assert dict(zip(matched.term, matched.token_id)) == {"x": 3, "y": 9}
