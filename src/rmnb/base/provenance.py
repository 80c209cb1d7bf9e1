"""What produced a result: package versions, the git commit, and file-system-safe names for model ids.

The one home for these helpers: the results store, the trainers and the book's status page all record
provenance through them.
"""

from __future__ import annotations

import importlib.metadata as md
import platform
import re
from pathlib import Path

import rmnb
from rmnb.base.paths import checkout_root

STORE_PACKAGES = ("rmnb", "torch", "transformers", "tokenizers", "gguf", "accelerate", "pandas", "pyarrow")
TRAINING_PACKAGES = ("torch", "transformers", "peft", "trl")


def package_versions(names=STORE_PACKAGES, *, python: bool = False) -> dict:
    """``{name: installed version or None}`` for each distribution (``rmnb`` falls back to ``rmnb.__version__``
    when it is not installed as a distribution); ``python=True`` adds the interpreter version first."""
    versions = {"python": platform.python_version()} if python else {}
    for name in names:
        try:
            versions[name] = md.version(name)
        except md.PackageNotFoundError:
            versions[name] = rmnb.__version__ if name == "rmnb" else None
    return versions


def installed_distributions() -> list[str]:
    """Every installed distribution as ``name==version``, sorted by name (the status page's list)."""
    seen = {}
    for dist in md.distributions():
        name = dist.metadata["Name"]
        if name:
            seen.setdefault(name.lower(), f"{name}=={dist.version}")
    return [seen[k] for k in sorted(seen)]


def git_sha() -> str | None:
    """The commit of the source checkout rmnb runs from (``None`` for an installed wheel). Reads ``.git`` without
    running git: a folder, or a worktree's ``gitdir:`` file; a loose ref or ``packed-refs``."""
    git = checkout_root() / ".git"
    try:
        if git.is_file():  # a worktree: "gitdir: <path>"
            git = Path(git.read_text().split(":", 1)[1].strip())
        head = (git / "HEAD").read_text().strip()
        if not head.startswith("ref: "):
            return head
        ref = head[5:]
        common = Path((git / "commondir").read_text().strip()) if (git / "commondir").exists() else Path(".")
        common = common if common.is_absolute() else (git / common).resolve()
        for folder in (git, common):
            if (folder / ref).exists():
                return (folder / ref).read_text().strip()
            packed = folder / "packed-refs"
            if packed.exists():
                for line in packed.read_text().splitlines():
                    if line.endswith(" " + ref):
                        return line.split()[0]
    except (OSError, IndexError):
        pass
    return None


def slug(text: str, limit: int = 80) -> str:
    """A file-system-safe name: ``org/model`` -> ``org__model``; odd characters -> ``-``; at most ``limit``
    characters. The one naming rule for folders named after a model id (score runs, variants, caches)."""
    text = text.replace("/", "__")
    return re.sub(r"[^A-Za-z0-9_.=+-]", "-", text)[:limit] or "x"
