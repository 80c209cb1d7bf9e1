"""Exhaustive single-token search: the FAccT authors' method vs rmnb's prefix-reuse scorer, in one process.

    python benchmarks/scoring_speed.py                                  # SmolLM2 RM, fp32 and bf16, CPU
    python benchmarks/scoring_speed.py --model gemma3-270m --n 256
    python benchmarks/scoring_speed.py --device cuda --batch-size 256 --n 4096

Both methods score the same candidates (vocabulary ids spread evenly over the whole vocabulary) with the same
model, batch size and dtype:

(i)  the authors' method: decode each token, render the chat template as text, tokenize the batch with padding
     and default special tokens, full forward pass of every candidate's whole conversation;
(ii) rmnb through a key/value cache: the prompt's prefix run once, each candidate = its token id + the template's
     closing tokens, batched against the cached keys/values (copied into every row by the cache);
(iii) rmnb's prefix attention: the same, reading the prefix's keys/values in place
     (:mod:`rmnb.inference.prefix_attention`).

The two are timed alternately (``--repeats`` rounds; the best round of each is reported, since noise from other
processes only ever slows a round down). Scores must agree wherever the authors' decode -> re-encode round trip
gives back the same token sequence; the candidates where it does not are counted (there the authors score a
different sequence, which is the point of inserting ids). The script also times whole-vocabulary log-probs
(one forward pass) for the embedded language models. A language model loaded as a reward model gets a seeded
fresh score head (the benchmark is about speed and agreement, not about the scores' meaning).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch is imported; see rmnb.cli
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from rmnb.base.device import describe_device, synchronize  # noqa: E402
from rmnb.inference.job import conversation_for  # noqa: E402
from rmnb.inference.language_model import next_token_logprobs  # noqa: E402
from rmnb.inference.responses import Conversation  # noqa: E402
from rmnb.inference.reward import decode_tokens, facct_texts, reward_scores_cached, score_texts  # noqa: E402
from rmnb.models.loading import load_model  # noqa: E402

PROMPT = "What, in one word, is the greatest thing ever?"


def timed(fn, device):
    synchronize(device)
    start = time.perf_counter()
    result = fn()
    synchronize(device)
    return result, time.perf_counter() - start


def compare(model_id: str, dtype: str, device: str, n: int, batch_size: int, repeats: int) -> dict:
    rm = load_model(model_id, "reward", dtype=dtype, device=device)
    tok, model = rm.tokenizer, rm.model
    vocab_size = len(tok)
    ids = np.unique(np.linspace(0, vocab_size - 1, n).round().astype(int)).tolist()
    conv = Conversation(tok)

    def authors():
        texts = facct_texts(tok, PROMPT, decode_tokens(tok, ids))
        return score_texts(model, tok, texts, batch_size=batch_size, score_output=rm.spec.score_output)

    def rmnb():
        return reward_scores_cached(model, conv.encode_tokens(PROMPT, ids), batch_size=batch_size,
                                    score_output=rm.spec.score_output)

    def rmnb_cache():  # the same prefix reuse through a key/value cache (rmnb before the prefix attention)
        return reward_scores_cached(model, conv.encode_tokens(PROMPT, ids), batch_size=batch_size,
                                    score_output=rm.spec.score_output, attention="cache")

    # warm-up (first-call allocations, kernel selection) on one batch each
    warm = ids[:batch_size]
    score_texts(model, tok, facct_texts(tok, PROMPT, decode_tokens(tok, warm)), batch_size=batch_size)
    reward_scores_cached(model, conv.encode_tokens(PROMPT, warm), batch_size=batch_size)

    times = {"authors": [], "rmnb_cache": [], "rmnb": []}
    for _ in range(repeats):
        a_scores, t = timed(authors, rm.device)
        times["authors"].append(t)
        c_scores, t = timed(rmnb_cache, rm.device)
        times["rmnb_cache"].append(t)
        r_scores, t = timed(rmnb, rm.device)
        times["rmnb"].append(t)

    # agreement where the authors' text pipeline yields the same token sequence as rmnb's id insertion
    texts = facct_texts(tok, PROMPT, decode_tokens(tok, ids))
    encoded = conv.encode_tokens(PROMPT, ids)
    same = np.array([tok(t).input_ids == encoded.full(i) for i, t in enumerate(texts)])
    diff = np.abs(a_scores - r_scores)
    best = {k: min(v) for k, v in times.items()}
    rate = {k: len(ids) / best[k] for k in best}
    return {
        "model": model_id, "dtype": rm.dtype_name, "device": describe_device(rm.device), "batch_size": batch_size,
        "n_candidates": len(ids), "vocab_size": vocab_size, "prefix_tokens": len(encoded.prefix),
        "closing_tokens": len(encoded.blocks[0]) - 1,
        "seconds": {k: [round(x, 3) for x in v] for k, v in times.items()},
        "cand_per_s": {k: round(v, 2) for k, v in rate.items()},
        "speedup": round(rate["rmnb"] / rate["authors"], 2),
        "speedup_attention": round(rate["rmnb"] / rate["rmnb_cache"], 2),
        "max_abs_diff_attention": float(np.abs(c_scores - r_scores).max()),
        "whole_vocab_minutes": {k: round(vocab_size / v / 60, 2) for k, v in rate.items()},
        "n_round_trip_identical": int(same.sum()),
        "max_abs_diff_identical": float(diff[same].max()) if same.any() else None,
        "max_abs_diff_all": float(diff.max()),
        "spearman_all": float(_spearman(a_scores, r_scores)),
    }


def _spearman(a, b) -> float:
    from scipy.stats import spearmanr

    return spearmanr(a, b).statistic


def logprob_speed(model_id: str, dtype: str, device: str, repeats: int = 5) -> dict:
    lm = load_model(model_id, "lm", dtype=dtype, device=device)
    prefix = conversation_for(lm, "logprob").prefix_ids(PROMPT)
    next_token_logprobs(lm.model, prefix)  # warm-up
    runs = [timed(lambda: next_token_logprobs(lm.model, prefix), lm.device)[1] for _ in range(repeats)]
    return {"model": model_id, "dtype": lm.dtype_name, "vocab_size": int(lm.model.config.vocab_size),
            "prefix_tokens": len(prefix), "seconds_best": round(min(runs), 4),
            "seconds_median": round(statistics.median(runs), 4)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="smollm2-135m-instruct")
    ap.add_argument("--dtypes", default="float32,bfloat16", help="comma-separated dtypes to compare in")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--n", type=int, default=384, help="candidates (vocabulary ids spread over the vocabulary)")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=2, help="alternating timing rounds per method")
    ap.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    ap.add_argument("--logprob-models", default="smollm2-135m-instruct,gemma3-270m",
                    help="embedded LMs whose whole-vocabulary log-prob pass is timed ('' to skip)")
    ap.add_argument("--json", help="also write the results to this JSON file")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    results = {"machine": {"platform": platform.platform(), "python": platform.python_version(),
                           "torch": torch.__version__, "threads": torch.get_num_threads(),
                           "cpu_count": os.cpu_count(), "loadavg_start": _loadavg()},
               "reward": [], "logprob": []}
    for dtype in [d for d in args.dtypes.split(",") if d]:
        r = compare(args.model, dtype, args.device, args.n, args.batch_size, args.repeats)
        results["reward"].append(r)
        print(f"\n{r['model']} reward, {r['dtype']}, batch {r['batch_size']}, {r['n_candidates']} candidates, "
              f"{r['device']}")
        print(f"  authors' method: {r['cand_per_s']['authors']:8.1f} cand/s -> whole vocabulary "
              f"({r['vocab_size']:,}) in {r['whole_vocab_minutes']['authors']:.1f} min")
        print(f"  rmnb, prefix via KV cache: {r['cand_per_s']['rmnb_cache']:8.1f} cand/s -> whole vocabulary in "
              f"{r['whole_vocab_minutes']['rmnb_cache']:.1f} min")
        print(f"  rmnb, prefix attention: {r['cand_per_s']['rmnb']:8.1f} cand/s -> whole vocabulary in "
              f"{r['whole_vocab_minutes']['rmnb']:.1f} min")
        print(f"  speed-up {r['speedup']:.1f}x over the authors' method, {r['speedup_attention']:.2f}x over the cache "
              f"path (max |diff| {r['max_abs_diff_attention']:.1e}); prefix {r['prefix_tokens']} tokens, candidate "
              f"= 1 + {r['closing_tokens']} closing tokens")
        identical = r["max_abs_diff_identical"]
        print(f"  agreement: max |diff| {'n/a' if identical is None else f'{identical:.2e}'} on the "
              f"{r['n_round_trip_identical']} "
              f"candidates whose decode->re-encode round trip is exact; over all {r['n_candidates']}: max "
              f"{r['max_abs_diff_all']:.3g}, Spearman {r['spearman_all']:.4f}")
    for model_id in [m for m in args.logprob_models.split(",") if m]:
        lp = logprob_speed(model_id, "float32", args.device)
        results["logprob"].append(lp)
        print(f"\n{model_id} whole-vocabulary log-probs ({lp['vocab_size']:,} tokens, one forward pass of "
              f"{lp['prefix_tokens']} tokens): best {lp['seconds_best']:.3f} s, median {lp['seconds_median']:.3f} s")
    results["machine"]["loadavg_end"] = _loadavg()
    print(f"\nmachine: {results['machine']}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2)
    return 0


def _loadavg():
    try:
        return os.getloadavg()
    except OSError:
        return None


if __name__ == "__main__":
    raise SystemExit(main())
