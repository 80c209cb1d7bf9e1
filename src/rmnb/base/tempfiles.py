"""Temporary folders of interrupted writers: ``<name>.tmp-<pid>`` next to the folder they were to become."""

from __future__ import annotations

import glob
import os
import shutil
from pathlib import Path


def pid_running(pid: int) -> bool:
    """Whether a process with this id runs on this machine (a process we may not signal counts as running)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def remove_stale_temps(target: str | Path) -> list[Path]:
    """Remove ``<target>.tmp-<pid>`` siblings whose process no longer runs (a writer killed mid-way); a folder of
    a writer still running is left alone. Returns what was removed."""
    target = Path(target)
    removed = []
    for path in target.parent.glob(f"{glob.escape(target.name)}.tmp-*"):
        pid = path.name.rsplit(".tmp-", 1)[1]
        if not pid.isdigit() or int(pid) == os.getpid() or pid_running(int(pid)):
            continue
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed.append(path)
    return removed
