"""The released log-prob loader against a fixture in the exact layout of the authors' ``generate_logprobs.py``.

Their script (``brchristian/reward_models_inherit_value_biases_from_pretraining``, ``scripts/generate_logprobs.py``)
writes, per model, ``pandas.DataFrame.to_csv(index=False)`` of ``token_id, token_name, token_decoded`` (the
vocabulary sorted by id: ``get_vocab()`` keys and ``batch_decode`` of each id) followed by one log-probability
column per key of ``config/prompts.yaml``, in file order. ``tests/data/generate_logprobs_layout.csv`` has that
layout (all 54 prompt columns) for a made-up 10-token vocabulary with a gap at id 8 and tokens that a CSV reader
can mangle: ``null``, ``NA``, ``nan``, a newline and a quoted string with a comma.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rmnb.base.errors import RmnbError
from rmnb.data import logprob_tables
from rmnb.data.prompts import paper_prompts

FIXTURE = Path(__file__).parent / "data" / "generate_logprobs_layout.csv"


@pytest.fixture
def released(monkeypatch):
    monkeypatch.setattr(logprob_tables, "released_file", lambda model_id, revision="main": (str(FIXTURE), "c0ffee"))
    return logprob_tables.released_logprobs


def test_fixture_has_the_authors_layout(data_dir):
    header = pd.read_csv(FIXTURE, nrows=0).columns.tolist()
    assert header[:3] == ["token_id", "token_name", "token_decoded"]
    assert header[3:] == paper_prompts().prompt_id.tolist()  # 54 prompt columns, prompts.yaml order


def test_released_loader_reads_the_layout(released):
    raw = pd.read_csv(FIXTURE, keep_default_na=False)
    table = released("google/gemma-2-2b", ["terrible_time_please", "best_ever_one"])
    assert table.source == "released" and table.revision == "c0ffee"
    assert table.prompt_ids == ["terrible_time_please", "best_ever_one"]
    assert table.values.shape == (2, 11) and table.values.dtype == np.float32
    for pid in table.prompt_ids:
        s = table.series(pid)
        assert np.allclose(s.loc[raw.token_id].to_numpy(), raw[pid].to_numpy(), atol=1e-6)
        assert s.loc[8] == -np.inf  # the id missing from the file
        assert np.exp(s.to_numpy(np.float64)).sum() == pytest.approx(1.0, abs=1e-5)


def test_released_loader_token_strings(released):
    # default: read as the authors' analysis code reads it (pandas defaults): null/NA/nan become missing
    decoded = released("google/gemma-2-2b", ["best_ever_one"]).vocab.set_index("token_id").token_decoded
    assert decoded[2] == " love" and decoded[7] == "\n" and decoded[6] == ' "quoted,"'
    assert all(pd.isna(decoded[i]) for i in (4, 5, 8, 10))  # 8: the gap, no string, never matched
    # verbatim: every decoded string kept as the script wrote it
    table = released("google/gemma-2-2b", ["best_ever_one"], verbatim_tokens=True)
    decoded = table.vocab.set_index("token_id").token_decoded
    assert [decoded[4], decoded[5], decoded[10]] == ["null", "NA", "nan"]
    assert decoded[7] == "\n" and pd.isna(decoded[8])
    assert np.array_equal(table.values, released("google/gemma-2-2b", ["best_ever_one"]).values)


def test_unknown_prompt_column_is_an_error(released):
    with pytest.raises(ValueError):
        released("google/gemma-2-2b", ["no_such_prompt"])


def test_released_tables_are_pinned_with_checksums(tmp_path, monkeypatch):
    """A branch resolves to a commit once; later reads load that commit and check each file's sha256."""
    import huggingface_hub

    from rmnb.base.errors import RmnbError

    monkeypatch.setenv("RMNB_CACHE_DIR", str(tmp_path / "cache"))
    commits = iter(["1111111111111111111111111111111111111111", "2222222222222222222222222222222222222222"])
    asked = []

    def download(repo_id, filename, repo_type, revision):
        asked.append(revision)
        commit = revision if revision != "main" else next(commits)  # main moves on after the first download
        path = tmp_path / "hub" / "snapshots" / commit / filename
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(FIXTURE.read_bytes())
        return str(path)

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", download)
    path, commit = logprob_tables.released_file("google/gemma-2-2b", "main")
    assert commit == "1111111111111111111111111111111111111111" and asked == ["main"]
    again, commit2 = logprob_tables.released_file("google/gemma-2-2b", "main")
    assert asked[-1] == commit == commit2 and again == path  # the recorded commit, not today's main
    with open(path, "a") as fh:
        fh.write("0,x,x\n")  # the cached file changed
    with pytest.raises(RmnbError, match="google--gemma-2-2b.csv .*at commit 1111.*has sha256.*Fix: delete it"):
        logprob_tables.released_file("google/gemma-2-2b", "main")


def test_released_source_offline_names_the_fix(monkeypatch, tmp_path):
    import huggingface_hub.constants as hf_constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setattr(hf_constants, "HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(RmnbError, match="source='live'"):
        logprob_tables.released_file("google/gemma-2-2b-it", revision="main")


def test_released_tables_are_dense_by_token_id(monkeypatch, tmp_path):
    csv = tmp_path / "m.csv"
    pd.DataFrame({"token_id": [0, 1, 3], "token_name": ["a", "b", "d"], "token_decoded": ["love", "nan", "duty"],
                  "greatest_ever_one": [-1.0, -2.0, -3.0], "worst_ever_one": [-4.0, -5.0, -6.0]}).to_csv(csv,
                                                                                                     index=False)
    monkeypatch.setattr(logprob_tables, "released_file", lambda model_id, revision="main": (str(csv), "abc123"))
    table = logprob_tables.released_logprobs("org/m", ["worst_ever_one", "greatest_ever_one"])
    assert table.values.shape == (2, 4) and table.revision == "abc123" and table.source == "released"
    assert table.values[1, 3] == -3.0 and np.isneginf(table.values[0, 2])
    assert table.vocab.token_decoded[0] == "love" and pd.isna(table.vocab.token_decoded[2])
    assert pd.isna(table.vocab.token_decoded[1])  # pandas reads the string "nan" as missing, as the authors' code
    assert table.series("greatest_ever_one")[0] == -1.0
