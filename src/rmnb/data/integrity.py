"""The files of the results store: atomic writes (a file is whole or absent) and content checks (a file's sha256,
recorded beside a shard or in a run's sidecar, and whole-table reads of a parquet file). :mod:`rmnb.data.store`
uses them; each check returns what is wrong in words (``None``: fine) and never raises for a damaged file.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from rmnb.base.provenance import slug


def atomic_write_bytes(path: Path, write) -> None:
    # host, pid and a random part: writers on several machines share one folder (a shared filesystem)
    tmp = path.with_name(f".{path.name}.{slug(platform.node(), 24)}-{os.getpid()}-{os.urandom(3).hex()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        if exc.filename is None and exc.errno is not None:  # a failed write names no file: name this one
            raise OSError(exc.errno, exc.strerror, str(path)) from exc
        raise
    finally:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:  # cleanup never hides the error that stopped the write
            pass


def write_text_atomic(path: Path, text: str) -> None:
    payload = text.encode()
    atomic_write_bytes(path, lambda fh: fh.write(payload))


def write_json_atomic(path: Path, data: dict) -> None:
    payload = json.dumps(data, indent=2, ensure_ascii=False, default=str).encode()
    atomic_write_bytes(path, lambda fh: fh.write(payload))


def file_sha256(path: Path) -> str:
    """sha256 (hex) of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


HASH_SUFFIX = ".sha256"


def hash_file(path: Path) -> Path:
    """Where the sha256 of a shard is kept: beside it, ``<shard>.parquet.sha256``."""
    return path.with_name(path.name + HASH_SUFFIX)


def changed_problem(path: Path, recorded: str | None) -> str | None:
    """Why ``path`` no longer holds the bytes whose sha256 was ``recorded`` (``None``: the same, or none recorded)."""
    if not recorded:
        return None
    try:
        actual = file_sha256(path)
    except OSError as exc:
        return f"{path.name} is unreadable ({type(exc).__name__}: {exc.strerror or exc})"
    if actual != recorded:
        return (f"{path.name} has changed since it was written (its sha256 is {actual[:12]}..., the run recorded "
                f"{recorded[:12]}...)")
    return None


def table_problem(path: Path, expected_rows: int | None) -> str | None:
    """Read the whole parquet file: why it is unusable (unreadable page, wrong row count, non-finite score)."""
    try:
        table = pq.read_table(path)
    except Exception as exc:  # noqa: BLE001 - any failure means the file is unusable
        return f"{path.name} is unreadable ({type(exc).__name__}: {exc})"
    if expected_rows is not None and table.num_rows != int(expected_rows):
        return f"{path.name} has {table.num_rows} rows where the plan has {expected_rows}"
    if "score" not in table.column_names:
        return f"{path.name} has no score column"
    values = table.column("score").to_numpy(zero_copy_only=False).astype(float)
    if not np.isfinite(values).all():
        return f"{path.name} holds scores that are not finite"
    return None


def shard_problem(path: Path, expected_rows: int | None) -> str | None:
    """Why a stored shard cannot be used: its bytes differ from its recorded sha256, or its table does not read
    whole with the planned rows. A shard without a recorded hash (an older rmnb, or a writer killed between the
    shard and its hash) is checked by reading it."""
    try:
        expected_hash = recorded_hash(path)
    except OSError as exc:
        return f"{hash_file(path).name} is unreadable ({type(exc).__name__}: {exc.strerror or exc})"
    return changed_problem(path, expected_hash) or table_problem(path, expected_rows)


def recorded_hash(path: Path) -> str | None:
    """The sha256 recorded beside a shard (``None`` when none was)."""
    file = hash_file(path)
    return file.read_text().strip() if file.exists() else None
