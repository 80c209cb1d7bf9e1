"""Where things live: the repository (book sources), the user cache, the build output."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs


def checkout_root() -> Path:
    """The source checkout this package runs from (``src/rmnb/base/paths.py`` -> the folder above ``src``)."""
    return Path(__file__).resolve().parents[3]


def repo_root() -> Path:
    """The book's root: ``RMNB_ROOT`` if set, else the nearest folder above the cwd holding ``_toc.yml``,
    else the source checkout this package was installed from."""
    if os.environ.get("RMNB_ROOT"):
        return Path(os.environ["RMNB_ROOT"]).resolve()
    for folder in (Path.cwd(), *Path.cwd().parents):
        if (folder / "_toc.yml").exists() and (folder / "notebooks").is_dir():
            return folder
    return checkout_root()


def chapter_sources(root: Path | None = None) -> list[Path]:
    """The chapter sources ``notebooks/NN_slug.md`` of the book at ``root`` (default :func:`repo_root`), in reading
    order."""
    return sorted((root or repo_root()).joinpath("notebooks").glob("[0-9][0-9]_*.md"))


def cache_dir(*parts: str) -> Path:
    """The user cache (``RMNB_CACHE_DIR``, else the platform's user cache folder), created on demand."""
    base = Path(os.environ.get("RMNB_CACHE_DIR") or platformdirs.user_cache_dir("rmnb"))
    path = base.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def project_data_dir() -> Path:
    """``data/``: small data the project owns (committed)."""
    return repo_root() / "data"


def env_flag(*names: str) -> bool:
    """Whether any of these environment variables is set to a true value (1, true, yes, on)."""
    return any(os.environ.get(name, "0").lower() in ("1", "true", "yes", "on") for name in names)
