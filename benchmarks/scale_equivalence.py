"""Scale equivalence: one process vs 3 shards (3 `rmnb score --shard K/3` processes at once) vs a
4-worker local Ray instance, on the same job; prints the max |difference| of the scores and each run's wall time.

    python benchmarks/scale_equivalence.py                             # smollm2-135m-hh-rm, Big Two x paper54
    python benchmarks/scale_equivalence.py --model smollm2-135m-instruct --random-head --json eq.json

Every run writes its own results root below ``--out`` (default: a temporary folder).
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

import numpy as np  # noqa: E402

from rmnb.data.store import read_results  # noqa: E402
from rmnb.data.units import check_runs  # noqa: E402


def rmnb_score(args, out: Path, *extra: str) -> list[str]:
    cmd = [sys.executable, "-m", "rmnb", "score", "--model", args.model, "--responses", args.responses,
           "--prompts", args.prompts, "--out", str(out), "--quiet", *extra]
    return cmd + (["--kind", "reward", "--random-head"] if args.random_head else [])


def scores(out: Path):
    frame = read_results(out)
    assert all(not p for p in check_runs(out).values()), check_runs(out)
    return frame.sort_values(["prompt_id", "response"])["score"].to_numpy()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="smollm2-135m-hh-rm")
    ap.add_argument("--random-head", action="store_true", help="a language model scored with a random head")
    ap.add_argument("--responses", default="big-two")
    ap.add_argument("--prompts", default="paper54")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="rmnb-equiv-"))
    times, load_start = {}, os.getloadavg()[0]

    start = time.perf_counter()
    subprocess.run(rmnb_score(args, out / "one", "--threads", "2"), check=True)
    times["one process (2 threads)"] = time.perf_counter() - start

    start = time.perf_counter()
    procs = [subprocess.Popen(rmnb_score(args, out / "shards", "--threads", "1", "--shard", f"{k}/3"))
             for k in range(3)]
    assert all(p.wait() == 0 for p in procs)
    times["3 shards at once (1 thread each)"] = time.perf_counter() - start

    start = time.perf_counter()
    subprocess.run(rmnb_score(args, out / "ray", "--executor", "ray", "--workers", "4"), check=True)
    times["local Ray, 4 workers"] = time.perf_counter() - start

    one = scores(out / "one")
    result = {"model": args.model, "random_head": args.random_head, "responses": args.responses,
              "prompts": args.prompts, "rows": int(len(one)), "cpus": os.cpu_count(),
              "load_average_start": load_start, "wall_s": {k: round(v, 1) for k, v in times.items()}}
    for name in ("shards", "ray"):
        other = scores(out / name)
        result[f"max_abs_diff_{name}"] = float(np.max(np.abs(other - one)))
    result["load_average_end"] = os.getloadavg()[0]
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0 if max(result["max_abs_diff_shards"], result["max_abs_diff_ray"]) <= 1e-5 else 1


if __name__ == "__main__":
    sys.exit(main())
