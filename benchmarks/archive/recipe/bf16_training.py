"""The lever "bf16 autocast", as it stands on a CPU: training steps of the value-neutral recipe in
float32 and under ``torch.autocast(dtype=torch.bfloat16)``, side by side in one process, on both embedded bases.

    python benchmarks/archive/recipe/bf16_training.py       # both bases, 6 timed steps per dtype
    python benchmarks/archive/recipe/bf16_training.py --steps 3 --bases gemma3-270m --out bf16_training.json

Each base is loaded once as the recipe loads it (``valence`` preset, seed 1: float32 weights, fresh score head, LoRA
r 8 on every attention and MLP projection); two copies take the same first batches of the recipe's training plan,
one in float32 and one under bf16 autocast, alternating step by step so that both see the same machine load. Each
step is what the trainer does: reward of the chosen and the rejected answers, Bradley-Terry loss, backward, AdamW.
It prints seconds per step, their ratio and the first step's loss in both (same weights, same batch: the
numerical cost of bf16). It does not train to the end: a full run's held-out accuracy under bf16 is only worth
measuring where bf16 is faster (a GPU, or a CPU with ``avx512_bf16`` / AMX).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402
from levers import RMS  # noqa: E402

from rmnb.base.device import cpu_name, native_bf16_cpu  # noqa: E402
from rmnb.models import registry  # noqa: E402
from rmnb.training import trained  # noqa: E402
from rmnb.training.preparation import encode_pairs, load_base, lora_config  # noqa: E402
from rmnb.training.recipe import make_plan, split_for  # noqa: E402
from rmnb.training.reward_model import bt_loss  # noqa: E402


def _batch(rows, pad_id: int) -> dict:
    """Chosen answers then rejected ones, right-padded into one batch (the classifier reads the last real token)."""
    seqs = list(rows.chosen_ids) + list(rows.rejected_ids)
    width = max(map(len, seqs))
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for i, s in enumerate(seqs):
        ids[i, :len(s)], mask[i, :len(s)] = torch.tensor(s), 1
    return {"input_ids": ids, "attention_mask": mask}


def _step(model, optimizer, batch: dict, bf16: bool) -> float:
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        rewards = model(**batch).logits.squeeze(-1).float()
    half = rewards.shape[0] // 2
    loss = bt_loss(rewards[:half], rewards[half:])
    loss.backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return loss.item()


def measure(base: str, steps: int) -> dict:
    from peft import get_peft_model

    rm_id = RMS[base]
    settings = trained.recipe_settings(rm_id)
    recipe = registry.trained_recipe(rm_id)
    train_pairs, _ = split_for(trained.data_for(settings, recipe.data), settings, trained.heldout_for(recipe.data))
    plan = make_plan(train_pairs, settings)
    loaded = load_base(base, settings, device="cpu")
    enc = encode_pairs(train_pairs, loaded.tokenizer, settings.max_length).set_index("pair_id")
    pad = loaded.tokenizer.pad_token_id
    batches = [_batch(enc.loc[list(plan.batch(k))], pad) for k in range(1, steps + 2)]  # +1: a warm-up step
    models = {}
    for name in ("float32", "bf16 autocast"):
        model = get_peft_model(copy.deepcopy(loaded.model), lora_config(loaded.model, settings))
        model.train()
        params = [p for p in model.parameters() if p.requires_grad]
        models[name] = (model, torch.optim.AdamW(params, lr=settings.learning_rate,
                                                 weight_decay=settings.weight_decay))
    seconds = {name: [] for name in models}
    first_loss = {}
    for k, batch in enumerate(batches):
        for name, (model, opt) in models.items():
            t0 = time.perf_counter()
            loss = _step(model, opt, batch, bf16=name != "float32")
            if k == 0:
                first_loss[name] = loss  # the warm-up step: same weights and batch in both
            else:
                seconds[name].append(time.perf_counter() - t0)
    per_step = {name: sum(v) / len(v) for name, v in seconds.items()}
    return {"base": base, "steps_timed": steps, "batch_pairs": settings.effective_batch,
            "seconds_per_step": per_step, "bf16_over_fp32": per_step["bf16 autocast"] / per_step["float32"],
            "first_step_loss": first_loss,
            "recipe_steps": plan.steps}


RESULTS = Path(__file__).with_name("bf16_training.json")


def report(results: dict) -> str:
    """The measured steps of ``results`` (a file this script wrote) as a table."""
    lines = ["| base | timed steps | float32 (s/step) | bf16 autocast (s/step) | bf16 / float32 | "
             "first-step loss float32 / bf16 |", "|---|---|---|---|---|---|"]
    for r in results["results"]:
        s, loss = r["seconds_per_step"], r["first_step_loss"]
        lines.append(f"| {r['base']} | {r['steps_timed']} | {s['float32']:.1f} | {s['bf16 autocast']:.1f} | "
                     f"{r['bf16_over_fp32']:.1f}x | {loss['float32']:.4f} / {loss['bf16 autocast']:.4f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bases", default=",".join(RMS), help="comma-separated base ids")
    ap.add_argument("--steps", type=int, default=6, help="timed steps per dtype (after one warm-up step)")
    ap.add_argument("--out", help="write the results as JSON here")
    ap.add_argument("--report", action="store_true", help=f"print the table of {RESULTS.name}")
    args = ap.parse_args(argv)
    if args.report:
        print(report(json.loads(RESULTS.read_text())))
        return 0
    torch.manual_seed(0)
    machine = {"cpu": cpu_name(), "cores": os.cpu_count(), "platform": platform.platform(),
               "torch": torch.__version__, "native_bf16": native_bf16_cpu()}
    rows = []
    for base in args.bases.split(","):
        row = measure(base, args.steps)
        rows.append(row)
        s = row["seconds_per_step"]
        print(f"{base}: float32 {s['float32']:.2f} s/step, bf16 autocast {s['bf16 autocast']:.2f} s/step, "
              f"ratio bf16/fp32 {row['bf16_over_fp32']:.2f}; first-step loss "
              f"{row['first_step_loss']['float32']:.4f} vs {row['first_step_loss']['bf16 autocast']:.4f}; "
              f"a {row['recipe_steps']}-step run at these rates: {row['recipe_steps'] * s['float32'] / 60:.0f} vs "
              f"{row['recipe_steps'] * s['bf16 autocast'] / 60:.0f} min", flush=True)
    print(f"machine: {machine}")
    if args.out:
        Path(args.out).write_text(json.dumps({"machine": machine, "results": rows}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
