"""The Ray executor on a local Ray instance with 2 CPUs and a tiny offline model: same scores as one
process, and a worker killed mid-job costs nothing (every unit exactly once). Skipped without Ray."""

import os
import signal
import threading
import time

import pandas as pd
import pytest

ray = pytest.importorskip("ray", reason="Ray is not installed: pip install 'rmnb[ray]' (CI installs the extra)")

import rmnb.inference.job as job  # noqa: E402
from _tiny import WORDS  # noqa: E402
from conftest import save_tiny_rm  # noqa: E402
from rmnb.data.store import read_meta, read_results  # noqa: E402
from rmnb.data.units import check_runs  # noqa: E402

PROMPTS = "greatest_ever_one,worst_ever_one,best_ever_one"
KILL_PROMPTS = ("best_ever_one,best_world_please,greatest_ever_single,greatest_time_one,good_ever_please,"
                "good_time_single,worst_world_one,worst_time_please,bad_world_single,terrible_ever_one")
COLS = ["prompt_id", "response", "score"]


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, configure_logging=False, log_to_driver=False,
             object_store_memory=100 * 1024 * 1024)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return save_tiny_rm(tmp_path_factory.mktemp("models"), WORDS * 4)


def _sorted(frame):
    return frame.sort_values(["prompt_id", "response", "token_id"])[COLS].reset_index(drop=True)


@pytest.mark.slow
def test_four_ray_workers_equal_one_process(cluster, model_dir, tmp_path):
    words = str(model_dir / "words.txt")
    one = read_results(job.score(str(model_dir / "rm"), PROMPTS, words, out=tmp_path / "one", progress=False,
                                 shard_size=5))
    folder = job.score(str(model_dir / "rm"), PROMPTS, words, out=tmp_path / "ray", progress=False, shard_size=5,
                       executor="ray", workers=4)
    meta = read_meta(folder)
    assert meta["status"] == "complete" and meta["sessions"][-1]["executor"] == "ray"
    assert meta["sessions"][-1]["workers"] == 4
    assert check_runs(folder)[folder] == []
    pd.testing.assert_frame_equal(_sorted(read_results(folder)), _sorted(one), atol=1e-5, rtol=0)


def _worker_processes():
    import psutil

    found = []
    for proc in psutil.Process().children(recursive=True):  # this test's own local Ray instance only
        try:
            if any("ScoreWorker" in part for part in proc.cmdline()):
                found.append(proc.pid)
        except psutil.Error:
            pass
    return found


@pytest.mark.slow
def test_killed_worker_costs_nothing(cluster, model_dir, tmp_path):
    """SIGKILL one worker once a few units are stored: Ray restarts it, its units are retried, the job finishes
    with every unit exactly once, and the same scores as one process."""
    out = tmp_path / "ray"
    killed = {}

    def killer():
        deadline = time.time() + 300
        while time.time() < deadline and len(list(out.rglob("p*-c*.parquet"))) < 3:
            time.sleep(0.05)
        pids = _worker_processes()
        if pids:
            os.kill(pids[0], signal.SIGKILL)
            killed.update(pid=pids[0], stored=len(list(out.rglob("p*-c*.parquet"))))

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    folder = job.score(str(model_dir / "rm"), KILL_PROMPTS, "big-two", out=out, progress=False, shard_size=20,
                       executor="ray", workers=2)
    thread.join(10)
    assert killed, "no worker process was found to kill"
    meta = read_meta(folder)
    n_units = meta["n_units"]
    assert 0 < killed["stored"] < n_units  # the kill landed mid-job
    # Both workers scored units; the killed worker's queued units were scored again (by its restarted replacement or
    # by the other worker, whichever came first under load), which the completeness check below shows.
    assert meta["sessions"][-1]["worker_processes"] >= 2
    assert check_runs(folder)[folder] == []  # complete, each (model, prompt, response) exactly once
    frame = read_results(folder)
    assert len(frame) == 10 * 263 and not frame.duplicated(["prompt_id", "response"]).any()
    one = read_results(job.score(str(model_dir / "rm"), KILL_PROMPTS, "big-two", out=tmp_path / "one",
                                 progress=False, shard_size=20))
    pd.testing.assert_frame_equal(_sorted(frame), _sorted(one), atol=1e-5, rtol=0)
