"""Next-token log-probability tables: one model's full log-prob vector per prompt, computed live
(:func:`rmnb.inference.logprobs.live_logprobs`) or read from the authors' release.

The release is the Hugging Face dataset ``Oxford-HIPlab/iclr2026-lm-logprobs`` (one CSV per model,
``<org>--<name>.csv``: ``token_id, token_name, token_decoded`` and the 54 prompt columns, the layout the authors'
``scripts/generate_logprobs.py`` writes), downloaded with ``huggingface_hub`` at a pinned revision. It needs the
network; offline it raises an :class:`~rmnb.base.errors.RmnbError` that names the fix.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pandas as pd

from rmnb.base.errors import RmnbError
from rmnb.base.paths import env_flag

RELEASED_REPO = "Oxford-HIPlab/iclr2026-lm-logprobs"


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


def released_file(model_id: str, revision: str | None = "main") -> tuple[str, str]:
    """Download (or find in the Hugging Face cache) the authors' log-prob CSV of ``model_id``; returns
    ``(path, resolved commit)``. Raises an :class:`RmnbError` naming the fix when offline or absent."""
    try:
        from huggingface_hub import hf_hub_download
        from huggingface_hub.errors import LocalEntryNotFoundError, OfflineModeIsEnabled, RemoteEntryNotFoundError
    except ImportError as exc:  # pragma: no cover - huggingface_hub ships with transformers
        raise RmnbError("source='released' needs huggingface_hub. Fix: pip install huggingface_hub, or set "
                        "source='live'.") from exc
    filename = f"{model_id.replace('/', '--')}.csv"
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
