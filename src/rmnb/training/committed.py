"""Reward models trained once and committed: their adapters (LoRA + score head) under ``data/rms/<id>/seed-<n>/``,
each with a ``manifest.json`` (base and revision, run key, data fingerprints, settings, seed, code version,
held-out accuracy, learning curve).

A good recipe for the value-neutral RMs needs more minutes than the book's budget, so they are trained once with
``rmnb train-embedded --seeds 1-3 --export --adapter`` and committed. A build then *installs* them (:func:`install`):
the base with the run's seeded score head, the committed adapter merged in, saved as the run folder the cache
would hold after training, and **verified**: the first :data:`VERIFY_PAIRS` held-out pairs (both framings, in
alternation) are scored again, and every pair's reward margin must equal the committed one
(``heldout_scores.parquet``) within :data:`MARGIN_TOLERANCE` (float rounding differs between CPUs; a wrong adapter,
base, template or data would not come close), so the held-out accuracy of the manifest is the accuracy of the
installed model. Without committed per-pair scores, the whole held-out accuracy is recomputed and must match
within :data:`VERIFY_TOLERANCE`. A committed run is used only when its run key equals the key of the run the code would
train now (same base revision, settings, data and training-code version); otherwise the run is trained.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import time
from pathlib import Path

from rmnb.base.errors import RmnbError
from rmnb.base.paths import project_data_dir
from rmnb.base.quiet import quiet_transformers
from rmnb.base.tempfiles import remove_stale_temps
from rmnb.training.checkpoint_scores import checkpoint_model
from rmnb.training.preparation import encode_pairs, load_base, lora_config
from rmnb.training.recipe import split_for
from rmnb.training.reward_model import TrainedRun, accuracy_summary, pair_scores

VERIFY_TOLERANCE = 0.01   # |recomputed - committed| held-out accuracy allowed when installing a committed adapter
VERIFY_PAIRS = 96         # held-out pairs whose margins are recomputed at install (the first ones: framings alternate)
MARGIN_TOLERANCE = 2e-3   # |recomputed - committed| reward margin allowed per pair (absolute, plus this relative)
ADAPTER = "adapter"       # the adapter's folder inside a committed seed folder
SCORES = "heldout_scores.parquet"   # committed per-pair held-out rewards at step 0 and at the end


def root() -> Path:
    return project_data_dir() / "rms"


def seed_dir(rm_id: str, seed: int, base: Path | None = None) -> Path:
    return (base or root()) / rm_id / f"seed-{seed}"


def manifests(rm_id: str, base: Path | None = None) -> list[dict]:
    """The committed manifests of ``rm_id``, by seed."""
    folder = (base or root()) / rm_id
    found = sorted(folder.glob("seed-*/manifest.json"), key=lambda p: int(p.parent.name.split("-")[1]))
    return [json.loads(p.read_text()) for p in found]


def find(rm_id: str, key: str) -> Path | None:
    """The committed seed folder of ``rm_id`` whose run key is ``key`` (``None``: none)."""
    for path in (root() / rm_id).glob("seed-*/manifest.json"):
        if json.loads(path.read_text()).get("run_key") == key and (path.parent / ADAPTER).is_dir():
            return path.parent
    return None


def export_manifest(run: TrainedRun, rm_id: str, key: str) -> dict:
    """The manifest a finished run is committed with: its plan without the pair order (the order check's result
    instead), the run key, seed and final step."""
    seed = int(run.manifest["settings"]["seed"])
    final_step, _ = run.checkpoints[-1]
    manifest = {k: v for k, v in run.manifest.items() if k not in ("plan", "consumed_order")}
    manifest.update(id=rm_id, run_key=key, seed=seed, final_step=final_step,
                    plan={k: v for k, v in run.manifest["plan"].items() if k != "order"},
                    order_matches_plan=run.manifest["consumed_order"] == run.manifest["plan"]["order"])
    return manifest


def install(source: Path, base_id: str, settings, data, heldout, out_dir: Path, *, device: str = "auto",
            progress: bool = True) -> TrainedRun:
    """Build the run folder ``out_dir`` from a committed adapter and verify its held-out accuracy."""
    from peft import get_peft_model

    t0 = time.time()
    committed = json.loads((source / "manifest.json").read_text())
    if progress:
        print(f"[rmnb] installing the committed reward model {source} (verifying held-out accuracy)", flush=True)
    remove_stale_temps(out_dir)
    tmp = out_dir.with_name(f"{out_dir.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    final = int(committed["final_step"])
    loaded = load_base(base_id, settings, device=device)
    # PEFT wraps the model it is given in place: the step-0 adapter (LoRA B = 0: the seeded head only) gets a copy
    step0 = get_peft_model(copy.deepcopy(loaded.model), lora_config(loaded.model, settings))
    step0.save_pretrained(tmp / "checkpoints" / "step-000000")
    del step0
    shutil.copytree(source / ADAPTER, tmp / "checkpoints" / f"step-{final:06d}")
    merged = checkpoint_model(loaded, tmp / "checkpoints" / f"step-{final:06d}")
    _, held_pairs = split_for(data, settings, heldout)
    if held_pairs.fingerprint() != committed["data"]["heldout"]["fingerprint"]:
        raise RmnbError(f"the held-out pairs differ from those {source} was verified on. Fix: retrain with "
                        "`rmnb train-embedded --refresh`.")
    if (source / SCORES).exists():
        check = _verify_margins(merged, loaded.tokenizer, held_pairs, settings, source)
    else:
        scored = pair_scores(merged, encode_pairs(held_pairs, loaded.tokenizer, settings.max_length))
        check = {"pairs": len(scored), "accuracy": accuracy_summary(scored)["accuracy"]}
        if abs(check["accuracy"] - committed["heldout"]["final"]["accuracy"]) > VERIFY_TOLERANCE:
            raise RmnbError(_mismatch(source, f"held-out accuracy {check['accuracy']:.3f}, its manifest says "
                                              f"{committed['heldout']['final']['accuracy']:.3f}"))
    with quiet_transformers():
        merged.save_pretrained(tmp / "model")
        loaded.tokenizer.save_pretrained(tmp / "model")
    if (source / SCORES).exists():   # the held-out pairs' rewards, as a trained run's folder holds them
        shutil.copy2(source / SCORES, tmp / SCORES)
    manifest = dict(committed)
    manifest["plan"] = dict(committed["plan"], checkpoint_steps=[0, final])
    manifest["installed"] = {"from": str(source), **check,
                             "committed_accuracy": committed["heldout"]["final"]["accuracy"],
                             "seconds": time.time() - t0}
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1))
    if out_dir.exists():
        shutil.rmtree(out_dir)
    os.replace(tmp, out_dir)
    return TrainedRun.load(out_dir)


def _mismatch(source: Path, what: str) -> str:
    return (f"the committed reward model {source} does not reproduce: {what}. The adapter, the base or the data "
            "differ from the ones trained. Fix: restore data/rms from git, or retrain with "
            "`rmnb train-embedded ID --seeds N --refresh --export`.")


def _verify_margins(model, tokenizer, held_pairs, settings, source: Path) -> dict:
    """Score the first :data:`VERIFY_PAIRS` held-out pairs and compare each margin with the committed one."""
    import pandas as pd

    expected = pd.read_parquet(source / SCORES).set_index("pair_id")
    subset = held_pairs.subset(held_pairs.pair_ids[:VERIFY_PAIRS], "verification pairs")
    scored = pair_scores(model, encode_pairs(subset, tokenizer, settings.max_length)).set_index("pair_id")
    want = expected.loc[scored.index, "margin_final"]
    diff = (scored.margin - want).abs()
    bad = diff > MARGIN_TOLERANCE * (1 + want.abs())
    if bad.any():
        raise RmnbError(_mismatch(source, f"{int(bad.sum())} of {len(scored)} held-out reward margins differ from the "
                                          f"committed ones (largest difference {diff.max():.3g})"))
    return {"pairs": len(scored), "max_margin_diff": float(diff.max()),
            "accuracy": float(scored.correct.mean()), "committed_subset_accuracy": float((want > 0).mean())}
