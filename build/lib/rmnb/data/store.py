"""The results store: tidy parquet shards written atomically, keyed by content, with a JSON sidecar; resumable.

On disk (``root`` defaults to ``cache_dir("scores")``)::

    <root>/<org>__<model>@<revision>/<kind>-<responses>-<prompts>-<key12>/
        meta.json            sidecar: key, parameters, versions, device(s), wall time, status, shard size
        shards/p0003-c0001.parquet   one shard per (prompt, chunk of responses), while the run is in progress
        scores.parquet       all rows, written when the run is complete (the shards are then removed)

Rows (tidy, one per prompt x response): ``model_id, revision, dtype, kind, prompt_id, response, token_id, token,
n_tokens, score``. ``token_id``/``token`` are null for string responses.

The key is a sha256 of everything that changes the numbers (model id, revision, dtype, score head, kind,
prompt ids and texts, responses, conversation policy, options, rmnb version); batch size, shard size and device
are recorded in the sidecar but are not part of the key. A shard is written to a temporary file and renamed, so
an interrupted run leaves only complete shards; running the same job again skips them.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import shutil
import time
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

import rmnb
from rmnb.base.errors import RmnbError
from rmnb.base.provenance import git_sha, package_versions, slug

SCHEMA = pa.schema([
    ("model_id", pa.string()), ("revision", pa.string()), ("dtype", pa.string()), ("kind", pa.string()),
    ("prompt_id", pa.string()), ("response", pa.string()), ("token_id", pa.int64()), ("token", pa.string()),
    ("n_tokens", pa.int32()), ("score", pa.float64()),
])
COLUMNS = [f.name for f in SCHEMA]
SCORES_FILE = "scores.parquet"
META_FILE = "meta.json"



def content_key(params: dict) -> str:
    """sha256 (hex) of the canonical JSON of ``params`` (which should include the rmnb version)."""
    return hashlib.sha256(json.dumps(params, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


def _atomic_write_bytes(path: Path, write) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_json_atomic(path: Path, data: dict) -> None:
    payload = json.dumps(data, indent=2, ensure_ascii=False, default=str).encode()
    _atomic_write_bytes(path, lambda fh: fh.write(payload))


def write_parquet_atomic(path: Path, frame: pd.DataFrame) -> None:
    table = pa.Table.from_pandas(frame[COLUMNS], schema=SCHEMA, preserve_index=False)
    _atomic_write_bytes(path, lambda fh: pq.write_table(table, fh))


def read_parquet_checked(path: Path) -> pd.DataFrame:
    try:
        return pq.read_table(path).to_pandas()
    except Exception as exc:  # noqa: BLE001 - any failure means the file is unusable
        raise RmnbError(f"The score file {path} is corrupt or unreadable ({type(exc).__name__}: {exc}). "
                        "Fix: delete it and run the same `rmnb score` command again; the run resumes and "
                        "recomputes only what is missing.") from exc



class RunStore:
    """One run folder: shards, sidecar, resume, consolidation.

    ``params`` must hold everything that changes the numbers; ``labels`` names the folder
    (model id, revision, kind, responses name, prompts name).
    """

    def __init__(self, root: str | Path, params: dict, *, model_id: str, revision: str, kind: str,
                 responses_name: str, prompts_name: str):
        self.params = {**params, "rmnb_version": params.get("rmnb_version", rmnb.__version__)}
        self.key = content_key(self.params)
        model_dir = f"{slug(model_id)}@{slug(revision, 40)}"
        run_dir = f"{slug(kind, 12)}-{slug(responses_name, 24)}-{slug(prompts_name, 24)}-{self.key[:12]}"
        self.folder = Path(root).expanduser() / model_dir / run_dir
        self.shards = self.folder / "shards"
        self.meta_path = self.folder / META_FILE
        self.scores_path = self.folder / SCORES_FILE

    # -- state ------------------------------------------------------------------------------------------------
    def meta(self) -> dict:
        if not self.meta_path.exists():
            return {}
        try:
            return json.loads(self.meta_path.read_text())
        except json.JSONDecodeError as exc:
            raise RmnbError(f"The sidecar {self.meta_path} is corrupt. Fix: delete the folder {self.folder} "
                            "and run again.") from exc

    @property
    def complete(self) -> bool:
        return self.scores_path.exists() and self.meta().get("status") == "complete"

    def shard_path(self, prompt_index: int, chunk_index: int) -> Path:
        return self.shards / f"p{prompt_index:04d}-c{chunk_index:04d}.parquet"

    def has_shard(self, prompt_index: int, chunk_index: int) -> bool:
        return self.shard_path(prompt_index, chunk_index).exists()

    # -- writing ----------------------------------------------------------------------------------------------
    def open(self, *, shard_size: int, n_units: int, session: dict) -> int:
        """Create or resume the run; returns the shard size in force (a resumed run keeps its own)."""
        self.shards.mkdir(parents=True, exist_ok=True)
        for stale in self.shards.glob(".*.tmp"):  # temporary files of an interrupted writer
            stale.unlink(missing_ok=True)
        meta = self.meta()
        if meta and meta.get("key") != self.key:
            raise RmnbError(f"{self.meta_path} belongs to another run (key {meta.get('key')}). Fix: delete "
                            f"{self.folder} and run again.")
        if not meta:
            meta = {"key": self.key, "params": self.params, "status": "running", "shard_size": shard_size,
                    "n_units": n_units, "created": _now(), "wall_time_s": 0.0, "sessions": [],
                    "git_sha": git_sha()}
        meta["status"] = "running" if not self.complete else "complete"
        meta.setdefault("sessions", []).append({**session, "started": _now(), "versions": package_versions(python=True)})
        write_json_atomic(self.meta_path, meta)
        self._t0 = time.perf_counter()
        return int(meta["shard_size"])

    def write_shard(self, prompt_index: int, chunk_index: int, frame: pd.DataFrame) -> Path:
        path = self.shard_path(prompt_index, chunk_index)
        write_parquet_atomic(path, frame)
        return path

    def close(self, *, shards_written: int, finished: bool) -> None:
        """Record this session's wall time; when ``finished``, consolidate the shards into scores.parquet."""
        meta = self.meta()
        elapsed = time.perf_counter() - getattr(self, "_t0", time.perf_counter())
        meta["wall_time_s"] = round(meta.get("wall_time_s", 0.0) + elapsed, 3)
        if meta.get("sessions"):
            meta["sessions"][-1].update({"finished": _now(), "wall_time_s": round(elapsed, 3),
                                         "shards_written": shards_written})
        if finished and not self.complete:
            frame = self.read_shards()
            write_parquet_atomic(self.scores_path, frame)
            meta.update(status="complete", n_rows=len(frame), completed=_now())
            write_json_atomic(self.meta_path, meta)
            shutil.rmtree(self.shards, ignore_errors=True)
        else:
            write_json_atomic(self.meta_path, meta)

    # -- reading ----------------------------------------------------------------------------------------------
    def read_shards(self) -> pd.DataFrame:
        files = sorted(self.shards.glob("p*-c*.parquet")) if self.shards.exists() else []
        if not files:
            return pd.DataFrame({c: pd.Series(dtype=t.to_pandas_dtype()) for c, t in zip(COLUMNS, SCHEMA.types)})
        return pd.concat([read_parquet_checked(f) for f in files], ignore_index=True)

    def read(self) -> pd.DataFrame:
        return read_parquet_checked(self.scores_path) if self.complete else self.read_shards()


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def run_folders(path: str | Path) -> list[Path]:
    """Every run folder (one holding ``meta.json``) at or below ``path``."""
    path = Path(path).expanduser()
    if (path / META_FILE).exists():
        return [path]
    return sorted(p.parent for p in path.rglob(META_FILE))


def read_results(path: str | Path, *, include_incomplete: bool = False) -> pd.DataFrame:
    """Tidy scores of one run folder, or of every run below a parent folder.

    Columns: ``model_id, revision, dtype, kind, prompt_id, response, token_id, token, n_tokens, score``, plus
    ``run_key`` and ``complete``. Incomplete runs are skipped unless ``include_incomplete``.
    """
    path = Path(path).expanduser()
    if path.is_file() and path.suffix == ".parquet":
        return read_parquet_checked(path)
    folders = run_folders(path)
    if not folders:
        raise RmnbError(f"No rmnb score runs (folders with {META_FILE}) found at or below {path}.")
    frames = []
    for folder in folders:
        meta = json.loads((folder / META_FILE).read_text())
        complete = meta.get("status") == "complete" and (folder / SCORES_FILE).exists()
        if not complete and not include_incomplete:
            continue
        if complete:
            frame = read_parquet_checked(folder / SCORES_FILE)
        else:
            files = sorted((folder / "shards").glob("p*-c*.parquet"))
            if not files:
                continue
            frame = pd.concat([read_parquet_checked(f) for f in files], ignore_index=True)
        frames.append(frame.assign(run_key=meta.get("key"), complete=complete))
    if not frames:
        raise RmnbError(f"The runs below {path} are all incomplete; finish them (run the same command again) or "
                        "pass include_incomplete=True.")
    out = pd.concat(frames, ignore_index=True)
    out["token_id"] = out["token_id"].astype("Int64")
    return out


def read_meta(path: str | Path) -> dict:
    """The sidecar of one run folder."""
    return json.loads((Path(path).expanduser() / META_FILE).read_text())


__all__ = ["RunStore", "read_results", "read_meta", "run_folders", "content_key", "slug", "SCHEMA", "COLUMNS",
           "package_versions"]
