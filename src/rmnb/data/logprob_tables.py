"""Next-token log-probability tables: one model's full log-prob vector per prompt, computed live
(:func:`rmnb.inference.language_model.live_logprobs`) or read from the authors' release.

The release is the Hugging Face dataset ``Oxford-HIPlab/iclr2026-lm-logprobs`` (one CSV per model,
``<org>--<name>.csv``: ``token_id, token_name, token_decoded`` and the 54 prompt columns, the layout the authors'
``scripts/generate_logprobs.py`` writes), downloaded with ``huggingface_hub``. It needs the network; offline it
raises an :class:`~rmnb.base.errors.RmnbError` that names the fix.

**Pinned with checksums.** A branch name (``main``) is resolved to a commit once: the first download records the
commit and each file's sha256 in the user cache (``logprob_tables/checksums.json``), and later reads of ``main``
load that commit and check each file against its recorded sha256 (:data:`CHECKSUMS` holds those known in advance).
A file that differs is an error naming it and the fix, never used. The commit is the table's ``revision``, so a
different commit gives different recorded results.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pandas as pd

from rmnb.base.errors import RmnbError
from rmnb.base.paths import cache_dir, env_flag
from rmnb.data.integrity import file_sha256, write_json_atomic

RELEASED_REPO = "Oxford-HIPlab/iclr2026-lm-logprobs"
# {dataset commit: {file name: sha256}} known in advance; the user cache records those of each first download.
CHECKSUMS: dict[str, dict[str, str]] = {}


@dataclass
class LogprobTable:
    """One model's log-probs: ``values[i]`` is the full next-token log-prob vector for ``prompt_ids[i]``."""

    model: str
    prompt_ids: list
    values: np.ndarray            # [n_prompts, vocab], float32
    vocab: pd.DataFrame           # token_id, token_decoded
    source: str                   # "live" or "released"
    fmt: str | None = None        # live: "chat" or "raw"
    revision: str | None = None   # model revision (live) or dataset commit (released)

    def series(self, prompt_id) -> pd.Series:
        """Log-probs of one prompt indexed by token id."""
        return pd.Series(self.values[self.prompt_ids.index(prompt_id)], index=self.vocab.token_id.to_numpy())


def _record_file():
    return cache_dir("logprob_tables") / "checksums.json"


def _records() -> dict:
    import json

    try:
        return json.loads(_record_file().read_text())
    except (OSError, ValueError):
        return {}


def pinned_commit(revision: str | None) -> str | None:
    """The commit a branch name was resolved to at its first download (``None``: not yet, or not a branch)."""
    return (_records().get("refs") or {}).get(str(revision or "main"))


def verify_or_record(path: str, filename: str, commit: str, asked: str | None) -> None:
    """Check a downloaded file against the sha256 known or recorded for (commit, file); the first time, record
    it, and the commit the branch ``asked`` resolved to. Raises naming the file and the fix when it differs."""
    records = _records()
    known = {**(records.get("files") or {}).get(commit, {}), **CHECKSUMS.get(commit, {})}
    actual = file_sha256(path)
    if filename in known and known[filename] != actual:
        raise RmnbError(f"The released log-prob table {filename} of {RELEASED_REPO} at commit {commit} has sha256 "
                        f"{actual[:12]}..., not the {known[filename][:12]}... recorded for that commit: the file in "
                        f"the Hugging Face cache ({path}) is damaged or was changed. Fix: delete it (the next run "
                        "downloads it again), or set source='live'.")
    refs = records.setdefault("refs", {})
    new_ref = bool(asked) and asked != commit and asked not in refs
    if filename in known and not new_ref:
        return
    records.setdefault("files", {}).setdefault(commit, {})[filename] = actual
    if new_ref:
        refs[str(asked)] = commit
    write_json_atomic(_record_file(), records)


def released_file(model_id: str, revision: str | None = "main") -> tuple[str, str]:
    """Download (or find in the Hugging Face cache) the authors' log-prob CSV of ``model_id``; returns
    ``(path, resolved commit)``. A branch name loads the commit it resolved to at its first download; the file is
    checked against its recorded sha256 (:func:`verify_or_record`). Raises an :class:`RmnbError` naming the fix
    when offline, absent or changed."""
    try:
        from huggingface_hub import hf_hub_download
        from huggingface_hub.errors import LocalEntryNotFoundError, OfflineModeIsEnabled, RemoteEntryNotFoundError
    except ImportError as exc:  # pragma: no cover - huggingface_hub ships with transformers
        raise RmnbError("source='released' needs huggingface_hub. Fix: pip install huggingface_hub, or set "
                        "source='live'.") from exc
    filename = f"{model_id.replace('/', '--')}.csv"
    asked, revision = revision, pinned_commit(revision) or revision
    try:
        path = hf_hub_download(repo_id=RELEASED_REPO, filename=filename, repo_type="dataset", revision=revision)
    except (LocalEntryNotFoundError, OfflineModeIsEnabled):  # offline, or the Hub unreachable, and not cached
        offline = env_flag("HF_HUB_OFFLINE")
        why = "HF_HUB_OFFLINE is set" if offline else "the Hugging Face Hub cannot be reached"
        raise RmnbError(f"source='released' downloads the authors' log-prob tables from the Hugging Face dataset "
                        f"{RELEASED_REPO} (revision {revision!r}), but {why} and {filename!r} is not in the local "
                        "cache. Fix: set source='live' to compute the log-probs here, or run once with network "
                        "access (unset HF_HUB_OFFLINE).") from None
    except RemoteEntryNotFoundError:
        raise RmnbError(f"The released log-prob dataset {RELEASED_REPO} has no table {filename!r} (it covers the "
                        f"paper's 12 Gemma 2 / Llama 3 models). Fix: set source='live' to compute {model_id!r} "
                        "now, or pick one of the paper's models.") from None
    except Exception as exc:  # network errors, a bad revision
        raise RmnbError(f"Could not download {filename!r} from {RELEASED_REPO} at revision {revision!r} "
                        f"({type(exc).__name__}: {str(exc)[:200]}). Fix: set source='live', or check the revision "
                        "and your network.") from None
    parts = os.path.normpath(path).split(os.sep)
    commit = parts[parts.index("snapshots") + 1] if "snapshots" in parts else str(revision)
    verify_or_record(path, filename, commit, asked)
    return path, commit


def released_logprobs(model_id: str, prompt_ids, revision: str | None = "main",
                      verbatim_tokens: bool = False) -> LogprobTable:
    """The authors' published log-probs of ``model_id`` for ``prompt_ids`` (network on first use).

    ``verbatim_tokens=False`` (default) reads the file as the authors' analysis code does (``pd.read_csv``
    defaults): decoded tokens such as ``"nan"``, ``"null"``, ``"NA"``, ``"None"`` or ``""`` become missing and are
    never matched to a word. ``True`` keeps every decoded string as written.
    """
    path, commit = released_file(model_id, revision)
    prompt_ids = list(prompt_ids)
    strict = dict(keep_default_na=False, dtype={"token_decoded": str}) if verbatim_tokens else {}
    frame = pd.read_csv(path, usecols=["token_id", "token_decoded", *prompt_ids], **strict)
    # dense by token id (position = id), so that ids index the columns as in a live table; ids absent from the
    # file get no decoded string (never matched) and log-prob -inf
    ids = frame.token_id.to_numpy(int)
    n = int(ids.max()) + 1
    decoded = np.full(n, None, dtype=object)
    decoded[ids] = frame.token_decoded.to_numpy(object)
    vocab = pd.DataFrame({"token_id": np.arange(n), "token_decoded": decoded})
    values = np.full((len(prompt_ids), n), -np.inf, dtype=np.float32)
    values[:, ids] = frame[prompt_ids].to_numpy(np.float32).T
    return LogprobTable(model_id, prompt_ids, values, vocab, "released", None, commit)
