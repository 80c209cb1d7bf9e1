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


def site_config() -> dict:
    """The book's site settings, ``[tool.rmnb]`` in ``pyproject.toml``: the one place the repository URL is set
    (``repository``, ``branch``, and where the Colab buttons open notebooks: ``colab-branch``, ``colab-folder``). Read
    from the source checkout; an installed wheel falls back to its package metadata (``[project.urls]``)."""
    import tomllib

    pyproject = checkout_root() / "pyproject.toml"
    if pyproject.is_file():
        config = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("tool", {}).get("rmnb")
        if config:
            return config
    try:
        urls = dict(u.split(", ", 1) for u in md.metadata("rmnb").get_all("Project-URL") or [])
    except md.PackageNotFoundError:
        urls = {}
    return {"repository": urls.get("Repository", ""), "branch": "main"}


def repository_url() -> str:
    """The book's repository, ``https://github.com/<org>/<repo>`` (``[tool.rmnb] repository`` in
    ``pyproject.toml``): what the book's repository, issue, edit and launch buttons point at, and what
    ``CITATION.cff`` (``repository-code``, which the handout reads) and the package metadata repeat."""
    return str(site_config().get("repository", "")).rstrip("/")


def site_url() -> str:
    """Where the published book lives: GitHub Pages of :func:`repository_url` (``https://<org>.github.io/<repo>/``)."""
    match = re.fullmatch(r"https://github\.com/([^/]+)/([^/]+)", repository_url())
    return f"https://{match[1].lower()}.github.io/{match[2]}/" if match else ""
