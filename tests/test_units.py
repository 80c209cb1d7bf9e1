"""Work units and shards (rmnb.data.units, ``rmnb score --shard``): deterministic split, --shard K/N, --status, --check, clear errors."""

import json
import shutil

import pandas as pd
import pyarrow.parquet as pq
import pytest

import rmnb.inference.job as job
from _tiny import (
    PROMPT,
    WORDS,
)
from rmnb import cli
from rmnb.base.errors import RmnbError
from rmnb.base.progress import bars_enabled
from rmnb.data.store import read_meta, read_results, run_folders
from rmnb.data.units import check_runs, plan_units, run_status, shard_units
from rmnb.inference.validate import parse_shard

PROMPTS = {"greatest_ever_one": PROMPT, "worst_ever_one": "What, in one word, is the worst thing ever?",
           "best_one": "What is the best thing?"}
COLS = ["prompt_id", "response", "score"]


@pytest.mark.parametrize("n_prompts,n_resp,size", [(1, 1, 1), (3, 8, 3), (54, 263, 64), (5, 10, 10)])
def test_shards_cover_every_unit_once(n_prompts, n_resp, size):
    plan = plan_units(n_prompts, n_resp, size)
    assert sum(plan.values()) == n_prompts * n_resp
    for n in (1, 2, 3, 4, 7, len(plan), len(plan) + 3):
        shards = [shard_units(plan, k, n) for k in range(n)]
        flat = [u for s in shards for u in s]
        assert sorted(flat) == sorted(plan) and len(flat) == len(set(flat)) == len(plan)
        assert shards == [shard_units(plan, k, n) for k in range(n)]  # deterministic
        sizes = [len(s) for s in shards]
        assert max(sizes) - min(sizes) <= 1  # balanced


@pytest.mark.parametrize("text,why", [("0/0", "N must be 1 or more"), ("3/2", "K must be below 2"),
                                      ("a/b", "two whole numbers K/N"), ("1", "two whole numbers"),
                                      ("-1/2", "two whole numbers")])
def test_bad_shard_names_the_fix(text, why, capsys):
    with pytest.raises(RmnbError, match=why) as err:
        parse_shard(text)
    assert "Fix: write --shard K/N" in str(err.value) and "SLURM_ARRAY_TASK_ID" in str(err.value)
    assert cli.main(["score", "--model", "smollm2-135m-instruct", f"--shard={text}"]) == 2
    assert "Fix: write --shard K/N" in capsys.readouterr().err


def test_three_shards_equal_one_process(tiny_rm, tmp_path, capsys):
    reference = read_results(job.score(tiny_rm, PROMPTS, WORDS, out=tmp_path / "one", progress=False, shard_size=3))
    out = tmp_path / "sharded"
    folders = [job.score(tiny_rm, PROMPTS, WORDS, out=out, progress=True, shard_size=3, shard=f"{k}/3")
               for k in (2, 0)]
    assert read_meta(folders[0])["status"] == "running"
    status = run_status(out)
    assert status.units_done.sum() == 6 and status.units_total.sum() == 9  # 3 prompts x 3 chunks, 2 shards of 3
    assert cli.main(["score", "--status", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "6/9 units done" in printed and "missing chunks" in printed
    assert cli.main(["score", "--check", str(out)]) == 1
    assert "3 of 9 units missing" in capsys.readouterr().out
    last = job.score(tiny_rm, PROMPTS, WORDS, out=out, progress=False, shard_size=3, shard="1/3")
    assert last == folders[0] and read_meta(last)["status"] == "complete"
    assert len(read_meta(last)["sessions"]) == 3
    frame = read_results(last)
    pd.testing.assert_frame_equal(frame.sort_values(COLS[:2])[COLS].reset_index(drop=True),
                                  reference.sort_values(COLS[:2])[COLS].reset_index(drop=True), atol=1e-6)
    assert cli.main(["score", "--check", str(out)]) == 0 and "1 of 1 runs verified" in capsys.readouterr().out
    # idempotent: re-running a shard of a finished run does nothing
    def boom(*a, **k):
        raise AssertionError("recomputed")
    job.score_unit, real = boom, job.score_unit
    try:
        assert job.score(tiny_rm, PROMPTS, WORDS, out=out, progress=False, shard_size=3, shard="1/3") == last
    finally:
        job.score_unit = real


def test_rerunning_a_shard_is_idempotent(tiny_rm, tmp_path, monkeypatch):
    out = tmp_path / "s"
    folder = job.score(tiny_rm, PROMPTS, WORDS, out=out, progress=False, shard_size=3, shard="0/2")
    before = {p.name: p.read_bytes() for p in (folder / "shards").glob("*.parquet")}
    calls = []
    monkeypatch.setattr(job, "score_unit", lambda *a, **k: calls.append(1) or (_ for _ in ()).throw(AssertionError))
    job.score(tiny_rm, PROMPTS, WORDS, out=out, progress=False, shard_size=3, shard="0/2")
    assert not calls and {p.name: p.read_bytes() for p in (folder / "shards").glob("*.parquet")} == before
    # --refresh with --shard would let every array task erase the others' shards: refused, nothing lost
    with pytest.raises(RmnbError, match="--refresh cannot be combined with --shard.*Fix: start the run over once"):
        job.score(tiny_rm, PROMPTS, WORDS, out=out, progress=False, shard_size=3, shard="1/2", refresh=True)
    assert {p.name: p.read_bytes() for p in (folder / "shards").glob("*.parquet")} == before


def test_check_catches_truncated_and_duplicated_units(tiny_rm, tmp_path, capsys):
    out = tmp_path / "s"
    folder = job.score(tiny_rm, PROMPTS, WORDS, out=out, progress=False, shard_size=3, shard="0/2")
    assert check_runs(out)[folder] == [f"incomplete: 4 of 9 units missing (first {['p0000-c0001', 'p0001-c0000', 'p0001-c0002']})"]
    units = sorted((folder / "shards").glob("p*.parquet"))
    # a truncated file: cut in the middle
    data = units[0].read_bytes()
    units[0].write_bytes(data[: len(data) // 2])
    # a duplicated unit: a copy of unit p0002-c0000 stored as the missing p0001-c0000
    shutil.copy(folder / "shards" / "p0002-c0000.parquet", folder / "shards" / "p0001-c0000.parquet")
    problems = check_runs(out)[folder]
    assert any("p0000-c0000.parquet is truncated" in p for p in problems), problems
    assert any("duplicated or misplaced unit" in p for p in problems), problems
    assert cli.main(["score", "--check", str(out)]) == 1
    assert "FAIL" in capsys.readouterr().out


def test_check_catches_duplicated_rows_in_a_finished_run(tiny_rm, tmp_path):
    folder = job.score(tiny_rm, PROMPTS, WORDS, out=tmp_path, progress=False)
    assert check_runs(tmp_path)[folder] == []
    table = pq.read_table(folder / "scores.parquet")
    frame = table.to_pandas()
    frame.iloc[1] = frame.iloc[0]  # same row count, one (prompt, response) twice
    pq.write_table(type(table).from_pandas(frame, schema=table.schema, preserve_index=False), folder / "scores.parquet")
    assert any("scores.parquet has changed since it was written" in p for p in check_runs(tmp_path)[folder])
    meta = read_meta(folder)  # a run finished by an older rmnb records no hash: the rows themselves are checked
    del meta["scores_sha256"]
    (folder / "meta.json").write_text(json.dumps(meta))
    assert any("duplicates" in p for p in check_runs(tmp_path)[folder])
    # and a truncated finished file
    data = (folder / "scores.parquet").read_bytes()
    (folder / "scores.parquet").write_bytes(data[:-20])
    assert any("unreadable" in p or "corrupt" in p for p in check_runs(tmp_path)[folder])


def test_bars_only_for_a_terminal_outside_ci(monkeypatch):
    class Tty:
        def isatty(self):
            return True

    monkeypatch.delenv("CI", raising=False)
    assert bars_enabled(Tty())
    monkeypatch.setenv("CI", "true")
    assert not bars_enabled(Tty())
    monkeypatch.delenv("CI")
    assert not bars_enabled(object())


def test_executor_options_checked_first(capsys):
    assert cli.main(["score", "--model", "smollm2-135m-instruct", "--address", "auto"]) == 2
    assert "--executor ray" in capsys.readouterr().err
    assert cli.main(["score", "--model", "smollm2-135m-instruct", "--executor", "ray", "--shard", "0/2"]) == 2
    assert "do not go together" in capsys.readouterr().err
    assert run_folders  # imported for the store layout


def test_ray_missing_says_how_to_install(monkeypatch, capsys):
    import sys

    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    assert cli.main(["score", "--model", "smollm2-135m-instruct", "--responses", "big-two", "--executor", "ray"]) == 2
    assert "pip install 'rmnb[ray]'" in capsys.readouterr().err


@pytest.mark.parametrize("address,why", [("127.0.0.1:9", "no Ray cluster answers at 127.0.0.1:9"),
                                         ("nohost", "write auto, HOST:PORT")])
def test_unreachable_address_names_the_fix(address, why):
    from rmnb.inference.distributed import check_address

    with pytest.raises(RmnbError, match=why) as err:
        check_address(address)
    assert "leave --address out to start a local Ray instance" in str(err.value)


def test_unreachable_address_fails_before_any_model_loads(monkeypatch, capsys):
    from rmnb.inference import distributed

    monkeypatch.setattr(distributed, "import_ray", lambda: object())  # as if Ray were installed
    monkeypatch.setattr(job, "prepare", lambda *a, **k: (_ for _ in ()).throw(AssertionError("model loaded")))
    assert cli.main(["score", "--model", "smollm2-135m-instruct", "--responses", "big-two", "--executor", "ray",
                     "--address", "127.0.0.1:9"]) == 2
    err = capsys.readouterr().err
    assert "no Ray cluster answers at 127.0.0.1:9" in err and "ray start --head" in err
