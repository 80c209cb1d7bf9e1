"""Which Hub commit a model id stands for, so that weights never change under one run key.

A registry entry pins its commit (``ModelSpec.revision``) where the commit is known. For a Hub model without one
(registry entries whose commit could not be looked up offline, listed in :data:`UNPINNED`, and any ``org/name`` id)
the commit the first download resolved ``main`` to is recorded in the user cache (``revisions.json``) and loaded
from then on, by every process that shares the cache: a later change of ``main`` on the Hub changes nothing here
until the record is removed (``rmnb``'s cache is content-keyed, so the new commit then gets new run keys).

:func:`known` is the commit to load (pinned, else recorded, else ``None``: the first download resolves and records
it); :func:`required` is the commit a run key is built from before loading, an error naming the fix when none is
known yet.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from rmnb.base.errors import RmnbError
from rmnb.base.paths import cache_dir
from rmnb.data.integrity import write_json_atomic
from rmnb.models import registry

RECORD_FILE = "revisions.json"


def _record_path() -> Path:
    return cache_dir() / RECORD_FILE


def recorded() -> dict:
    """``{model id: {"revision": commit, "recorded": time}}`` from the user cache (empty when none)."""
    try:
        return json.loads(_record_path().read_text()).get("models", {})
    except (OSError, ValueError):
        return {}


def is_hub_id(model_id: str) -> bool:
    return model_id.count("/") == 1 and not Path(model_id).expanduser().exists()


def known(model_id: str) -> str | None:
    """The commit to load for a Hub id: the registry's pin, else the one recorded at its first download."""
    if not is_hub_id(model_id):
        return None
    spec = registry.REGISTRY.get(model_id)
    if spec is not None and spec.revision:
        return spec.revision
    return (recorded().get(model_id) or {}).get("revision")


def record(model_id: str, commit: str | None) -> None:
    """Record the commit a first download of ``model_id`` resolved to (nothing for pinned or non-Hub ids)."""
    if not commit or not is_hub_id(model_id) or known(model_id):
        return
    path = _record_path()
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        data = {}
    data.setdefault("models", {})[model_id] = {"revision": commit,
                                               "recorded": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    write_json_atomic(path, data)


def _local_main(model_id: str) -> str | None:
    """The commit ``main`` pointed to when the Hugging Face cache last downloaded ``model_id`` (offline)."""
    try:
        from huggingface_hub.constants import HF_HUB_CACHE
    except ImportError:  # pragma: no cover - huggingface_hub ships with transformers
        return None
    ref = Path(HF_HUB_CACHE) / f"models--{model_id.replace('/', '--')}" / "refs" / "main"
    try:
        return ref.read_text().strip() or None
    except OSError:
        return None


def required(model_id: str) -> str:
    """The commit a run key of ``model_id`` is built from, before loading it: pinned, recorded, or the commit in
    the local Hugging Face cache (then recorded). Raises naming the fix when none is known."""
    commit = known(model_id) or _local_main(model_id)
    if commit is None:
        raise RmnbError(f"{model_id!r} pins no Hub commit and none is recorded yet, so a run key built now could "
                        "later stand for other weights. Fix: load or score it once (the commit it resolves to is "
                        "recorded in the rmnb cache and used from then on), or pass an explicit --revision COMMIT.")
    record(model_id, commit)
    return commit


# Hub entries of the registry whose commit could not be found offline (no network where they were registered):
# they load the commit recorded at their first download. Pin each (ModelSpec.revision) once its commit is known.
UNPINNED = tuple(s.id for s in registry.REGISTRY.values()
                 if not s.revision and not s.gguf_package and registry.trained_recipe(s.id) is None)


__all__ = ["known", "record", "required", "recorded", "is_hub_id", "UNPINNED", "RECORD_FILE"]
