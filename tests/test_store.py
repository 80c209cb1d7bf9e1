"""The results store: tidy shards, content key, sidecar, resume after a crash, the CLI (tiny models)."""

import json

import numpy as np
import pandas as pd
import pytest

import rmnb.data.store as store_mod
import rmnb.inference.job as job
from _tiny import (
    PROMPT,
    WORDS,
    assert_close,
    causal_model,
    chatml_tokenizer,
    llama_config,
    reward_model,
)
from conftest import interrupt_on_call
from rmnb import cli
from rmnb.base.errors import RmnbError
from rmnb.data import integrity
from rmnb.data.store import COLUMNS, read_meta, read_results, run_folders
from rmnb.inference.responses import Conversation, strings, vocabulary
from rmnb.inference.reward import reward_scores_full

PROMPTS = {"greatest_ever_one": PROMPT, "worst_ever_one": "What, in one word, is the worst thing ever?",
           "best_time_please": "What is the best thing of all time? Please answer in one word only."}


def test_tidy_rows_equal_direct_scores(tiny_rm, tmp_path):
    folder = job.score(tiny_rm, PROMPTS, WORDS, out=tmp_path, progress=False)
    frame = read_results(folder)
    assert set(COLUMNS) <= set(frame.columns)
    assert len(frame) == len(PROMPTS) * len(WORDS)
    assert frame.model_id.unique().tolist() == ["tiny-org/tiny-rm"] and frame.revision.unique().tolist() == ["r1"]
    assert frame.kind.unique().tolist() == ["reward"] and frame.token_id.isna().all()
    conv = Conversation(tiny_rm.tokenizer)
    for pid, text in PROMPTS.items():
        enc = conv.encode(text, strings(WORDS))
        direct = reward_scores_full(tiny_rm.model, [enc.full(i) for i in range(len(WORDS))])
        got = frame[frame.prompt_id == pid].set_index("response").loc[WORDS, "score"].to_numpy()
        assert_close(got, direct)
    meta = read_meta(folder)
    assert meta["status"] == "complete" and folder.name.endswith(meta["key"][:12])
    assert meta["params"]["rmnb_version"] and meta["sessions"][0]["device"].startswith(("cpu", "cuda", "mps"))
    assert meta["wall_time_s"] >= 0 and meta["n_rows"] == len(frame)
    assert not (folder / "shards").exists() and (folder / "scores.parquet").exists()


def test_vocabulary_tokens_keep_ids(tiny_lm, tmp_path):
    folder = job.score(tiny_lm, {"greatest": PROMPT}, vocabulary(tiny_lm.tokenizer), out=tmp_path, progress=False)
    frame = read_results(folder)
    assert frame.kind.unique().tolist() == ["logprob"]
    assert frame.token_id.tolist() == list(range(len(tiny_lm.tokenizer)))
    assert frame.token.tolist() == tiny_lm.tokenizer.convert_ids_to_tokens(list(range(len(tiny_lm.tokenizer))))
    assert np.isclose(np.exp(frame.score).sum(), 1.0, atol=1e-3)  # almost all mass sits on real tokens


def test_content_key(tiny_rm, tmp_path):
    a = job.score(tiny_rm, PROMPTS, WORDS, out=tmp_path, progress=False, batch_size=2)
    b = job.score(tiny_rm, PROMPTS, WORDS, out=tmp_path, progress=False, batch_size=5, shard_size=3)
    assert a == b  # batch and shard size do not change the numbers, so not the key
    c = job.score(tiny_rm, PROMPTS, WORDS[:-1], out=tmp_path, progress=False)
    d = job.score(tiny_rm, {"greatest_ever_one": PROMPT + " "}, WORDS, out=tmp_path, progress=False)
    assert len({a, c, d}) == 3
    assert len(run_folders(tmp_path)) == 3
    both = read_results(tmp_path)  # a parent folder holding several runs
    assert both.run_key.nunique() == 3


def test_finished_run_is_not_recomputed(tiny_rm, tmp_path, monkeypatch):
    folder = job.score(tiny_rm, PROMPTS, WORDS, out=tmp_path, progress=False)

    def boom(*a, **k):
        raise AssertionError("recomputed")

    monkeypatch.setattr(job, "score_unit", boom)
    assert job.score(tiny_rm, PROMPTS, WORDS, out=tmp_path, progress=False) == folder


def test_resume_after_crash(tiny_rm, tmp_path, monkeypatch):
    reference = read_results(job.score(tiny_rm, PROMPTS, WORDS * 2, out=tmp_path / "ref", progress=False))
    out = tmp_path / "crash"
    real_unit, real_write = job.score_unit, store_mod.write_parquet_atomic
    calls = {"unit": 0, "write": 0}

    def crashing_unit(*a, **k):
        calls["unit"] += 1
        if calls["unit"] == 4:
            raise KeyboardInterrupt("simulated crash while scoring")
        return real_unit(*a, **k)

    monkeypatch.setattr(job, "score_unit", crashing_unit)
    with pytest.raises(KeyboardInterrupt):
        job.score(tiny_rm, PROMPTS, WORDS * 2, out=out, progress=False, shard_size=5)
    folder = run_folders(out)[0]
    shards = sorted((folder / "shards").iterdir())
    assert [p.name for p in shards if p.suffix == ".parquet"] == ["p0000-c0000.parquet", "p0000-c0001.parquet",
                                                                  "p0000-c0002.parquet"]
    assert [p.name for p in shards if p.suffix == ".sha256"] == [f"{p.name}.sha256" for p in shards
                                                                 if p.suffix == ".parquet"]  # content hashes
    assert read_meta(folder)["status"] == "running"

    # a crash in the middle of writing a shard leaves no partial shard behind
    def crashing_write(path, frame):
        calls["write"] += 1
        if "shards" in str(path):
            def half(fh):
                fh.write(b"PAR1 half a shard")
                raise OSError("disk vanished")
            integrity.atomic_write_bytes(path, half)
        return real_write(path, frame)

    monkeypatch.setattr(job, "score_unit", real_unit)
    monkeypatch.setattr(store_mod, "write_parquet_atomic", crashing_write)
    with pytest.raises(OSError, match="disk vanished"):
        job.score(tiny_rm, PROMPTS, WORDS * 2, out=out, progress=False, shard_size=7)  # resumed runs keep size 5
    assert sorted((folder / "shards").iterdir()) == shards  # nothing new, nothing partial, no temp file
    with pytest.raises(RmnbError, match="incomplete"):
        read_results(out)
    partial = read_results(out, include_incomplete=True)
    assert len(partial) == 15 and not partial.complete.any()

    monkeypatch.setattr(store_mod, "write_parquet_atomic", real_write)
    computed = []
    monkeypatch.setattr(job, "score_unit", lambda *a, **k: computed.append(1) or real_unit(*a, **k))
    done = job.score(tiny_rm, PROMPTS, WORDS * 2, out=out, progress=False)
    assert done == folder and len(computed) == 3 * 4 - 3  # only the missing shards
    resumed = read_results(done)
    cols = ["prompt_id", "response", "token_id", "score"]
    pd.testing.assert_frame_equal(resumed[cols], reference[cols])
    meta = read_meta(done)
    assert meta["status"] == "complete" and len(meta["sessions"]) == 3 and meta["shard_size"] == 5


def test_corrupt_shard_names_the_file(tiny_rm, tmp_path, monkeypatch):
    out = tmp_path / "x"
    monkeypatch.setattr(job, "score_unit", interrupt_on_call(job.score_unit, 2))
    with pytest.raises(KeyboardInterrupt):
        job.score(tiny_rm, PROMPTS, WORDS, out=out, progress=False)
    shard = next((run_folders(out)[0] / "shards").glob("*.parquet"))
    shard.write_bytes(b"garbage")
    with pytest.raises(RmnbError, match=shard.name):
        read_results(out, include_incomplete=True)


def test_input_errors(tiny_rm, tmp_path):
    with pytest.raises(RmnbError, match="prompt list is empty"):
        job.score(tiny_rm, [], WORDS, out=tmp_path, progress=False)
    with pytest.raises(RmnbError, match="empty"):
        job.score(tiny_rm, PROMPTS, [], out=tmp_path, progress=False)
    with pytest.raises(RmnbError, match="cannot produce"):
        job.score(tiny_rm, PROMPTS, WORDS, kind="logprob", out=tmp_path, progress=False)
    with pytest.raises(RmnbError, match="No rmnb score runs"):
        read_results(tmp_path)


def test_cli_on_a_local_folder(tmp_path, capsys):
    tok = chatml_tokenizer()
    model_dir = tmp_path / "tiny-rm"
    reward_model(llama_config(tok)).save_pretrained(model_dir)
    tok.save_pretrained(model_dir)
    prompts = tmp_path / "prompts.yaml"
    prompts.write_text("".join(f"{k}: \"{v}\"\n" for k, v in PROMPTS.items()))
    words = tmp_path / "words.txt"
    words.write_text("\n".join(WORDS) + "\n")
    out = tmp_path / "scores"
    code = cli.main(["score", "--model", str(model_dir), "--prompts", str(prompts), "--responses", str(words),
                           "--out", str(out), "--batch-size", "3", "--quiet"])
    assert code == 0
    folder = capsys.readouterr().out.strip().splitlines()[-1]
    frame = read_results(folder)
    assert len(frame) == len(PROMPTS) * len(WORDS) and frame.kind.unique().tolist() == ["reward"]
    assert json.loads((run_folders(out)[0] / "meta.json").read_text())["params"]["head"] == "trained"
    # what the §2 chapters' scores_dir reads
    from rmnb.analysis.scores import rmnb_scores

    long = rmnb_scores(out)
    assert len(long) == len(frame) and set(long.framing) == {"positive", "negative"}
    # a language model's log-probs in the same folder: never mixed with the rewards silently
    lm_dir = tmp_path / "tiny-lm"
    causal_model(llama_config(tok)).save_pretrained(lm_dir)
    tok.save_pretrained(lm_dir)
    assert cli.main(["score", "--model", str(lm_dir), "--kind", "logprob", "--prompts", str(prompts), "--responses",
                           str(words), "--out", str(out), "--quiet"]) == 0
    with pytest.raises(RmnbError, match="mix logprob and reward scores"):
        rmnb_scores(out)
    assert rmnb_scores(out, kind="reward").equals(long)
    assert len(rmnb_scores(out, kind="logprob")) == len(frame)
    assert cli.main(["score", "--model", "no-such-alias", "--out", str(out), "--quiet"]) == 2


def test_rows_per_second_reads_the_recorded_rows_and_time(tmp_path):
    from rmnb.data.store import rows_per_second

    for name, rows, seconds in (("a", 300, 2.0), ("b", 100, 2.0)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "meta.json").write_text(json.dumps({"n_rows": rows, "wall_time_s": seconds}))
    assert rows_per_second([tmp_path / "a", tmp_path / "b"]) == 100.0
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "meta.json").write_text(json.dumps({"n_rows": 5}))
    assert np.isnan(rows_per_second([tmp_path / "c"]))

