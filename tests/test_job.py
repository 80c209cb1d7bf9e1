"""The scoring job behind ``rmnb score`` (rmnb.inference.job, its input checks in rmnb.inference.validate): every
bad input gets a clear error before work starts, or a correct result; a run is complete only once verified; one
writer per run. Tiny offline models; see tests/README.md for the table."""

import json
import re
import threading

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

import rmnb.inference.job as job
from _tiny import (
    PROMPT,
    WORDS,
    causal_model,
    chatml_tokenizer,
    llama_config,
    reward_model,
)
from conftest import interrupt_on_call
from rmnb import cli
from rmnb.base.errors import RmnbError
from rmnb.data.store import read_meta, read_results, run_folders
from rmnb.models.loading import wrap_model

PROMPTS = {"greatest_ever_one": PROMPT, "worst_ever_one": "What, in one word, is the worst thing ever?"}


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """A tiny reward model and a tiny language model saved as folders, and a responses file."""
    root = tmp_path_factory.mktemp("models")
    tok = chatml_tokenizer()
    for name, make in (("rm", reward_model), ("lm", causal_model)):
        make(llama_config(tok)).save_pretrained(root / name)
        tok.save_pretrained(root / name)
    (root / "words.txt").write_text("\n".join(WORDS) + "\n")
    return root


@pytest.fixture
def no_loading(monkeypatch):
    """Fail the test if any model is loaded: the checks must run before."""
    def boom(*a, **k):
        raise AssertionError("a model was loaded before the input was checked")

    monkeypatch.setattr(job, "load_model", boom)
    monkeypatch.setattr(cli.trained, "ensure_built", boom)


def _cli(folders, tmp_path, *extra, model="rm"):
    return cli.main(["score", "--model", str(folders / model), "--responses", str(folders / "words.txt"),
                     "--prompts", "greatest_ever_one", "--out", str(tmp_path / "out"), "--quiet", *extra])


BAD_CLI = [
    (("--batch-size", "-1"), "batch_size \\(--batch-size\\) is -1: it must be a whole number of 1 or more"),
    (("--batch-size", "0"), "batch_size \\(--batch-size\\) is 0"),
    (("--shard-size", "-1"), "shard_size \\(--shard-size\\) is -1"),
    (("--threads", "-1"), "threads \\(--threads\\) is -1"),
    (("--out", ""), "out \\(--out\\) is empty"),
    (("--prompts", "greatest_ever_one,nope"), "unknown prompt ids \\('nope'\\)"),
    (("--prompts", ",".join(["no_such_prompt_id"] * 40)), "unknown prompt ids"),
    (("--responses", "/no/such/words.txt"), "responses \\(--responses\\) is '/no/such/words.txt'"),
    (("--chat-template", "/no/such/template.jinja"), "chat_template \\(--chat-template\\).*no such file"),
    (("--revision", "abc123"), "revision \\(--revision\\) 'abc123' cannot apply to .* a local folder"),
]


@pytest.mark.parametrize("extra,message", BAD_CLI, ids=lambda v: " ".join(v) if isinstance(v, tuple) else "")
def test_bad_score_input_refused_before_any_model_loads(folders, tmp_path, capsys, no_loading, extra, message):
    assert _cli(folders, tmp_path, *extra) == 2
    err = capsys.readouterr().err
    assert err.startswith("rmnb: error: ") and "Traceback" not in err
    assert re.search(message, err), err
    assert "Fix:" in err
    assert not (tmp_path / "out").exists() or not run_folders(tmp_path / "out")


def test_out_must_be_a_writable_folder(folders, tmp_path, capsys, no_loading):
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    assert _cli(folders, tmp_path, "--out", str(a_file)) == 2
    assert "which is a file, not a folder" in capsys.readouterr().err
    assert _cli(folders, tmp_path, "--out", str(a_file / "below")) == 2  # cannot be created, even as root
    assert "where rmnb cannot write" in capsys.readouterr().err


def test_language_model_as_reward_model_needs_random_head(folders, tmp_path, capsys, no_loading):
    assert _cli(folders, tmp_path, "--kind", "reward", model="lm") == 2
    assert "is a language model, not a reward model" in capsys.readouterr().err
    assert cli.main(["score", "--model", "smollm2-135m-instruct", "--kind", "reward", "--quiet"]) == 2
    assert "--random-head" in capsys.readouterr().err


def test_revision_refused_for_embedded_and_trained_models(no_loading, capsys):
    for model in ("smollm2-135m-instruct", "smollm2-135m-hh-rm"):
        assert cli.main(["score", "--model", model, "--revision", "abc", "--quiet"]) == 2
        assert "cannot apply to" in capsys.readouterr().err


def test_random_head_is_scored_with_a_warning(folders, tmp_path, capsys):
    assert _cli(folders, tmp_path, "--kind", "reward", "--random-head", model="lm") == 0
    captured = capsys.readouterr()
    assert "warning" in captured.err and "randomly initialised" in captured.err  # shown even with --quiet
    meta = read_meta(captured.out.strip().splitlines()[-1])
    assert meta["params"]["head"] == "random(seed=0)" and "randomly initialised" in meta["warnings"][0]


def test_loaded_language_model_with_random_head_needs_opt_in(tmp_path):
    tok = chatml_tokenizer()
    lm = wrap_model(reward_model(llama_config(tok)), tok, model_id="tiny-org/tiny-lm", revision="r1")
    lm.head = "random(seed=0)"  # as load_model marks a language model loaded as a reward model
    with pytest.raises(RmnbError, match="random_head=True"):
        job.score(lm, PROMPTS, WORDS, out=tmp_path, progress=False)
    folder = job.score(lm, PROMPTS, WORDS, out=tmp_path, progress=False, random_head=True)
    assert read_meta(folder)["warnings"]


def test_long_prompt_list_is_accepted(tiny_rm, tmp_path):
    from rmnb.data.prompts import paper_prompts

    ids = ",".join(paper_prompts().prompt_id[:20])  # longer than a file name may be
    assert len(ids) > 255
    frame = read_results(job.score(tiny_rm, ids, WORDS[:2], out=tmp_path, progress=False))
    assert frame.prompt_id.nunique() == 20


def test_sizes_change_only_speed_not_the_key(tiny_rm, tmp_path):
    a = job.score(tiny_rm, PROMPTS, WORDS, out=tmp_path, progress=False, batch_size=1, shard_size=1)
    b = job.score(tiny_rm, PROMPTS, WORDS, out=tmp_path / "b", progress=False, batch_size=64, shard_size=4096)
    assert a.name == b.name
    pd.testing.assert_frame_equal(read_results(a)[["prompt_id", "response", "score"]],
                                  read_results(b)[["prompt_id", "response", "score"]])
    meta = read_meta(a)
    assert meta["expected_rows"] == meta["n_rows"] == len(PROMPTS) * len(WORDS) and len(meta["inputs_sha256"]) == 64


@pytest.mark.parametrize("fault", ["nan", "short"])
def test_bad_scores_are_never_marked_complete(tiny_rm, tmp_path, monkeypatch, fault):
    real = job.score_unit

    def faulty(*a, **k):
        scores, n_tokens = real(*a, **k)
        return (np.full_like(scores, np.nan), n_tokens) if fault == "nan" else (scores[:-1], n_tokens[:-1])

    monkeypatch.setattr(job, "score_unit", faulty)
    with pytest.raises((RmnbError, ValueError)):
        job.score(tiny_rm, PROMPTS, WORDS, out=tmp_path, progress=False)
    folder = run_folders(tmp_path)[0]
    assert read_meta(folder)["status"] == "running" and not (folder / "scores.parquet").exists()
    monkeypatch.setattr(job, "score_unit", real)
    frame = read_results(job.score(tiny_rm, PROMPTS, WORDS, out=tmp_path, progress=False))
    assert len(frame) == len(PROMPTS) * len(WORDS) and np.isfinite(frame.score).all()


def test_damaged_run_is_not_already_scored(tiny_rm, tmp_path, capsys):
    folder = job.score(tiny_rm, PROMPTS, WORDS, out=tmp_path, progress=False)
    good = read_results(folder)
    scores = folder / "scores.parquet"
    scores.write_bytes(scores.read_bytes()[:200])  # truncated
    with pytest.raises(RmnbError, match="incomplete or damaged.*--refresh"):
        job.score(tiny_rm, PROMPTS, WORDS, out=tmp_path, progress=False)
    with pytest.raises(RmnbError, match="incomplete or damaged.*--refresh"):
        read_results(folder)
    again = job.score(tiny_rm, PROMPTS, WORDS, out=tmp_path, progress=False, refresh=True)
    assert again == folder
    pd.testing.assert_frame_equal(read_results(folder), good)
    assert len(read_meta(folder)["sessions"]) == 1  # a fresh run


def test_run_written_with_a_bad_size_is_damaged(tiny_rm, tmp_path):
    """A run stored before sizes were checked (batch size -1: uninitialised memory as scores) is not reused."""
    folder = job.score(tiny_rm, PROMPTS, WORDS, out=tmp_path, progress=False)
    meta = read_meta(folder)
    meta["sessions"][0]["batch_size"] = -1
    (folder / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(RmnbError, match="batch or shard size below 1.*--refresh"):
        job.score(tiny_rm, PROMPTS, WORDS, out=tmp_path, progress=False)


def test_damaged_shard_stops_the_resume(tiny_rm, tmp_path, monkeypatch):
    real = job.score_unit
    monkeypatch.setattr(job, "score_unit", interrupt_on_call(real, 2))
    with pytest.raises(KeyboardInterrupt):
        job.score(tiny_rm, PROMPTS, WORDS, out=tmp_path, progress=False, shard_size=4)
    shard = next((run_folders(tmp_path)[0] / "shards").glob("*.parquet"))
    table = pq.read_table(shard)
    pq.write_table(table.slice(0, 2), shard)  # readable, but short
    monkeypatch.setattr(job, "score_unit", real)
    with pytest.raises(RmnbError, match=f"{shard.name} has changed since it was written.*--refresh"):
        job.score(tiny_rm, PROMPTS, WORDS, out=tmp_path, progress=False)
    (shard.parent / f"{shard.name}.sha256").unlink()  # a shard of an older rmnb (no hash): its rows are counted
    with pytest.raises(RmnbError, match=f"{shard.name} has 2 rows where the plan has 4.*--refresh"):
        job.score(tiny_rm, PROMPTS, WORDS, out=tmp_path, progress=False)
    assert len(read_results(job.score(tiny_rm, PROMPTS, WORDS, out=tmp_path, progress=False, refresh=True))) == 16


def test_two_writers_one_run(tiny_rm, tmp_path, monkeypatch):
    """The second writer fails at once with a clear message (or waits with wait=True); the first one's temp
    files and shards are untouched, and the store ends correct, written by one session."""
    reference = read_results(job.score(tiny_rm, PROMPTS, WORDS, out=tmp_path / "ref", progress=False))
    real, inside, release = job.score_unit, threading.Event(), threading.Event()

    def slow(*a, **k):
        inside.set()
        assert release.wait(60)
        return real(*a, **k)

    monkeypatch.setattr(job, "score_unit", slow)
    out, results = tmp_path / "shared", {}
    first = threading.Thread(target=lambda: results.update(
        first=job.score(tiny_rm, PROMPTS, WORDS, out=out, progress=False, shard_size=3)))
    first.start()
    assert inside.wait(60)
    tmp = run_folders(out)[0] / "shards" / ".p0000-c0000.parquet.999999.tmp"
    tmp.write_bytes(b"another writer's file in progress")
    with pytest.raises(RmnbError, match="another rmnb process is writing this run.*--wait"):
        job.score(tiny_rm, PROMPTS, WORDS, out=out, progress=False)
    assert tmp.exists()  # not deleted by the refused writer
    tmp.unlink()
    second = threading.Thread(target=lambda: results.update(
        second=job.score(tiny_rm, PROMPTS, WORDS, out=out, progress=False, wait=True)))
    second.start()
    release.set()
    first.join(60)
    second.join(60)
    assert results["first"] == results["second"]
    frame = read_results(results["first"])
    cols = ["prompt_id", "response", "score"]
    pd.testing.assert_frame_equal(frame[cols], reference[cols])
    assert len(read_meta(results["first"])["sessions"]) == 1


@pytest.mark.slow
def test_two_writer_processes(folders, tmp_path):
    """The same with two `rmnb score` processes: one clear message, one correct store."""
    import subprocess
    import sys
    import time

    words = tmp_path / "many.txt"
    words.write_text("\n".join(f"word{i}" for i in range(1500)) + "\n")
    cmd = [sys.executable, "-m", "rmnb", "score", "--model", str(folders / "rm"), "--responses", str(words),
           "--prompts", "paper54", "--out", str(tmp_path / "out"), "--quiet", "--threads", "1", "--shard-size", "500"]
    first = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not list((tmp_path / "out").rglob("p*-c*.parquet")) and time.time() < deadline:
        time.sleep(0.5)
    second = subprocess.run(cmd, capture_output=True, text=True)
    out, err = first.communicate(timeout=600)
    assert first.returncode == 0, err
    assert second.returncode == 2 and "another rmnb process is writing this run" in second.stderr
    frame = read_results(out.strip().splitlines()[-1])
    assert len(frame) == 54 * 1500 and np.isfinite(frame.score).all()
    assert len(read_meta(out.strip().splitlines()[-1])["sessions"]) == 1
