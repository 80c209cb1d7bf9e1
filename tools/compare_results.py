"""Compare every value of two results folders (``_build/results`` of two book builds), timings aside.

    python tools/compare_results.py BEFORE_DIR AFTER_DIR

A refactor must leave every value equal: build the default book before and after, copy each ``_build/results``
away, and run this. Values are compared exactly (NaN equals NaN), nested lists and dicts value by value; keys whose
name says they are a timing (:data:`TIMING_KEYS`) are skipped and listed. Exit status 1 when anything differs.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

TIMING_KEYS = {"seconds", "search_seconds", "logprob_seconds", "sft_seconds", "score_wall_s", "train_wall_s", "train_timings_s",
               "vn_wall_s", "vn_timings_s", "live_wall_s", "tokens_per_s", "full_prompt_minutes", "full_minutes_sentence"}


def differences(a, b, path: str, out: list[str]) -> None:
    """Append to ``out`` one line per value that differs between ``a`` and ``b``."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if key in TIMING_KEYS:
                continue
            if key not in a or key not in b:
                out.append(f"{path}/{key}: only {'after' if key not in a else 'before'}")
            else:
                differences(a[key], b[key], f"{path}/{key}", out)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            out.append(f"{path}: {len(a)} vs {len(b)} items")
        for i, (x, y) in enumerate(zip(a, b)):
            differences(x, y, f"{path}[{i}]", out)
    elif isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return
    elif a != b:
        out.append(f"{path}: {a!r} vs {b!r}")


def main(argv: list[str]) -> int:
    before, after = Path(argv[0]), Path(argv[1])
    total = 0
    for path in sorted(before.glob("*.json")):
        other = after / path.name
        if not other.exists():
            print(f"{path.name}: missing after")
            total += 1
            continue
        a, b = json.loads(path.read_text()), json.loads(other.read_text())
        out: list[str] = []
        differences(a, b, path.stem, out)
        skipped = sorted(TIMING_KEYS & set(a))
        print(f"{path.name}: {len(a)} values, {len(out)} differences" + (f" (skipped {skipped})" if skipped else ""))
        for line in out[:40]:
            print("   ", line)
        total += len(out)
    print(f"total differences: {total}")
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
