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

A run is complete only once verified: as many rows as planned (prompts x responses), every score finite, the
inputs' content hash recorded. **Content hashes**: each shard's sha256 is written beside it
(``shards/pPPPP-cCCCC.parquet.sha256``) and checked before the shard is reused or consolidated; a finished run
records the sha256 of ``scores.parquet`` in its sidecar (``scores_sha256``). Reading a stored run verifies it again
(:meth:`RunStore.problem`: the hash, then the whole table read back), so a damaged, truncated or edited run is
reported ("incomplete or damaged: rerun with --refresh"), never returned as finished. A run finished by an older
rmnb (no recorded hash) is verified by reading it whole, and its hash is recorded the next time it is reused. One job
at a time: :meth:`RunStore.lock` locks the run folder (``filelock``); shards and Ray workers (:mod:`rmnb.data.units`)
write each shard file (a work unit) under its own :meth:`RunStore.unit_lock`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

import rmnb
from rmnb.base.errors import RmnbError
from rmnb.base.provenance import git_sha, package_versions, slug
from rmnb.data import integrity
from rmnb.data.integrity import file_sha256, write_json_atomic  # also the store's, for the modules that use it

SCHEMA = pa.schema([
    ("model_id", pa.string()), ("revision", pa.string()), ("dtype", pa.string()), ("kind", pa.string()),
    ("prompt_id", pa.string()), ("response", pa.string()), ("token_id", pa.int64()), ("token", pa.string()),
    ("n_tokens", pa.int32()), ("score", pa.float64()),
])
COLUMNS = [f.name for f in SCHEMA]
SCORES_FILE = "scores.parquet"
META_FILE = "meta.json"
LOCK_FILE = ".lock"
REFRESH_HINT = "rerun with --refresh (Python: refresh=True) to score it again"

def content_key(params: dict) -> str:
    """sha256 (hex) of the canonical JSON of ``params`` (which should include the rmnb version)."""
    return hashlib.sha256(json.dumps(params, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


STALE_TMP_S = 600  # a temporary file this old belongs to a writer that was killed (a write takes seconds)


def write_parquet_atomic(path: Path, frame: pd.DataFrame) -> str:
    """Write ``frame`` as parquet, atomically; returns the sha256 (hex) of the bytes written."""
    table = pa.Table.from_pandas(frame[COLUMNS], schema=SCHEMA, preserve_index=False)
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    payload = sink.getvalue().to_pybytes()
    integrity.atomic_write_bytes(path, lambda fh: fh.write(payload))
    return hashlib.sha256(payload).hexdigest()


def check_scores(frame: pd.DataFrame, expected_rows: int, what: str) -> None:
    """Raise unless ``frame`` has ``expected_rows`` rows and every score is finite."""
    if len(frame) != expected_rows:
        raise RmnbError(f"{what} has {len(frame)} rows where the plan has {expected_rows}; it is not stored as a "
                        "result. Fix: report it (a scoring fault), or " + REFRESH_HINT + ".")
    bad = ~np.isfinite(frame["score"].to_numpy(dtype=float))
    if bad.any():
        raise RmnbError(f"{what} has {int(bad.sum())} scores that are not finite (NaN or infinite), first for "
                        f"{frame.loc[bad, 'response'].iloc[0]!r}; it is not stored as a result. Fix: try "
                        "--dtype float32 (a half-precision overflow), or report it.")


def read_parquet_checked(path: Path) -> pd.DataFrame:
    try:
        return pq.read_table(path).to_pandas()
    except Exception as exc:  # noqa: BLE001 - any failure means the file is unusable
        raise RmnbError(f"The score file {path} is corrupt or unreadable ({type(exc).__name__}: {exc}): the run "
                        f"is incomplete or damaged. Fix: {REFRESH_HINT}; or delete the file and run the same "
                        "`rmnb score` command again (the run resumes and recomputes only what is missing).") from exc


class RunStore:
    """One run folder: shards, sidecar, resume, verification, consolidation, one writer at a time.

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
        self._lock = None
        self.shared = False  # True in a shard's or a Ray worker's process: units are written under unit locks

    # -- state ------------------------------------------------------------------------------------------------
    def meta(self) -> dict:
        if not self.meta_path.exists():
            return {}
        try:
            return json.loads(self.meta_path.read_text())
        except json.JSONDecodeError as exc:
            raise RmnbError(f"The sidecar {self.meta_path} is corrupt: the run is incomplete or damaged; "
                            f"{REFRESH_HINT}.") from exc

    def problem(self, meta: dict | None = None) -> str | None:
        """Why a run marked complete cannot be trusted (``None``: verified). Checks the row count against the
        plan and the sidecar, that scores.parquet reads, that every score is finite, and the recorded sizes."""
        meta = self.meta() if meta is None else meta
        return run_problem(self.folder, meta)

    @property
    def complete(self) -> bool:
        meta = self.meta()
        return meta.get("status") == "complete" and self.problem(meta) is None

    def shard_path(self, prompt_index: int, chunk_index: int) -> Path:
        return self.shards / f"p{prompt_index:04d}-c{chunk_index:04d}.parquet"

    def has_shard(self, prompt_index: int, chunk_index: int) -> bool:
        return self.shard_path(prompt_index, chunk_index).exists()

    # -- one writer at a time ----------------------------------------------------------------------------------
    def lock(self, wait: bool | float = False):
        """An exclusive lock on the run folder (a context manager). A second writer fails at once with a message
        that says what to do, or, with ``wait``, waits until the first is done (a number: at most that many
        seconds)."""
        import filelock

        self.folder.mkdir(parents=True, exist_ok=True)
        store = self
        timeout = (-1 if wait is True else 0) if isinstance(wait, bool) else float(wait)

        class _Held:
            def __enter__(self):
                store._lock = filelock.FileLock(store.folder / LOCK_FILE, timeout=timeout)
                try:
                    store._lock.acquire()
                except filelock.Timeout:
                    store._lock = None
                    raise RmnbError(f"another rmnb process is writing this run ({store.folder}): two writers on "
                                    "one run would duplicate and mix their work. Fix: wait for it to finish and "
                                    "run the same command again (it then returns the finished run, or resumes it), "
                                    "or pass --wait (Python: wait=True) to wait for it.") from None
                return store

            def __exit__(self, *exc):
                if store._lock is not None:
                    store._lock.release()
                    store._lock = None
                return False

        return _Held()

    def unit_lock(self, prompt_index: int, chunk_index: int):
        """The lock of one work unit (``filelock.FileLock``, not yet acquired): whoever holds it is scoring that
        unit, so concurrent writers (shards, Ray workers) never score a unit twice. A killed writer's lock is
        released by the operating system."""
        import filelock

        locks = self.folder / ".locks"
        locks.mkdir(parents=True, exist_ok=True)
        return filelock.FileLock(locks / f"p{prompt_index:04d}-c{chunk_index:04d}.lock")

    def _require_lock(self) -> None:
        if self.shared:  # a worker of a sharded or Ray job: each unit under its own lock (unit_lock)
            return
        if self._lock is None or not self._lock.is_locked:
            raise RuntimeError("RunStore: take the lock (with store.lock(): ...) before writing")

    # -- writing ----------------------------------------------------------------------------------------------
    def reset(self) -> None:
        """Remove the stored run (sidecar, scores, shards), keeping the lock: ``--refresh``."""
        self._require_lock()
        shutil.rmtree(self.shards, ignore_errors=True)
        for path in (self.scores_path, self.meta_path):
            path.unlink(missing_ok=True)

    def open(self, *, shard_size: int, n_units: int, session: dict, expected_rows: int | None = None,
             inputs_sha256: str | None = None, warnings: list[str] | None = None) -> int:
        """Create or resume the run; returns the shard size in force (a resumed run keeps its own). Existing
        shards are verified (readable, as many rows as planned); a damaged one stops the run with the fix."""
        self._require_lock()
        if shard_size < 1 or n_units < 0:
            raise RmnbError(f"shard size must be 1 or more (got {shard_size}). Fix: pass a positive --shard-size.")
        self.shards.mkdir(parents=True, exist_ok=True)
        for stale in self.shards.glob(".*.tmp"):  # of a writer that was killed (other writers' are recent)
            try:
                if time.time() - stale.stat().st_mtime > STALE_TMP_S:
                    stale.unlink(missing_ok=True)
            except OSError:
                pass
        meta = self.meta()
        if meta and meta.get("key") != self.key:
            raise RmnbError(f"{self.meta_path} belongs to another run (key {meta.get('key')}): the run is "
                            f"incomplete or damaged; {REFRESH_HINT}.")
        if not meta:
            meta = {"key": self.key, "params": self.params, "status": "running", "shard_size": shard_size,
                    "n_units": n_units, "expected_rows": expected_rows, "inputs_sha256": inputs_sha256,
                    "created": _now(), "wall_time_s": 0.0, "sessions": [], "git_sha": git_sha()}
        if int(meta.get("shard_size") or 0) < 1:
            raise RmnbError(f"{self.meta_path} records shard size {meta.get('shard_size')}: the run is incomplete "
                            f"or damaged; {REFRESH_HINT}.")
        if warnings:
            meta["warnings"] = sorted(set(meta.get("warnings", [])) | set(warnings))
        meta["status"] = "running"
        self._session = os.urandom(6).hex()
        meta.setdefault("sessions", []).append({**session, "id": self._session, "started": _now(),
                                                "versions": package_versions(python=True)})
        write_json_atomic(self.meta_path, meta)
        self._t0 = time.perf_counter()
        return int(meta["shard_size"])

    def check_shards(self, expected: dict) -> None:
        """``expected``: {(prompt index, chunk index): rows}. Raise if a stored shard has changed since it was
        written (its sha256), is unreadable or short."""
        for (p, c), rows in expected.items():
            path = self.shard_path(p, c)
            if not path.exists():
                continue
            why = integrity.shard_problem(path, rows)
            if why:
                raise RmnbError(f"The stored shard {path} cannot be used ({why}): the run is incomplete or damaged; "
                                f"{REFRESH_HINT}.")

    def write_shard(self, prompt_index: int, chunk_index: int, frame: pd.DataFrame,
                    expected_rows: int | None = None) -> Path:
        self._require_lock()
        path = self.shard_path(prompt_index, chunk_index)
        if expected_rows is not None:
            check_scores(frame, expected_rows, f"shard {path.name} of {self.folder}")
        digest = write_parquet_atomic(path, frame)
        integrity.write_text_atomic(integrity.hash_file(path), digest + "\n")
        return path

    def close(self, *, shards_written: int, finished: bool, session: dict | None = None) -> None:
        """Record this session's wall time; when ``finished``, verify the shards (row count, finite scores),
        consolidate them into scores.parquet and mark the run complete."""
        self._require_lock()
        meta = self.meta()
        elapsed = time.perf_counter() - getattr(self, "_t0", time.perf_counter())
        meta["wall_time_s"] = round(meta.get("wall_time_s", 0.0) + elapsed, 3)
        mine = [s for s in meta.get("sessions", []) if s.get("id") == getattr(self, "_session", None)]
        if mine:
            mine[-1].update({"finished": _now(), "wall_time_s": round(elapsed, 3),
                            "shards_written": shards_written})
            mine[-1].update(session or {})
        if finished:
            frame = self.read_shards()
            expected = meta.get("expected_rows")
            try:
                check_scores(frame, len(frame) if expected is None else int(expected), f"the run {self.folder}")
            except RmnbError:
                write_json_atomic(self.meta_path, meta)
                raise
            digest = write_parquet_atomic(self.scores_path, frame)
            meta.update(status="complete", n_rows=len(frame), completed=_now(), scores_sha256=digest)
            write_json_atomic(self.meta_path, meta)
            shutil.rmtree(self.shards, ignore_errors=True)
            shutil.rmtree(self.folder / ".locks", ignore_errors=True)
        else:
            write_json_atomic(self.meta_path, meta)

    # -- reading ----------------------------------------------------------------------------------------------
    def record_content_hash(self) -> None:
        """Record the sha256 of a finished run's scores.parquet where an older rmnb did not (under the lock, once
        the run has been verified by reading it whole)."""
        self._require_lock()
        meta = self.meta()
        if meta.get("status") == "complete" and not meta.get("scores_sha256"):
            meta["scores_sha256"] = file_sha256(self.scores_path)
            write_json_atomic(self.meta_path, meta)

    def close_after_failure(self, *, shards_written: int, session: dict | None = None) -> None:
        """Record this session after an error or an interrupt, never raising: the error that stopped the run is
        the one to see (a full disk that stopped a shard also stops the sidecar's update)."""
        try:
            self.close(shards_written=shards_written, finished=False, session=session)
        except (OSError, RmnbError, RuntimeError):
            pass

    def read_shards(self) -> pd.DataFrame:
        """Every stored shard, each verified first (its sha256, then read whole)."""
        files = sorted(self.shards.glob("p*-c*.parquet")) if self.shards.exists() else []
        if not files:
            return pd.DataFrame({c: pd.Series(dtype=t.to_pandas_dtype()) for c, t in zip(COLUMNS, SCHEMA.types)})
        return pd.concat([read_shard_checked(f) for f in files], ignore_index=True)

    def read(self) -> pd.DataFrame:
        return read_parquet_checked(self.scores_path) if self.complete else self.read_shards()


def read_shard_checked(path: Path) -> pd.DataFrame:
    """One stored shard, after checking it against its recorded sha256."""
    why = integrity.changed_problem(path, integrity.recorded_hash(path))
    if why:
        raise RmnbError(f"The stored shard {path} cannot be used ({why}): the run is incomplete or damaged; "
                        f"{REFRESH_HINT}.")
    return read_parquet_checked(path)


def run_problem(folder: Path, meta: dict) -> str | None:
    """Why the run in ``folder`` (sidecar ``meta``) marked complete cannot be trusted; ``None`` when verified:
    scores.parquet has the sha256 recorded when the run finished, reads whole, has the planned rows, every score
    finite, and the recorded sizes are valid."""
    scores = folder / SCORES_FILE
    if not scores.exists():
        return f"{SCORES_FILE} is missing"
    if int(meta.get("shard_size") or 1) < 1 or any(int(s.get("batch_size") or 1) < 1 for s in meta.get("sessions", [])):
        return "it was written with a batch or shard size below 1"
    planned = meta.get("expected_rows", meta.get("n_rows"))
    return integrity.changed_problem(scores, meta.get("scores_sha256")) or integrity.table_problem(scores, planned)


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
        meta = read_meta(folder)
        complete = meta.get("status") == "complete"
        if complete and (why := run_problem(folder, meta)):
            raise RmnbError(f"The stored run {folder} is incomplete or damaged ({why}): {REFRESH_HINT} (the same "
                            "`rmnb score` command with --refresh).")
        if not complete and not include_incomplete:
            continue
        if complete:
            frame = read_parquet_checked(folder / SCORES_FILE)
        else:
            files = sorted((folder / "shards").glob("p*-c*.parquet"))
            if not files:
                continue
            frame = pd.concat([read_shard_checked(f) for f in files], ignore_index=True)
        frames.append(frame.assign(run_key=meta.get("key"), complete=complete))
    if not frames:
        raise RmnbError(f"The runs below {path} are all incomplete; finish them (run the same command again) or "
                        "pass include_incomplete=True.")
    out = pd.concat(frames, ignore_index=True)
    out["token_id"] = out["token_id"].astype("Int64")
    return out


def read_meta(path: str | Path) -> dict:
    """The sidecar of one run folder."""
    path = Path(path).expanduser() / META_FILE
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise RmnbError(f"The sidecar {path} is unreadable ({type(exc).__name__}): the run is incomplete or "
                        f"damaged; {REFRESH_HINT}.") from None


def rows_per_second(folders) -> float:
    """Rows scored per second when these runs were computed (their recorded rows and wall time; reading them back
    from the cache later reports the rate of the run that computed them). ``nan`` without a recorded time."""
    metas = [read_meta(f) for f in folders]
    rows = sum(m.get("n_rows", 0) for m in metas)
    seconds = sum(m.get("wall_time_s") or 0.0 for m in metas)
    return rows / seconds if seconds > 0 else float("nan")


__all__ = [
    "RunStore", "run_problem", "file_sha256", "write_json_atomic", "check_scores", "REFRESH_HINT", "read_results", "read_meta", "rows_per_second",
    "run_folders", "content_key", "slug", "SCHEMA", "COLUMNS", "package_versions"
]
