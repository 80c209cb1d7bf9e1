"""Stop a local Ray instance's processes when the process that started it is gone.

A driver killed with SIGKILL runs no cleanup: Ray's own processes mostly follow it, but two agents
(``ray::DashboardAgent``, ``ray::RuntimeEnvAgent``) are left running for ever, ignoring SIGTERM.
:func:`rmnb.inference.distributed.connect` therefore starts this module, detached, beside every local Ray
instance it starts (never beside a cluster it joins)::

    python -m rmnb.inference.ray_watchdog DRIVER_PID NODE_ID

It waits for the driver to end, then stops every process of this machine whose environment names that Ray node
(``RAY_NODE_ID``): SIGTERM, then SIGKILL after :data:`GRACE_S`. Linux only (it reads ``/proc``); elsewhere it
exits at once. It imports only the standard library and :mod:`rmnb.base`, so it starts in a fraction of a second.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

from rmnb.base.tempfiles import pid_running

POLL_S = 1.0   # how often the driver is looked for
GRACE_S = 3.0  # between SIGTERM and SIGKILL


def node_processes(node_id: str, proc: Path = Path("/proc")) -> list[int]:
    """Process ids whose environment holds ``RAY_NODE_ID=<node_id>`` (those this user may read)."""
    marker = f"RAY_NODE_ID={node_id}".encode()
    pids = []
    for entry in proc.iterdir() if proc.is_dir() else []:
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if marker in (entry / "environ").read_bytes().split(b"\0"):
                pids.append(int(entry.name))
        except OSError:  # gone, or another user's
            continue
    return pids


def stop(pids: list[int]) -> None:
    """SIGTERM, then SIGKILL for those still there after :data:`GRACE_S`."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            try:
                os.kill(pid, sig)
            except OSError:
                pass
        deadline = time.monotonic() + GRACE_S
        while sig == signal.SIGTERM and time.monotonic() < deadline and any(map(alive, pids)):
            time.sleep(0.1)


def alive(pid: int) -> bool:
    """Running, and not a zombie (a killed process its parent has not reaped yet)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return pid_running(pid)
    return state != "Z"


def watch(driver_pid: int, node_id: str) -> None:
    if not node_id or not Path("/proc").is_dir():
        return
    while alive(driver_pid):
        time.sleep(POLL_S)
    stop(node_processes(node_id))


if __name__ == "__main__":
    watch(int(sys.argv[1]), sys.argv[2])
