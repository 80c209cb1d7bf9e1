"""Temporary files of writers that died (rmnb.base.tempfiles): removed by the next writer, a running one's left alone."""

import os
import subprocess
import sys

from rmnb.base.tempfiles import remove_stale_temps


def test_stray_temp_model_folders_of_dead_writers_are_removed(tmp_path):
    target = tmp_path / "model"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    (tmp_path / f"model.tmp-{dead}").mkdir()
    (tmp_path / f"model.tmp-{dead}" / "weights").write_text("half")
    (tmp_path / f"model.tmp-{os.getppid()}").mkdir()  # a writer still running: left alone
    (tmp_path / "other.tmp-1").mkdir()
    removed = remove_stale_temps(target)
    assert [p.name for p in removed] == [f"model.tmp-{dead}"]
    assert (tmp_path / f"model.tmp-{os.getppid()}").exists() and (tmp_path / "other.tmp-1").exists()
