"""Confusing cases of issue #13: each gets a message that names the problem and the fix (see tests/README.md)."""

import os
import subprocess
import sys

import pytest

from _tiny import chatml_tokenizer, llama_config, reward_model
from rmnb import cli
from rmnb.base.errors import RmnbError
from rmnb.base.tempfiles import remove_stale_temps
from rmnb.models import loading


def test_missing_chat_template_file_is_not_read_as_template_text(tmp_path):
    with pytest.raises(RmnbError, match="no such file, and it is not a Jinja template"):
        loading._read_template(str(tmp_path / "missing.jinja"))
    tpl = tmp_path / "t.jinja"
    tpl.write_text("{{ messages }}")
    assert loading._read_template(str(tpl)) == "{{ messages }}"
    assert loading._read_template("{{ messages }}") == "{{ messages }}"


def test_revision_is_refused_where_it_would_be_ignored(tmp_path):
    tok = chatml_tokenizer()
    reward_model(llama_config(tok)).save_pretrained(tmp_path / "rm")
    tok.save_pretrained(tmp_path / "rm")
    with pytest.raises(RmnbError, match="cannot apply to .*local folder"):
        loading.load_model(str(tmp_path / "rm"), revision="abc")
    spec = loading.resolve_spec("smollm2-135m-instruct")
    with pytest.raises(RmnbError, match="embedded model"):
        loading.check_revision_applies(spec, "abc", "/some/converted/folder")
    hub = loading.resolve_spec("Ray2333/GRM-gemma2-2B-rewardmodel-ft")
    loading.check_revision_applies(hub, "abc", hub.id)  # a Hub model: the revision applies


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


def test_quiet_disables_every_progress_bar(capsys):
    from tqdm.auto import tqdm

    with cli._no_progress_bars(True):
        for _ in tqdm(range(3), desc="library bar"):  # a library's own bar, as transformers' GGUF conversion
            pass
    assert "library bar" not in capsys.readouterr().err
    assert not tqdm(range(1)).disable  # restored
