"""The committed value-neutral reward models, as measured when they were trained: held-out accuracy (overall and
per framing, step 0 and final), training time and the learning curve, from the manifests under data/rms/.

    python benchmarks/archive/recipe/valence_report.py            # a table per RM
    python benchmarks/archive/recipe/valence_report.py --json     # the same as JSON

Training itself is `rmnb train-embedded smollm2-135m-valence-rm gemma3-270m-valence-rm --seeds 1 2 3 --export`;
this script only reads what that command recorded (the machine is in each manifest's `device`).
"""

from __future__ import annotations

import argparse
import json

from rmnb.analysis.value_neutral import FLOOR, GOAL
from rmnb.models.registry import EMBEDDED_RMS
from rmnb.training import committed


def rows() -> list[dict]:
    out = []
    for rm in EMBEDDED_RMS:
        for m in committed.manifests(rm):
            held = m["heldout"]
            framing = held.get("by_framing", {}).get("final", {})
            curve = {r["step"]: round(r["accuracy"], 3) for r in m.get("curve", [])}
            out.append({"rm": rm, "seed": m["seed"], "step0": round(held["step0"]["accuracy"], 3),
                        "final": round(held["final"]["accuracy"], 3),
                        **{f: round(v["accuracy"], 3) for f, v in framing.items()},
                        "p": held["final"]["p_vs_chance"], "n": held["final"]["n"],
                        "train_s": round(m["timings_s"]["train"]), "total_s": round(m["timings_s"]["total"]),
                        "curve": curve, "device": m["device"]})
            out[-1]["meets"] = ("goal" if out[-1]["final"] >= GOAL["overall"] and _floor(out[-1]) else
                                "floor" if _floor(out[-1]) else "neither")
    return out


def _floor(row: dict) -> bool:
    return (row["final"] >= FLOOR["overall"] and row["p"] < FLOOR["p"]
            and all(row.get(f, 0) >= FLOOR["framing"] for f in ("positive", "negative")))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    table = rows()
    if args.json:
        print(json.dumps(table, indent=1))
        return 0
    print(f"floor: {FLOOR['overall']} overall, {FLOOR['framing']} per framing, p < {FLOOR['p']:g}; "
          f"goal: {GOAL['overall']} overall")
    print("| RM | seed | step 0 | final | positive | negative | p | meets | train (s) | total (s) | curve (step: acc) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in table:
        curve = ", ".join(f"{k}: {v}" for k, v in r["curve"].items())
        print(f"| {r['rm']} | {r['seed']} | {r['step0']} | {r['final']} | {r.get('positive')} | {r.get('negative')} "
              f"| {r['p']:.1g} | {r['meets']} | {r['train_s']} | {r['total_s']} | {curve} |")
    if table:
        print(f"\nmachine: {table[0]['device']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
