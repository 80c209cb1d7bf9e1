"""Measure the chapters' run times for the teacher's guide: ``python -m rmnb.builder.measure_timings [--profile P]``.

Every chapter runs twice in a new, empty user cache (``RMNB_CACHE_DIR`` set to a temporary folder): first *fresh*
(the embedded models are converted first and timed on their own; then each chapter pays for what it builds: the
trained reward models, the scored vocabularies), then *cached*. The result (seconds per chapter and per exercise,
the machine, the profile, and the disk the fresh run filled: the user cache and the environment) goes to
``book/timings.json``, which :mod:`rmnb.seminar.timings` turns into the guide's tables. Released data
come from ``RMNB_DATA_DIR`` or the user cache as usual (a download is not part of the measurement).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from rmnb.base.device import cpu_name
from rmnb.base.paths import repo_root
from rmnb.builder.runner import execution_order, run_chapter, toc_chapters
from rmnb.models import registry
from rmnb.models.gguf import embedded_folder
from rmnb.seminar.doctor import folder_bytes
from rmnb.seminar.timings import MEASURED_FILE, exercise_durations


def measure(root: Path | None = None, profile: str = "default", chapters: list[str] | None = None,
            out: Path | None = None, keep: Path | None = None, update: bool = False) -> dict:
    """Convert the embedded models and run the chapters twice in an empty temporary user cache; return the
    measurement (seconds of wall-clock time per chapter, fresh and cached). With ``out``, the measurement is written
    there after every step (``"complete": false`` until the end), so an interrupted run keeps what it measured.
    With ``keep``, the fresh run's executed notebooks and results are copied there (``keep/chapters/*.ipynb``,
    ``keep/results/*.json``) before the temporary cache is removed, so the measurement is also a book run.
    With ``update``, an existing ``out`` keeps the chapters this call does not measure (the file then lists each
    measuring call under ``runs``). Every call records the load average before and after, so a measurement taken
    while the machine did other work says so."""
    import torch

    root = Path(root or repo_root())
    every = execution_order(toc_chapters(root))
    paths = [p for p in every if not chapters or p.stem in chapters]
    whole = len(paths) == len(every)  # only a run of every chapter measures the disk the defaults fill
    saved = os.environ.get("RMNB_CACHE_DIR")
    result: dict = {"profile": profile, "measured": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                 "machine": {"cpu": cpu_name(), "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                             "python": platform.python_version(), "platform": platform.platform()},
                 "command": f"python -m rmnb.builder.measure_timings --profile {profile}",
                 "conversion": {}, "fresh": {}, "cached": {}, "exercises": {"fresh": {}, "cached": {}},
                 "complete": False}
    this_run = {"measured": result["measured"], "chapters": [p.stem for p in paths],
                "load_before": [round(x, 2) for x in os.getloadavg()]}
    if update and out is not None and Path(out).exists():
        previous = json.loads(Path(out).read_text())
        if "disk" in previous and not whole:
            result["disk"] = previous["disk"]
        for key in ("conversion", "fresh", "cached"):
            result[key] = {k: v for k, v in previous.get(key, {}).items() if k not in this_run["chapters"]}
        for run in ("fresh", "cached"):
            result["exercises"][run] = {k: v for k, v in previous.get("exercises", {}).get(run, {}).items()
                                        if k not in this_run["chapters"]}
        result["runs"] = previous.get("runs", [])
    result.setdefault("runs", []).append(this_run)

    def save():
        if out is not None:
            Path(out).write_text(json.dumps(result, indent=2) + "\n")

    with tempfile.TemporaryDirectory(prefix="rmnb-timings-") as tmp:
        os.environ["RMNB_CACHE_DIR"] = str(Path(tmp) / "cache")
        try:
            for spec in registry.EMBEDDED:
                t0 = time.perf_counter()
                embedded_folder(spec.id)
                result["conversion"][spec.id] = round(time.perf_counter() - t0, 1)
                save()
                print(f"[timings] converted {spec.id}: {result['conversion'][spec.id]} s", flush=True)
            for run in ("fresh", "cached"):
                for path in paths:
                    t0 = time.perf_counter()
                    executed = run_chapter(path, out_dir=Path(tmp) / run, results_dir=Path(tmp) / run / "results",
                                           profile=profile)
                    result[run][path.stem] = round(time.perf_counter() - t0, 1)
                    exercises = exercise_durations(executed)  # papermill's cell times, exercise by exercise
                    if exercises:
                        result["exercises"][run][path.stem] = exercises
                    save()
                    print(f"[timings] {run} {path.stem}: {result[run][path.stem]} s", flush=True)
                if run == "fresh" and whole:  # what the defaults put in an empty cache: what `rmnb doctor` asks for
                    cache = Path(os.environ["RMNB_CACHE_DIR"])
                    result["disk"] = {"cache_bytes": folder_bytes(cache),
                                      "cache_folders": {p.name: folder_bytes(p) for p in sorted(cache.iterdir())
                                                        if p.is_dir()},
                                      "environment_bytes": folder_bytes(Path(sys.prefix))}
                    save()
                if run == "fresh" and keep is not None:
                    shutil.copytree(Path(tmp) / run, Path(keep) / "chapters", dirs_exist_ok=True,
                                    ignore=shutil.ignore_patterns("results"))
                    shutil.copytree(Path(tmp) / run / "results", Path(keep) / "results", dirs_exist_ok=True)
        finally:
            if saved is None:
                os.environ.pop("RMNB_CACHE_DIR", None)
            else:
                os.environ["RMNB_CACHE_DIR"] = saved
    this_run["load_after"] = [round(x, 2) for x in os.getloadavg()]
    result["complete"] = True
    save()
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rmnb.builder.measure_timings", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    m = parser
    m.add_argument("--profile", default="default", help="default (what students run) or smoke")
    m.add_argument("--chapter", action="append", metavar="STEM", help="only these chapters (repeatable)")
    m.add_argument("--out", help=f"default: {MEASURED_FILE} in the book's root")
    m.add_argument("--keep", metavar="DIR", help="also keep the fresh run's executed notebooks and results in DIR")
    m.add_argument("--update", action="store_true", help="keep the other chapters' times already in the file")
    args = parser.parse_args(argv)
    out = Path(args.out) if args.out else repo_root() / MEASURED_FILE
    measure(profile=args.profile, chapters=args.chapter, out=out, keep=Path(args.keep) if args.keep else None,
            update=args.update)
    print(f"[timings] wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
