"""GPU checks (``pytest -m gpu``; run by benchmarks/gpu_check.sh): skipped without CUDA."""

import numpy as np
import pytest
import torch

import rmnb.inference.job as job
from _tiny import PROMPT, WORDS, chatml_tokenizer, llama_config, reward_model
from rmnb.data.store import read_results
from rmnb.inference.responses import Conversation, strings
from rmnb.inference.reward import reward_scores_cached
from rmnb.models.loading import wrap_model

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (torch.cuda.is_available())")]


def test_tiny_rm_cpu_and_gpu_agree():
    tok = chatml_tokenizer()
    model = reward_model(llama_config(tok))
    enc = Conversation(tok).encode(PROMPT, strings(WORDS))
    cpu = reward_scores_cached(model, enc, batch_size=4)
    gpu = reward_scores_cached(model.to("cuda"), enc, batch_size=4)
    np.testing.assert_allclose(gpu, cpu, rtol=1e-4, atol=1e-4)


def test_sharded_run_on_gpu_equals_one_process(tmp_path):
    tok = chatml_tokenizer()
    rm = wrap_model(reward_model(llama_config(tok)).to("cuda"), tok, model_id="tiny-org/tiny-rm", revision="r1")
    prompts = {"a": PROMPT, "b": "What is the worst thing?"}
    one = read_results(job.score(rm, prompts, WORDS, out=tmp_path / "one", progress=False, shard_size=3))
    for k in range(2):
        folder = job.score(rm, prompts, WORDS, out=tmp_path / "two", progress=False, shard_size=3, shard=f"{k}/2")
    two = read_results(folder)
    key = ["prompt_id", "response"]
    np.testing.assert_allclose(two.sort_values(key).score.to_numpy(), one.sort_values(key).score.to_numpy(),
                               atol=1e-6)
