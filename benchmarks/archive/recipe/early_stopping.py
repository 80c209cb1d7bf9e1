"""Early stopping on a validation split, measured on finished lever runs (the lever "more epochs, with early stopping
on a validation split"):

    python benchmarks/archive/recipe/early_stopping.py --lever epochs_2 --base gemma3-270m --seed 1
    python benchmarks/archive/recipe/early_stopping.py --report

A lever run (``levers.py`` beside it, trained first if the cache lacks it) saved its adapter every 20 steps. Each
checkpoint is scored on a validation split and on the run's 400 test pairs; early stopping keeps the checkpoint
with the best validation accuracy (the earliest, on a tie), which is also how the paper's authors pick their final
checkpoint (the best by evaluation accuracy). Reported: that step, its test accuracy, and the last checkpoint's.

**The validation split** is the next :data:`VALIDATION_PAIRS` pairs of the separate held-out part, after the 400
test pairs: new questions x new words, like the test pairs and disjoint from them as pairs, but drawn from the same
held-out questions and words. Only the choice of one checkpoint (of at most 14) is fitted on it. A validation part
carved from the *training* questions and words would be stricter; it needs a third part in
:mod:`rmnb.data.valence` (not built). Results go to ``early_stopping.json`` beside it.
"""

from __future__ import annotations

import argparse
import os
from datetime import datetime, timezone
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from levers import RMS, add_run_arguments, lever_run, load, record  # noqa: E402

from rmnb.models import registry  # noqa: E402
from rmnb.training import trained  # noqa: E402
from rmnb.training.checkpoint_scores import checkpoint_model  # noqa: E402
from rmnb.training.preparation import encode_pairs, load_base  # noqa: E402
from rmnb.training.recipe import split_for  # noqa: E402
from rmnb.training.reward_model import pair_scores  # noqa: E402

RESULTS = Path(__file__).with_name("early_stopping.json")
VALIDATION_PAIRS = 256   # held-out pairs after the test pairs, used only to choose the checkpoint


def splits(rm_id: str, settings):
    """(validation, test) pairs of a valence run: the test pairs are the run's own held-out pairs."""
    source = registry.trained_recipe(rm_id).data
    held_all = trained.heldout_for(source)
    _, test = split_for(trained.data_for(settings, source), settings, held_all)
    after = held_all.pair_ids[len(test):len(test) + VALIDATION_PAIRS]
    return held_all.subset(after, f"{held_all.name}/validation{len(after)}"), test


def measure(lever: str, base: str, seed: int) -> dict:
    rm_id = RMS[base]
    run = lever_run(lever, base, seed)
    settings = run.settings
    validation, test = splits(rm_id, settings)
    if set(validation.pair_ids) & set(test.pair_ids):
        raise AssertionError("validation and test pairs overlap")
    loaded = load_base(base, settings)
    enc_val, enc_test = (encode_pairs(p, loaded.tokenizer, settings.max_length) for p in (validation, test))
    rows = []
    for step, folder in run.checkpoints:
        model = checkpoint_model(loaded, folder)
        rows.append({"step": step, "validation": float(pair_scores(model, enc_val).correct.mean()),
                     "test": float(pair_scores(model, enc_test).correct.mean())})
        del model
        print(rows[-1], flush=True)
    best = max(rows, key=lambda r: (r["validation"], -r["step"]))  # the earliest of the best
    return {"lever": lever, "base": base, "seed": seed, "steps": run.manifest["plan"]["steps"],
            "validation_pairs": len(validation), "test_pairs": len(test), "selected_step": best["step"],
            "selected_test": best["test"], "selected_validation": best["validation"], "last_test": rows[-1]["test"],
            "checkpoints": rows, "measured": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def report(rows: list[dict]) -> str:
    lines = ["| lever | base | seed | steps | stopped at | its test acc. | last test acc. | difference |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['lever']} | {r['base']} | {r['seed']} | {r['steps']} | {r['selected_step']} | "
                     f"{r['selected_test']:.3f} | {r['last_test']:.3f} | {r['selected_test'] - r['last_test']:+.3f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_run_arguments(parser)
    args = parser.parse_args(argv)
    if args.report or not args.lever:
        print(report(load(RESULTS)))
        return 0
    row = measure(args.lever, args.base, args.seed)
    record(row, RESULTS)
    print(report([row]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
