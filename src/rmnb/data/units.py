"""Work units of a scoring run: plan, shards, status and checks of the results store.

A run (one model, one kind, prompts x responses) splits deterministically into **units**: one prompt x one chunk
of ``shard_size`` consecutive responses, numbered ``(prompt index, chunk index)`` in prompt-major order. Each unit
is one file of the store (``shards/pPPPP-cCCCC.parquet``, written atomically), so a unit is either stored whole
or not at all, and running a unit twice only rewrites the same file.

``--shard K/N`` takes every N-th unit from the K-th (round robin: each shard gets a share of every prompt);
the N shards together cover every unit exactly once (:func:`shard_units`). :func:`run_status` says which units
of each run are stored; :func:`check_runs` verifies a store: complete, every (model, prompt, response) once,
no file truncated.
"""

from __future__ import annotations

import hashlib
import json
import platform
import re
from pathlib import Path

import pandas as pd

from rmnb.base.errors import RmnbError
from rmnb.base.tempfiles import pid_running
from rmnb.data.integrity import shard_problem
from rmnb.data.store import (
    META_FILE,
    SCORES_FILE,
    read_meta,
    read_parquet_checked,
    run_folders,
    run_problem,
)

UNIT_FILE = re.compile(r"^p(\d{4})-c(\d{4})\.parquet$")


def plan_units(n_prompts: int, n_responses: int, shard_size: int) -> dict[tuple[int, int], int]:
    """{(prompt index, chunk index): rows} for every unit, in order."""
    n_chunks = -(-n_responses // shard_size)
    return {(p, c): min(shard_size, n_responses - c * shard_size) for p in range(n_prompts) for c in range(n_chunks)}


def shard_units(units, k: int, n: int) -> list:
    """Shard ``k`` of ``n`` (0 <= k < n): units ``k, k + n, k + 2n, ...`` of the ordered plan."""
    if not (isinstance(n, int) and isinstance(k, int) and n >= 1 and 0 <= k < n):
        raise RmnbError(f"shard {k}/{n} does not exist: write K/N with 0 <= K < N (e.g. --shard 0/4).")
    return list(units)[k::n]


def unit_name(prompt_index: int, chunk_index: int) -> str:
    return f"p{prompt_index:04d}-c{chunk_index:04d}"


def _plan_of(meta: dict) -> tuple[list[str], dict[tuple[int, int], int]]:
    params = meta.get("params") or {}
    prompt_ids = [str(p[0]) for p in params.get("prompts") or []]
    n_resp = int((params.get("responses") or {}).get("n") or 0)
    size = int(meta.get("shard_size") or 0)
    if not prompt_ids or n_resp < 1 or size < 1:
        raise RmnbError("its sidecar does not record the plan (prompts, responses, shard size)")
    return prompt_ids, plan_units(len(prompt_ids), n_resp, size)


def run_status(path: str | Path) -> pd.DataFrame:
    """One row per run and prompt: ``model_id, kind, run, prompt_id, units_done, units_total, missing`` (the
    missing units' chunk numbers), ``status``. ``path``: a run folder or a results root."""
    rows = []
    for folder in run_folders(path):
        meta = read_meta(folder)
        try:
            prompt_ids, plan = _plan_of(meta)
        except RmnbError as exc:
            rows.append({"model_id": (meta.get("params") or {}).get("model_id"), "run": folder.name,
                         "status": f"unreadable: {exc}"})
            continue
        complete = meta.get("status") == "complete" and (folder / SCORES_FILE).exists()
        state = "complete" if complete else writer_state(meta)
        stored = set() if complete else {(int(m[1]), int(m[2])) for f in (folder / "shards").glob("p*-c*.parquet")
                                         if (m := UNIT_FILE.match(f.name))}
        params = meta["params"]
        for p, prompt_id in enumerate(prompt_ids):
            chunks = [c for (pp, c) in plan if pp == p]
            missing = [] if complete else [c for c in chunks if (p, c) not in stored]
            rows.append({"model_id": params.get("model_id"), "kind": params.get("kind"), "run": folder.name,
                         "prompt_id": prompt_id, "units_done": len(chunks) - len(missing),
                         "units_total": len(chunks), "missing": missing,
                         "status": state})
    if not rows:
        raise RmnbError(f"No rmnb score runs (folders with {META_FILE}) found at or below {path}.")
    return pd.DataFrame(rows)


def writer_state(meta: dict) -> str:
    """What an unfinished run's sidecar says of its writers: ``running`` (a session still open whose process runs,
    or runs on another machine), ``abandoned`` (every open session's process on this machine is gone: killed),
    ``stopped`` (no session open: interrupted or failed and recorded, or waiting for the other shards)."""
    if meta.get("status") == "complete":
        return "complete"
    open_sessions = [s for s in meta.get("sessions") or [] if "finished" not in s]
    if not open_sessions:
        return "stopped"
    here = platform.node()
    if all(s.get("host") == here and str(s.get("pid", "")).isdigit() and not pid_running(int(s["pid"]))
           for s in open_sessions):
        return "abandoned"
    return "running"


STATE_HINTS = {
    "abandoned": "abandoned: its writer was killed; the same rmnb score command resumes it",
    "stopped": "stopped: no writer; the same rmnb score command resumes it (or run the missing shards)",
}


def format_status(frame: pd.DataFrame) -> str:
    """``run_status`` as text: a line per run and prompt, a total per run."""
    lines = []
    for (model, run), group in frame.groupby(["model_id", "run"], sort=False, dropna=False):
        done, total = int(group.units_done.fillna(0).sum()), int(group.units_total.fillna(0).sum())
        state = group.status.iloc[0]
        lines.append(f"{model}  {run}: {done}/{total} units done ({STATE_HINTS.get(state, state)})")
        for row in group.itertuples():
            if isinstance(row.missing, list) and row.missing:
                shown = ",".join(map(str, row.missing[:8])) + ("..." if len(row.missing) > 8 else "")
                lines.append(f"  {row.prompt_id:<28} {row.units_done}/{row.units_total} done, missing chunks "
                             f"{shown}")
            elif isinstance(row.missing, list):
                lines.append(f"  {row.prompt_id:<28} {row.units_done}/{row.units_total} done")
    return "\n".join(lines)


def check_run(folder: Path) -> list[str]:
    """Problems of one run folder (empty: verified complete, every (model, prompt, response) exactly once).
    Every file is checked against its recorded sha256 and read whole; nothing here raises for a damaged file."""
    try:
        return _check_run(folder)
    except (RmnbError, OSError, ValueError, KeyError) as exc:  # a damaged sidecar or file: a problem, not a crash
        return [f"cannot be verified ({type(exc).__name__}: {exc})"]


def _check_run(folder: Path) -> list[str]:
    try:
        meta = read_meta(folder)
        prompt_ids, plan = _plan_of(meta)
    except RmnbError as exc:
        return [str(exc)]
    problems = []
    stray = sorted(f.name for f in (folder / "shards").glob("p*-c*.parquet")) if (folder / "shards").exists() else []
    if meta.get("status") == "complete":
        why = run_problem(folder, meta)
        if why:
            return [f"marked complete, but {why}"]
        frames = [read_parquet_checked(folder / SCORES_FILE)]
        if stray:
            problems.append(f"{len(stray)} unit file(s) left beside the finished {SCORES_FILE}: {stray[:3]}")
    else:
        frames = []
        for (p, c), rows in plan.items():
            path = folder / "shards" / f"{unit_name(p, c)}.parquet"
            if not path.exists():
                continue
            why = shard_problem(path, rows)
            if why:
                problems.append(f"unit {path.name} is truncated, changed or unreadable: {why}")
                continue
            unit = read_parquet_checked(path)
            foreign = sorted(set(unit.prompt_id) - {prompt_ids[p]})
            if foreign:
                problems.append(f"unit {path.name} holds rows of prompt {foreign[0]!r}, not {prompt_ids[p]!r}: a "
                                "duplicated or misplaced unit")
            frames.append(unit)
        missing = [unit_name(*u) for u in plan if not (folder / "shards" / f"{unit_name(*u)}.parquet").exists()]
        unplanned = [name for name in stray if (m := UNIT_FILE.match(name)) and (int(m[1]), int(m[2])) not in plan]
        if missing:
            problems.append(f"incomplete: {len(missing)} of {len(plan)} units missing (first {missing[:3]})")
        if unplanned:
            problems.append(f"unit files outside the plan: {unplanned[:3]}")
    if frames:
        frame = pd.concat(frames, ignore_index=True)
        unknown = sorted(set(frame.prompt_id) - set(prompt_ids))
        if unknown:
            problems.append(f"rows for prompts outside the plan: {unknown[:3]}")
        n_chunks = len(plan) // len(prompt_ids)
        for p, prompt_id in enumerate(prompt_ids):
            rows = frame[frame.prompt_id == prompt_id]
            complete_prompt = meta.get("status") == "complete" or all(
                (folder / "shards" / f"{unit_name(p, c)}.parquet").exists() for c in range(n_chunks))
            if complete_prompt and not _same_responses(rows, meta["params"]["responses"]):
                dup = rows.duplicated(["response", "token_id"], keep=False)
                example = f", e.g. {rows.loc[dup, 'response'].iloc[0]!r} more than once" if dup.any() else ""
                problems.append(f"prompt {prompt_id!r}: its {len(rows)} rows are not the "
                                f"{meta['params']['responses']['n']} planned responses each exactly once "
                                f"(duplicates, missing or foreign rows{example})")
    return problems


def _same_responses(rows: pd.DataFrame, planned: dict) -> bool:
    """Whether ``rows`` (one prompt's, in store order) are the planned responses, in order, each once: their
    fingerprint (``Responses.fingerprint``: kind, texts, ids) is the one recorded in the sidecar."""
    ids = rows["token_id"]
    ids = [] if ids.isna().all() else [int(i) for i in ids]
    payload = json.dumps([planned.get("kind"), rows["response"].tolist(), ids], ensure_ascii=False)
    return len(rows) == int(planned.get("n", -1)) and hashlib.sha256(payload.encode()).hexdigest() == planned.get(
        "sha256")


def check_runs(path: str | Path) -> dict[Path, list[str]]:
    """``check_run`` for every run at or below ``path``."""
    folders = run_folders(path)
    if not folders:
        raise RmnbError(f"No rmnb score runs (folders with {META_FILE}) found at or below {path}.")
    return {folder: check_run(folder) for folder in folders}


__all__ = ["plan_units", "shard_units", "unit_name", "run_status", "format_status", "writer_state", "check_run",
           "check_runs"]
