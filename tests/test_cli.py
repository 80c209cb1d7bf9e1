"""The ``rmnb`` command line under faults and confusing cases, tried as a hostile new user would: each gets a clear
refusal that names the problem and the fix, or a result identical to an uninterrupted reference; never exit 0 with a
wrong result (see tests/README.md). Offline, with the tiny models of ``_tiny.py``."""

import errno
import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pyarrow.parquet as pq
import pytest

import rmnb.data.store as store_mod
import rmnb.inference.job as job
from _tiny import WORDS, chatml_tokenizer, llama_config, reward_model
from conftest import FAILING_CHAPTER, book_with_chapters, interrupt_on_call, save_tiny_rm
from rmnb import cli
from rmnb.base.errors import RmnbError
from rmnb.data.store import read_meta, read_results, run_folders
from rmnb.data.units import format_status, run_status


def test_quiet_disables_every_progress_bar(capsys):
    from tqdm.auto import tqdm

    with cli._no_progress_bars(True):
        for _ in tqdm(range(3), desc="library bar"):  # a library's own bar, as transformers' GGUF conversion
            pass
    assert "library bar" not in capsys.readouterr().err
    assert not tqdm(range(1)).disable  # restored


COLS = ["prompt_id", "response", "score"]


@pytest.fixture(scope="module")
def rm_dir(tmp_path_factory):
    return save_tiny_rm(tmp_path_factory.mktemp("faults"), WORDS)


def _score(rm_dir, out, *extra):
    return cli.main(["score", "--model", str(rm_dir / "rm"), "--responses", str(rm_dir / "words.txt"),
                     "--prompts", "greatest_ever_one,worst_ever_one", "--out", str(out), "--quiet", *extra])


@pytest.fixture()
def finished(rm_dir, tmp_path, capsys):
    """A finished run and its scores (the uninterrupted reference)."""
    assert _score(rm_dir, tmp_path / "out") == 0
    folder = run_folders(tmp_path / "out")[0]
    capsys.readouterr()
    return folder, read_results(folder)[COLS]


def _flip_a_data_byte(path):
    """Flip one byte inside the first column chunk's data (not the footer): the file still opens."""
    meta = pq.ParquetFile(path).metadata
    col = meta.row_group(0).column(meta.num_columns - 1)  # the score column
    offset = col.data_page_offset + col.total_compressed_size // 2
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def _plus_five(path):
    """One score +5.0 in a parquet file that stays valid (same schema, same metadata)."""
    table = pq.read_table(path)
    frame = table.to_pandas()
    frame.loc[0, "score"] += 5.0
    pq.write_table(type(table).from_pandas(frame, schema=table.schema, preserve_index=False), path)


@pytest.mark.parametrize("damage", [_flip_a_data_byte, _plus_five], ids=["flipped-bytes", "score-plus-5"])
def test_a_changed_finished_run_is_caught_by_rerun_and_check(rm_dir, tmp_path, finished, capsys, damage):
    folder, reference = finished
    damage(folder / "scores.parquet")
    assert _score(rm_dir, tmp_path / "out") == 2  # the rerun: never "already scored"
    err = capsys.readouterr().err
    assert "scores.parquet has changed since it was written" in err and "--refresh" in err
    assert "Traceback" not in err
    assert cli.main(["score", "--check", str(tmp_path / "out")]) == 1  # --check: a FAIL line, exit 1
    out = capsys.readouterr().out
    assert f"FAIL {folder}" in out and "has changed" in out and "--refresh" in out
    with pytest.raises(RmnbError, match="incomplete or damaged.*has changed"):
        read_results(folder)
    assert _score(rm_dir, tmp_path / "out", "--refresh") == 0  # the fix restores the reference exactly
    pd.testing.assert_frame_equal(read_results(folder)[COLS], reference)
    assert cli.main(["score", "--check", str(tmp_path / "out")]) == 0


def test_a_changed_shard_stops_the_resume_and_fails_the_check(rm_dir, tmp_path, monkeypatch, capsys):
    real = job.score_unit
    monkeypatch.setattr(job, "score_unit", interrupt_on_call(real, 2))
    assert _score(rm_dir, tmp_path / "out", "--shard-size", "4") == 130
    assert "interrupted; the same command resumes" in capsys.readouterr().err
    (shard,) = (run_folders(tmp_path / "out")[0] / "shards").glob("*.parquet")
    _plus_five(shard)
    monkeypatch.setattr(job, "score_unit", real)
    assert _score(rm_dir, tmp_path / "out") == 2
    assert f"{shard.name} has changed since it was written" in capsys.readouterr().err
    assert cli.main(["score", "--check", str(tmp_path / "out")]) == 1
    assert "changed" in capsys.readouterr().out


def test_a_run_of_an_older_rmnb_is_read_whole_then_hashed(rm_dir, tmp_path, finished, capsys):
    folder, _ = finished
    meta = read_meta(folder)
    del meta["scores_sha256"]  # as an rmnb before content hashes wrote it
    (folder / "meta.json").write_text(json.dumps(meta))
    assert cli.main(["score", "--check", str(tmp_path / "out")]) == 0
    assert _score(rm_dir, tmp_path / "out") == 0
    assert read_meta(folder)["scores_sha256"] == store_mod.file_sha256(folder / "scores.parquet")


def test_disk_full_while_scoring_is_one_line_and_loses_nothing(rm_dir, tmp_path, finished, monkeypatch, capsys):
    _, reference = finished
    real_fsync, calls = os.fsync, {"n": 0}

    def full_disk(fd):
        calls["n"] += 1
        if calls["n"] >= 4:  # the sidecar and two shards fit; then the disk is full (for the sidecar too)
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", full_disk)
    assert _score(rm_dir, tmp_path / "full", "--shard-size", "4") == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert "No space left on device [ENOSPC]" in err and "shards" in err and "Fix: free some space" in err
    folder = run_folders(tmp_path / "full")[0]
    assert not list(folder.rglob("*.tmp"))  # no partial file left
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert _score(rm_dir, tmp_path / "full") == 0  # space freed: the same command resumes
    pd.testing.assert_frame_equal(read_results(folder)[COLS], reference)


@pytest.mark.parametrize("code, words", [(errno.EACCES, "Permission denied [EACCES]. Fix: choose a path you can "
                                                        "write to"),
                                         (errno.ENOTDIR, "[ENOTDIR]. Fix: a part of that path is a file"),
                                         (errno.EROFS, "[EROFS]. Fix: choose a path on a writable disk")])
def test_os_errors_name_path_cause_and_fix(code, words, monkeypatch, capsys):
    def fail(args):
        raise OSError(code, os.strerror(code), "/some/where/scores.parquet")

    monkeypatch.setattr(cli, "_cmd_doctor", fail)
    assert cli.main(["doctor"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("rmnb: error: /some/where/scores.parquet: ") and words in err
    assert "run the same command again" in err and len(err.strip().splitlines()) == 1


def test_out_under_proc_is_a_clear_error(rm_dir, capsys):
    assert _score(rm_dir, "/proc/x") == 2
    err = capsys.readouterr().err
    assert "out (--out) is '/proc/x', where rmnb cannot write" in err and "Traceback" not in err


def test_sigterm_is_an_interruption_with_cleanup(monkeypatch, capsys):
    def killed(args):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)
        raise AssertionError("SIGTERM was not turned into an interruption")

    monkeypatch.setattr(cli, "_cmd_doctor", killed)
    assert cli.main(["doctor"]) == 130
    assert capsys.readouterr().err.strip() == "rmnb: interrupted; the same command resumes (finished work is kept)."
    assert signal.getsignal(signal.SIGTERM) is not cli._on_sigterm  # restored


def test_ctrl_c_in_rmnb_run_keeps_the_chapter_and_cleans_up(tmp_path, monkeypatch, capsys):
    import papermill

    book_with_chapters(tmp_path, {"09_sleepy": FAILING_CHAPTER})
    monkeypatch.setenv("RMNB_ROOT", str(tmp_path))
    assert cli.main(["run", "09"]) == 0
    chapter = tmp_path / "book" / "chapters" / "09_sleepy.ipynb"
    before = chapter.read_bytes()
    running = tmp_path / "book" / "chapters" / ".running"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    running.mkdir()
    (running / f"09_sleepy-{dead}.ipynb").write_text("{}")  # left by a killed rmnb run
    (running / f"08_other-{os.getppid()}.ipynb").write_text("{}")  # a run still going: left alone

    def ctrl_c(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(papermill, "execute_notebook", ctrl_c)
    assert cli.main(["run", "09"]) == 130
    err = capsys.readouterr().err
    assert "rmnb: interrupted; the same command resumes" in err and "Traceback" not in err
    assert chapter.read_bytes() == before
    assert sorted(p.name for p in running.iterdir()) == [f"08_other-{os.getppid()}.ipynb"]


def test_run_flags_that_would_be_ignored_are_refused(capsys):
    assert cli.main(["run", "01", "--no-build"]) == 2
    assert "--no-build applies only with --model" in capsys.readouterr().err
    assert cli.main(["score", "--model", "smollm2-135m-instruct", "--shard", "-1/2"]) == 2
    err = capsys.readouterr().err
    assert "shard (--shard) is '-1/2': it must be two whole numbers K/N" in err and "Fix: write --shard K/N" in err


def test_a_failing_chat_template_opens_no_run(tmp_path):
    from rmnb.models.loading import wrap_model

    tok = chatml_tokenizer()
    tok.chat_template = "{{ raise_exception('this template cannot render') }}"
    lm = wrap_model(reward_model(llama_config(tok)), tok, model_id="tiny-org/bad-template", revision="r1")
    with pytest.raises(RmnbError, match="chat template of tiny-org/bad-template fails on the first prompt.*"
                                        "no run was opened. Fix: pass a template"):
        job.score(lm, {"p": "What is best?"}, WORDS, out=tmp_path, progress=False)
    assert not list(tmp_path.rglob("meta.json"))


def test_status_says_abandoned_for_a_killed_writer(rm_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(job, "score_unit", interrupt_on_call(job.score_unit, 1))
    assert _score(rm_dir, tmp_path / "out") == 130
    folder = run_folders(tmp_path / "out")[0]
    assert run_status(folder).status.iloc[0] == "stopped"  # interrupted, and recorded as such
    meta = read_meta(folder)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    meta["sessions"][-1].pop("finished")  # as a writer killed with SIGKILL leaves it
    meta["sessions"][-1]["pid"] = int(dead)
    (folder / "meta.json").write_text(json.dumps(meta))
    assert "abandoned: its writer was killed; the same rmnb score command resumes it" in format_status(
        run_status(folder))
    meta["sessions"][-1]["pid"] = os.getpid()  # a writer that runs
    (folder / "meta.json").write_text(json.dumps(meta))
    assert run_status(folder).status.iloc[0] == "running"
