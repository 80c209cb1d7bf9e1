"""The chapter cache: ``rmnb book`` executes a chapter again only when one of its inputs changed.

A chapter's inputs, each digested on its own (:func:`chapter_inputs`):

- ``chapter``: its source, ``notebooks/NN_slug.md`` (code and prose: the executed notebook holds both);
- ``parameters``: the values it runs with (the profile's, with any ``-p`` on top);
- ``package``: every file of the ``rmnb`` package (the code, the data registry's pinned URLs and checksums, the
  weights-only list), so a change to any module runs every chapter again;
- ``data``: the data the project commits (``data/``: the trained RMs' tables and adapters, the SFT set);
- ``environment``: the Python version, every installed package with its version, and the device the chapter runs
  on (its kind and name: a GPU searches the whole vocabulary where a CPU searches a sample).

The runner records them, with the sha256 of the results the chapter wrote (``<results>/<stem>.json`` and its
figures' Vega-Lite specs), in the executed notebook's metadata (``metadata.rmnb.inputs``). :func:`stale` compares
a chapter's current inputs with that record: ``None`` means the executed notebook and its results are still what
these inputs produce (the build says "from cache"); otherwise it names what changed. The released data need no
digest of their own: every file is checked against the sha256 the registry (part of the package) pins.
"""

from __future__ import annotations

import hashlib
import json
import platform
from functools import lru_cache
from pathlib import Path

import torch

import rmnb
from rmnb.base.device import cpu_name, resolve_device
from rmnb.base.provenance import installed_distributions

PARTS = ("chapter", "parameters", "package", "data", "environment")
# What a changed part means, for the build's "runs: ..." line.
CHANGED = {"chapter": "its source changed", "parameters": "its parameters changed",
           "package": "the rmnb package changed", "data": "the project's data/ changed",
           "environment": "the installed packages, Python or device changed"}
FIGURES = "figures"  # <results>/figures/<name>.vl.json (rmnb.book.results.Results.figure)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_digest(path: Path) -> str:
    """The sha256 of a file's bytes."""
    return _sha(Path(path).read_bytes())


def tree_digest(folder: Path) -> str:
    """One sha256 over every file below ``folder`` (relative path and content), ``__pycache__`` left out; the
    digest of an empty string when the folder does not exist."""
    h = hashlib.sha256()
    folder = Path(folder)
    files = sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts) \
        if folder.is_dir() else []
    for path in files:
        h.update(path.relative_to(folder).as_posix().encode() + b"\0")
        h.update(file_digest(path).encode())
    return h.hexdigest()


@lru_cache(maxsize=1)
def package_digest() -> str:
    """The digest of the ``rmnb`` package's files (computed once per process)."""
    return tree_digest(Path(rmnb.__file__).parent)


@lru_cache(maxsize=1)
def environment_digest() -> str:
    """The digest of the Python version, the installed packages and the device ``"auto"`` picks (once per
    process)."""
    device = resolve_device("auto")
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_name()
    lines = [f"python=={platform.python_version()}", f"device: {device.type}, {name}", *installed_distributions()]
    return _sha("\n".join(lines).encode())


def chapter_inputs(path: Path, values: dict, root: Path) -> dict[str, str]:
    """``{part: sha256}`` for each of :data:`PARTS` of the chapter at ``path`` run with ``values``."""
    return {
        "chapter": file_digest(path),
        "parameters": _sha(json.dumps(values, sort_keys=True, default=repr).encode()),
        "package": package_digest(),
        "data": tree_digest(Path(root) / "data"),
        "environment": environment_digest(),
    }


def results_files(results_dir: Path, stem: str, since: float | None = None) -> list[Path]:
    """The chapter's results JSON and, with ``since`` (a time stamp), the figure specs written after it."""
    results_dir = Path(results_dir)
    files = [results_dir / f"{stem}.json"]
    if since is not None and (results_dir / FIGURES).is_dir():
        files += sorted(p for p in (results_dir / FIGURES).glob("*.vl.json") if p.stat().st_mtime >= since)
    return files


def record(inputs: dict[str, str], results_dir: Path, stem: str, since: float) -> dict:
    """The record the runner stores in ``metadata.rmnb.inputs``: the inputs and the sha256 of each results file
    (relative to ``results_dir``) the run wrote."""
    results_dir = Path(results_dir)
    written = {p.relative_to(results_dir).as_posix(): file_digest(p)
               for p in results_files(results_dir, stem, since) if p.exists()}
    return {**inputs, "results": written}


def read_record(notebook: Path) -> dict | None:
    """The inputs record of an executed notebook, or ``None`` (no notebook, unreadable, recorded by an rmnb
    without the cache)."""
    try:
        meta = json.loads(Path(notebook).read_text(encoding="utf-8")).get("metadata", {})
    except (OSError, ValueError):
        return None
    found = (meta.get("rmnb") or {}).get("inputs")
    return found if isinstance(found, dict) else None


def stale(notebook: Path, inputs: dict[str, str], results_dir: Path) -> str | None:
    """Why the chapter must run again, or ``None`` when its executed ``notebook`` and results can be reused."""
    if not Path(notebook).exists():
        return "it has not been executed here yet"
    found = read_record(notebook)
    if found is None:
        return "its executed notebook records no inputs"
    changed = [CHANGED[part] for part in PARTS if found.get(part) != inputs[part]]
    if changed:
        return "; ".join(changed)
    for name, sha in (found.get("results") or {}).items():
        path = Path(results_dir) / name
        if not path.exists():
            return f"its results file {path} is missing"
        if file_digest(path) != sha:
            return f"its results file {path} has changed since the chapter wrote it"
    return None
