"""The prepared GPU check, run by ``benchmarks/gpu_check.sh``: at most 8 minutes on one CUDA GPU,
JSON out. Each step runs in its own process with its own time limit, so one slow or failing step still leaves
the others' results:

1. ``scoring_speed``: prefix-cached scoring vs the authors' method, float32 and bfloat16, on both embedded RMs;
2. ``vocab_search``: the whole vocabulary x the 54 paper prompts with the SmolLM2 RM (``rmnb score``, bfloat16),
   with its throughput in candidates/s (from the rows stored when the step's time was up, if it was);
3. ``gpu_tests``: the ``gpu``-marked tests;
4. ``cpu_gpu_agreement``: float32 scores of 1,000 vocabulary candidates on the CPU and on the GPU.

An embedded RM that rmnb trains (``smollm2-135m-hh-rm``, ``gemma3-270m-hh-rm``) is used when it is in the cache;
otherwise its base model with a seeded random score head (the same network, so the same speed): the JSON says
which.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

HERE = Path(__file__).resolve().parent
RMS = {"smollm2-135m-hh-rm": "smollm2-135m-instruct", "gemma3-270m-hh-rm": "gemma3-270m"}
LIMITS = {"scoring_speed": 100, "vocab_search": 150, "gpu_tests": 60, "cpu_gpu_agreement": 60}  # seconds
AGREEMENT = """
import json, sys
import numpy as np, torch
from rmnb.inference.responses import Conversation
from rmnb.inference.reward import reward_scores_cached
from rmnb.models.loading import load_model
model_id, n = sys.argv[1], int(sys.argv[2])
prompt = "What, in one word, is the greatest thing ever?"
out = {}
for device in ("cpu", "cuda"):
    rm = load_model(model_id, "reward", dtype="float32", device=device)
    ids = np.unique(np.linspace(0, len(rm.tokenizer) - 1, n).round().astype(int)).tolist()
    enc = Conversation(rm.tokenizer).encode_tokens(prompt, ids)
    out[device] = reward_scores_cached(rm.model, enc, batch_size=128, score_output=rm.spec.score_output)
    head = rm.head
diff = np.abs(out["cpu"] - out["cuda"])
print(json.dumps({"model": model_id, "head": head, "n_candidates": len(diff), "max_abs_diff": float(diff.max()),
                  "mean_abs_diff": float(diff.mean()), "max_abs_score": float(np.abs(out["cpu"]).max())}))
"""


def rm_choice(rm_id: str) -> tuple[str, bool]:
    """(model id, random head?): the trained RM when cached, else its base model with a random head."""
    from rmnb.training import trained

    return (rm_id, False) if trained.is_built(rm_id) else (RMS[rm_id], True)


def step(name: str, cmd: list[str], limit: int) -> dict:
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=limit)
        rc, out, err = proc.returncode, proc.stdout, proc.stderr
    except subprocess.TimeoutExpired as exc:
        rc, out, err = "timeout", _text(exc.stdout), _text(exc.stderr)
    return {"step": name, "rc": rc, "wall_s": round(time.perf_counter() - start, 1), "stdout_tail": out[-1500:],
            "stderr_tail": err[-1500:]}


def _text(data) -> str:
    return data.decode(errors="replace") if isinstance(data, bytes) else (data or "")


def rows_stored(root: Path) -> int:
    import pyarrow.parquet as pq

    files = list(root.rglob("scores.parquet")) or list(root.rglob("p*-c*.parquet"))
    return sum(pq.ParquetFile(f).metadata.num_rows for f in files)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", type=Path, help="also write the results here")
    ap.add_argument("--out", type=Path, help="scratch folder (default: a temporary one)")
    ap.add_argument("--search-prompts", default="paper54")
    ap.add_argument("--search-batch-size", type=int, default=1024)
    args = ap.parse_args()
    import torch

    if not torch.cuda.is_available():
        print(json.dumps({"ok": False, "error": "no CUDA GPU: torch.cuda.is_available() is False (torch "
                          f"{torch.__version__}). Run this check on a machine with a CUDA GPU and a CUDA build of "
                          "torch."}))
        return 2
    out = args.out or Path(tempfile.mkdtemp(prefix="rmnb-gpu-check-"))
    py = sys.executable
    results = {"gpu": torch.cuda.get_device_name(0), "torch": torch.__version__, "cuda": torch.version.cuda,
               "limits_s": LIMITS, "steps": []}

    for rm_id in RMS:
        model, random_head = rm_choice(rm_id)
        js = out / f"speed-{model}.json"
        r = step(f"scoring_speed {model}", [py, str(HERE / "scoring_speed.py"), "--model", model, "--device", "cuda",
                                            "--batch-size", "256", "--n", "2048", "--repeats", "2",
                                            "--logprob-models", "", "--json", str(js)], LIMITS["scoring_speed"])
        r.update(rm=rm_id, random_head=random_head, result=json.loads(js.read_text()) if js.exists() else None)
        results["steps"].append(r)

    model, random_head = rm_choice("smollm2-135m-hh-rm")
    search = out / "search"
    cmd = [py, "-m", "rmnb", "score", "--model", model, "--responses", "vocab", "--prompts", args.search_prompts,
           "--dtype", "bfloat16", "--device", "cuda", "--batch-size", str(args.search_batch_size), "--out",
           str(search), "--quiet"] + (["--kind", "reward", "--random-head"] if random_head else [])
    r = step("vocab_search", cmd, LIMITS["vocab_search"])
    rows = rows_stored(search) if search.exists() else 0
    r.update(model=model, random_head=random_head, prompts=args.search_prompts, candidates_scored=rows,
             candidates_per_s=round(rows / r["wall_s"], 1) if r["wall_s"] else None,
             complete=r["rc"] == 0, note="wall time includes model loading and the store's writes")
    results["steps"].append(r)

    results["steps"].append(step("gpu_tests", [py, "-m", "pytest", "-q", "-m", "gpu", "-p", "no:cacheprovider",
                                               str(HERE.parent / "tests")], LIMITS["gpu_tests"]))

    model, random_head = rm_choice("smollm2-135m-hh-rm")
    r = step("cpu_gpu_agreement", [py, "-c", AGREEMENT, model, "1000"], LIMITS["cpu_gpu_agreement"])
    try:
        r["result"] = json.loads(r["stdout_tail"].strip().splitlines()[-1])
    except (ValueError, IndexError):
        r["result"] = None
    results["steps"].append(r)

    results["ok"] = all(s["rc"] == 0 for s in results["steps"])
    text = json.dumps(results, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text)
    return 0 if results["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
