"""What each lever of the value-neutral recipe buys: train a variant of a committed valence RM's recipe and compare
its held-out accuracy (400 pairs, new questions x new words) with the committed run of the same base and seed.

    python benchmarks/archive/recipe/levers.py --lever all_words --base gemma3-270m --seed 1
    python benchmarks/archive/recipe/levers.py --list      # the levers and what each changes
    python benchmarks/archive/recipe/levers.py --report    # the table of every measured lever run

Each run trains with the same machinery as `rmnb train-embedded` (``rmnb.training.trained.ensure`` with
``overrides``; cached, so a finished lever is not trained twice) and appends its result to ``levers.json`` beside
it: base, seed, the overrides, held-out accuracy overall and per framing, the committed recipe's accuracy for the same base and seed, the learning curve and the training time, with the machine. A lever
run is a measurement, not a new default: the committed adapters change only through `rmnb train-embedded --export`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from datetime import datetime, timezone
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402

from rmnb.base.device import cpu_name  # noqa: E402
from rmnb.models import registry  # noqa: E402
from rmnb.training import committed, settings, trained  # noqa: E402

RESULTS = Path(__file__).with_name("levers.json")
RMS = {"smollm2-135m-instruct": "smollm2-135m-valence-rm", "gemma3-270m": "gemma3-270m-valence-rm"}

# Each lever changes the committed recipe (the `valence` preset: all 4,096 framing-balanced pairs x 1 epoch = 256
# steps of 16, LoRA r 8 on q/k/v/o/gate/up/down of every layer, peak LR 5e-4, head LR 1e-3, 5% warm-up and cosine
# decay) in one respect. The recipe adopted the lever `more_words` (1,600 pairs x 1 epoch instead of 800 x 2), then
# `lora_mlp` (the MLP projections too), then `all_words_cosine`. Each row of levers.json compares with the recipe
# committed when it was measured ("recipe_accuracy"): the `more_words` rows with 800 x 2, the `lora_mlp` rows and
# those before them with attention-only LoRA, the later rows with MLP LoRA at 1,600 pairs and constant rates. Levers
# whose overrides the recipe now holds (`all_words`, `all_words_cosine`, `cosine`, `lora_mlp`) train the recipe
# itself; to measure them again, pin the old values in their overrides.
LEVERS = {
    "all_words": ({"n_train": 4096, "epochs": 1},
                  "every training pair once (4,096 pairs, 256 steps): all 1,819 training words"),
    "all_words_cosine": ({"n_train": 4096, "epochs": 1, "lr_scheduler": "cosine", "warmup_ratio": 0.05},
                         "every training pair once (256 steps) with a 5% warm-up and cosine decay instead of the "
                         "constant rates (all_words at a constant 5e-4 diverged; adopted: now the recipe's own "
                         "settings)"),
    "cosine": ({"lr_scheduler": "cosine", "warmup_ratio": 0.05},
               "the same 100 steps with a 5% warm-up and cosine decay instead of constant rates (the constant-rate "
               "curves swing by up to 0.4 between late checkpoints)"),
    "epochs_2": ({"epochs": 2}, "a second epoch (200 steps); the curve shows where held-out accuracy peaks"),
    "head_lr_5e-3": ({"head_lr": 5e-3}, "the score head's learning rate 5x higher"),
    "top_8_layers": ({"lora_top_layers": 8}, "LoRA on the top 8 layers only (the old cpu preset's choice)"),
    "lora_alpha_8": ({"lora_alpha": 8}, "LoRA alpha 8 instead of 16 (PEFT's default; a plain-PyTorch "
                                        "control's): half the LoRA update's scale"),
    "lora_mlp": ({"lora_targets": settings.ATTENTION_PROJECTIONS + settings.MLP_PROJECTIONS},
                 "LoRA on the MLP projections too (gate/up/down), not only attention: more capacity to move what "
                 "the base knows about words (adopted: now the recipe's own settings)"),
    "no_system_prompt": ({"default_system_prompt": False},
                         "the chat template without its default system message (SmolLM2's 19 tokens, the same in "
                         "every pair; 36 -> 15 tokens per pair, a shorter template); Gemma's writes none"),
}

# Levers that change which training pairs a run sees rather than a setting: (pairs, share of positive-framed
# pairs, what). Both draw from the recipe's 4,096 training pairs (2,048 per framing) with the same seeded rule
# (:func:`framing_sample`), so the two differ only in the framing mix; half the pairs (128 steps) leaves room for a
# 3:1 mix without repeating a pair. The held-out pairs are the recipe's (200 per framing).
FRAMING_LEVERS = {
    "half_balanced": (2048, 0.5, "2,048 of the training pairs, half of each framing (128 steps): the reference "
                                 "for half_3to1"),
    "half_3to1": (2048, 0.75, "2,048 of the training pairs, three positive-framed to one negative-framed "
                              "(128 steps): what balanced framings buy, against half_balanced"),
}


def framing_sample(pool, n: int, positive_share: float, seed: int):
    """A seeded sample of ``n`` pairs of ``pool`` (PreferenceData with a ``framing`` column), ``positive_share`` of
    them positive-framed, in id order."""
    rng = np.random.default_rng([seed, 11])
    frame = pool.frame
    n_pos = round(n * positive_share)
    picked = []
    for framing, k in (("positive", n_pos), ("negative", n - n_pos)):
        ids = frame.pair_id[frame.framing == framing].to_numpy()
        if k > len(ids):
            raise ValueError(f"{k} {framing}-framed pairs asked for; {pool.name} has {len(ids)}.")
        picked += [int(i) for i in ids[rng.permutation(len(ids))[:k]]]
    return pool.subset(sorted(picked), f"{pool.name}/positive{positive_share:g}-n{n}-seed{seed}")


def lever_spec(lever: str) -> tuple[dict, str]:
    """What a lever changes, as recorded in levers.json, and its description."""
    if lever in FRAMING_LEVERS:
        n, share, what = FRAMING_LEVERS[lever]
        return {"n_train": n, "positive_share": share}, what
    return LEVERS[lever]


def lever_run(lever: str, base: str, seed: int):
    """The training run of one lever (trained on first use, then read from the user cache)."""
    rm_id = RMS[base]
    if lever not in FRAMING_LEVERS:
        return trained.ensure(rm_id, seed=seed, overrides=LEVERS[lever][0], variant=f"lever-{lever}")
    n, share, _ = FRAMING_LEVERS[lever]
    recipe = registry.trained_recipe(rm_id)
    run_settings = trained.recipe_settings(rm_id, seed).with_overrides(n_train=n)  # n = the sample: all of it
    data = framing_sample(trained.data_for(run_settings, recipe.data), n, share, seed)
    return trained.train_or_load(recipe.base_id, run_settings, data=data, heldout=trained.heldout_for(recipe.data),
                                 name=f"{rm_id}-lever-{lever}")


def run(lever: str, base: str, seed: int) -> dict:
    overrides, what = lever_spec(lever)
    rm_id = RMS[base]
    result = lever_run(lever, base, seed)
    held = result.manifest["heldout"]
    reference = next((m for m in committed.manifests(rm_id) if m["seed"] == seed), None)
    return {"lever": lever, "what": what, "base": base, "seed": seed, "overrides": overrides,
            "run_key": result.folder.name,  # a run's cache folder is named by its run key
            "accuracy": held["final"]["accuracy"],
            "by_framing": {k: v["accuracy"] for k, v in held.get("by_framing", {}).get("final", {}).items()},
            "recipe_accuracy": reference["heldout"]["final"]["accuracy"] if reference else None,
            "curve": result.manifest.get("curve", []), "train_s": result.manifest["timings_s"]["train"],
            "steps": result.manifest["plan"]["steps"], "machine": {"cpu": cpu_name(), "cores": os.cpu_count(),
                                                                     "platform": platform.platform()},
            "measured": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def load(path: Path = RESULTS) -> list[dict]:
    return json.loads(path.read_text()) if path.exists() else []


def _identity(row: dict) -> tuple:
    # The run key tells apart runs of one lever on different recipes (a lever's overrides apply to the recipe of
    # the day); rows written before it was recorded have none.
    return row["lever"], row["base"], row["seed"], row.get("run_key")


def record(row: dict, path: Path = RESULTS) -> None:
    """Put ``row`` in ``path`` in place of an earlier row of the same lever, base, seed and run key (a re-run of the
    same training run), keeping rows of the same lever on another recipe (written atomically)."""
    rows = [r for r in load(path) if _identity(r) != _identity(row)] + [row]
    tmp = path.with_suffix(f".tmp-{os.getpid()}")
    tmp.write_text(json.dumps(rows, indent=1) + "\n")
    os.replace(tmp, path)


def report(rows: list[dict]) -> str:
    lines = ["| lever | base | seed | steps | held-out acc. | positive | negative | recipe (same seed) | "
             "difference | train (s) |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        ref = r["recipe_accuracy"]
        diff = f"{r['accuracy'] - ref:+.3f}" if ref is not None else "n/a"
        lines.append(f"| {r['lever']} | {r['base']} | {r['seed']} | {r['steps']} | {r['accuracy']:.3f} | "
                     f"{r['by_framing'].get('positive', float('nan')):.3f} | "
                     f"{r['by_framing'].get('negative', float('nan')):.3f} | "
                     f"{ref if ref is None else round(ref, 3)} | {diff} | {r['train_s']:.0f} |")
    return "\n".join(lines)


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """The options naming one lever run (--lever, --base, --seed) and --report."""
    parser.add_argument("--lever", choices=sorted([*LEVERS, *FRAMING_LEVERS]))
    parser.add_argument("--base", choices=sorted(RMS), default="gemma3-270m")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--report", action="store_true", help="print the table of the measured runs")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_run_arguments(parser)
    parser.add_argument("--list", action="store_true", help="the levers and what each changes")
    args = parser.parse_args(argv)
    if args.list:
        for name in [*LEVERS, *FRAMING_LEVERS]:
            overrides, what = lever_spec(name)
            print(f"{name}: {what} {overrides}")
        return 0
    if args.report or not args.lever:
        print(report(load()))
        return 0
    row = run(args.lever, args.base, args.seed)
    record(row)
    print(report([row]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
