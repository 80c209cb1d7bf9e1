"""Many seeds of the reward models rmnb trains, one command: ``rmnb train-embedded ID ... --seeds 1-10``.

Each (model, seed) is built in turn (read from the cache, installed from a committed adapter, or trained: 25-45
minutes on two CPU cores), its tables measured (:mod:`rmnb.training.evaluation`) and, with ``--export``, written to
``data/rms/<id>/seed-<n>/`` to commit. A run already in the cache is not trained again, so the command resumes where
a killed one stopped (a run interrupted mid-training starts that seed again). Progress: one line per seed before and
after, with the held-out accuracy against the book's floor and an estimate of the time left.

``--verify`` retrains a seed that has committed tables (ignoring the cache) and compares the new run with them:
held-out accuracy within :data:`rmnb.training.committed.VERIFY_TOLERANCE`, and the rank correlation of the final
token and noun scores at least :data:`VERIFY_RANK_CORRELATION` (training on another CPU drifts a little; a wrong
recipe, data or base does not come close).
"""

from __future__ import annotations

import re
import time

from rmnb.base.errors import RmnbError
from rmnb.base.progress import format_duration
from rmnb.models import registry
from rmnb.training import committed, evaluation, trained

VERIFY_RANK_CORRELATION = 0.95   # Spearman rho of a retrained seed's final scores with its committed ones, at least
FLOOR_ACCURACY = 0.80            # the book's floor on held-out accuracy (chapter 06 applies the full floor)


def parse_seeds(items) -> list[int]:
    """Seeds from the command line: ``1-10``, ``1 2 3``, ``1,2,3`` or a mix; sorted, without repeats."""
    seeds: set[int] = set()
    for item in items or []:
        for part in str(item).replace(",", " ").split():
            match = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
            if not match:
                raise RmnbError(f"--seeds {part!r} is not a seed, a list or a range. Fix: e.g. --seeds 1-10 or "
                                "--seeds 1 2 3 (seeds are integers >= 1).")
            low, high = int(match[1]), int(match[2] or match[1])
            if low < 1 or high < low:
                raise RmnbError(f"--seeds {part!r}: seeds are integers >= 1 and a range goes up (1-10).")
            seeds.update(range(low, high + 1))
    return sorted(seeds)


def check_ids(ids) -> list[str]:
    """The reward models to build (default: all rmnb trains); an unknown id is an error naming the valid ones."""
    ids = list(ids) or list(registry.TRAINED_RMS)
    for rm_id in ids:
        if registry.trained_recipe(rm_id) is None:
            raise RmnbError(f"{rm_id!r} is not a reward model rmnb trains. Fix: use one of "
                            f"{', '.join(registry.TRAINED_RMS)}.")
    return ids


def build(ids, seeds, *, export: bool = False, adapter: bool = False, refresh: bool = False, device: str = "auto",
          progress: bool = True, say=print) -> list[dict]:
    """Build every (id, seed), seeds in the outer loop so that an interrupted command leaves both models with the
    same seeds; measure and (``export``) write each seed's tables. Returns one summary per run."""
    plan = [(rm_id, seed) for seed in (seeds or [None]) for rm_id in ids]
    done, started, trained_s = [], time.time(), []
    for i, (rm_id, seed) in enumerate(plan, 1):
        cached = trained.is_built(rm_id, seed) and not refresh
        eta = (f", about {format_duration(sum(trained_s) / len(trained_s) * (len(plan) - i + 1))} left"
               if trained_s else "")
        say(f"[rmnb] {i}/{len(plan)}: {rm_id} seed {seed or 'default'}"
            f" ({'in the cache' if cached else 'building'}{eta})")
        t0 = time.time()
        run = trained.ensure(rm_id, seed=seed, refresh=refresh, device=device, progress=progress)
        if not cached:
            trained_s.append(time.time() - t0)
        acc = run.heldout["final"]["accuracy"]
        row = {"id": rm_id, "seed": run.settings.seed, "folder": str(run.folder), "heldout_accuracy": acc,
               "above_floor": acc >= FLOOR_ACCURACY}
        if export:
            row["exported"] = str(evaluation.export(run, rm_id, adapter=adapter, device=device, progress=progress))
        say(f"[rmnb] {rm_id} seed {row['seed']}: held-out accuracy {acc:.3f} "
            f"({'at or above' if row['above_floor'] else 'BELOW'} the floor {FLOOR_ACCURACY:.2f})"
            + (f"; exported to {row['exported']} (commit it)" if export else f"; {run.folder}"))
        done.append(row)
    say(f"[rmnb] {len(done)} runs in {format_duration(time.time() - started)}; "
        f"{sum(not r['above_floor'] for r in done)} below the floor")
    return done


def verify(ids, seeds, *, device: str = "auto", progress: bool = True, say=print) -> bool:
    """Retrain each (id, seed) and compare it with its committed tables; ``True`` when every one agrees."""
    ok = True
    for rm_id in ids:
        for seed in seeds or [None]:
            seed = seed or trained.recipe_settings(rm_id).seed
            ref = evaluation.committed_tables(rm_id, seed)
            if ref is None:
                raise RmnbError(f"{rm_id} seed {seed} has no committed tables for the current recipe to verify "
                                f"against. Fix: rmnb train-embedded {rm_id} --seeds {seed} --export")
            run = trained.ensure(rm_id, seed=seed, refresh=True, device=device, progress=progress)
            ours = evaluation.evaluate(run, device=device, refresh=True, progress=progress)
            diff = evaluation.compare_tables(ours, ref)
            acc, ref_acc = run.heldout["final"]["accuracy"], ref.manifest["heldout"]["final"]["accuracy"]
            good = (abs(acc - ref_acc) <= committed.VERIFY_TOLERANCE
                    and min(diff["spearman_tokens"], diff["spearman_nouns"]) >= VERIFY_RANK_CORRELATION)
            ok &= good
            say(f"[rmnb] verify {rm_id} seed {seed}: {'OK' if good else 'FAIL'}: held-out accuracy {acc:.3f} "
                f"(committed {ref_acc:.3f}); rank correlation of final scores: tokens "
                f"{diff['spearman_tokens']:.3f}, nouns {diff['spearman_nouns']:.3f}; largest score difference "
                f"{max(diff['max_diff_tokens'], diff['max_diff_nouns']):.3g}")
    return ok
