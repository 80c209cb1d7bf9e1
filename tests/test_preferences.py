"""Preference data: the HH-RLHF split at the last "Assistant:" turn, deterministic splits, Hub-only sources."""

import pytest

from rmnb.base.errors import RmnbError
from rmnb.data import preferences


def test_split_at_the_last_assistant_turn():
    text = "\n\nHuman: hi\n\nAssistant: hello\n\nHuman: and?\n\nAssistant: Sure, here."
    prompt, response = preferences.split_transcript(text)
    assert prompt == "\n\nHuman: hi\n\nAssistant: hello\n\nHuman: and?\n\nAssistant:"
    assert response == " Sure, here." and prompt + response == text
    assert preferences.transcript_messages(prompt) == [
        {"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"},
        {"role": "user", "content": "and?"}]
    with pytest.raises(RmnbError, match="no"):
        preferences.split_transcript("\n\nHuman: no assistant here")


def test_hh_rlhf_file_and_split(data_dir):
    raw = preferences.read_hh_rlhf()
    assert len(raw) == 2312 and int(raw.same_prompt.sum()) == 2307  # PROVENANCE.md
    assert raw.prompt.str.endswith("\n\nAssistant:").all()
    assert raw.apply(lambda r: r.chosen_raw.startswith(r.prompt)
                     and r.chosen_raw[len(r.prompt):].strip() == r.chosen, axis=1).all()
    assert not raw.chosen.str.contains("\n\nAssistant:").any()  # the response is the last turn only
    first = raw.iloc[0]
    assert first.prompt.startswith("\n\nHuman: what are some pranks with a pen i can do?")
    assert first.prompt.count("\n\nHuman:") == 3 and first.n_turns == 3
    assert first.chosen.startswith("No, sorry!") and first.chosen_raw.endswith(first.chosen)
    data = preferences.hh_rlhf()
    assert len(data) < 2307 and data.frame.pair_id.is_unique
    conv = data.frame.chosen.iloc[0]
    assert [m["role"] for m in conv] == ["user", "assistant"] * 3
    assert all(c[:-1] == r[:-1] for c, r in zip(data.frame.chosen, data.frame.rejected))  # same prompt
    short = preferences.hh_rlhf(max_chars=320)
    assert 0 < len(short) < len(data) and (short.frame.n_chars <= 320).all()


def test_split_is_deterministic_and_disjoint(data_dir):
    data = preferences.hh_rlhf(max_chars=320)
    train, held = preferences.split_pairs(data, n_heldout=50, n_train=100, seed=1)
    again_train, again_held = preferences.split_pairs(preferences.hh_rlhf(max_chars=320), 50, 100, seed=1)
    assert train.pair_ids == again_train.pair_ids and held.pair_ids == again_held.pair_ids
    assert train.fingerprint() == again_train.fingerprint()
    assert len(train) == 100 and len(held) == 50 and not set(train.pair_ids) & set(held.pair_ids)
    other, _ = preferences.split_pairs(data, 50, 100, seed=2)
    assert other.pair_ids != train.pair_ids
    with pytest.raises(RmnbError, match="n_train"):
        preferences.split_pairs(data, 50, 10_000)


def test_conversational_rows_and_subsampling():
    rows = [{"chosen": [{"role": "user", "content": "q"}, {"role": "assistant", "content": f"a{i}"}],
             "rejected": [{"role": "user", "content": "q"}, {"role": "assistant", "content": f"b{i}"}]}
            for i in range(5)]
    data = preferences.from_rows(rows, "toy")
    assert data.pair_ids == [0, 1, 2, 3, 4] and data.frame.chosen.iloc[2][-1]["content"] == "a2"
    with pytest.raises(RmnbError, match="messages"):
        preferences.from_rows([{"chosen": "plain", "rejected": "text"}], "bad")
    rows[0]["chosen"][1]["content"] = "a much longer answer than the others"
    short = preferences.limit_chars(preferences.from_rows(rows, "toy"), 10)
    assert short.pair_ids == [1, 2, 3, 4] and short.name == "toy/max10chars"
    with pytest.raises(RmnbError, match="raise max_chars"):
        preferences.limit_chars(short, 1)


@pytest.mark.parametrize("source", ["skywork", "unified-feedback", "someone/some-preferences"])
def test_hub_sources_fail_offline_with_the_fix(monkeypatch, source):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    with pytest.raises(RmnbError, match="HF_HUB_OFFLINE=1 is set.*Fix: run on a machine with network access"):
        preferences.load(source, step=64) if source != "someone/some-preferences" else preferences.load(source)
