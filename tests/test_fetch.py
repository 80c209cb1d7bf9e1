"""The released-data registry: checksums, local copies, clear errors."""

import shutil

import pytest

from rmnb.base.errors import RmnbError
from rmnb.data import fetch as data

PROMPTS = ("iclr2026", "config/prompts.yaml")


def test_every_registered_file_is_in_the_local_copy_and_verifies(data_dir):
    for source, path in data.registry():
        assert data.fetch(source, path).exists()


def test_checksum_mismatch_names_file_expected_hash_and_fix(tmp_path, monkeypatch, data_dir):
    copy = tmp_path / "iclr2026" / "config"
    copy.mkdir(parents=True)
    (copy / "prompts.yaml").write_text((data_dir / "iclr2026/config/prompts.yaml").read_text() + "\n# edited\n")
    monkeypatch.setenv("RMNB_DATA_DIR", str(tmp_path))
    with pytest.raises(RmnbError) as err:
        data.fetch(*PROMPTS)
    msg = str(err.value)
    assert "checksum mismatch" in msg and "config/prompts.yaml" in msg
    # under RMNB_DATA_DIR nothing is re-downloaded: the fix says to replace the copy or unset the variable
    assert "re-downloaded" not in msg and "replace" in msg and "unset RMNB_DATA_DIR" in msg
    assert data.registry()[PROMPTS] in msg and "Fix" in msg


def test_missing_file_in_local_dir_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("RMNB_DATA_DIR", str(tmp_path))
    with pytest.raises(RmnbError, match="missing from RMNB_DATA_DIR.*expected sha256"):
        data.fetch(*PROMPTS)


def test_download_offline_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.delenv("RMNB_DATA_DIR", raising=False)
    monkeypatch.setenv("RMNB_CACHE_DIR", str(tmp_path))
    # An unroutable URL stands in for "no network": the error must name the file, the hash and the fix.
    monkeypatch.setitem(data.SOURCES["iclr2026"], "base_url", "http://127.0.0.1:9/")
    with pytest.raises(RmnbError) as err:
        data.fetch(*PROMPTS)
    msg = str(err.value)
    assert "could not download iclr2026/config/prompts.yaml" in msg
    assert data.registry()[PROMPTS] in msg and "RMNB_DATA_DIR" in msg


def test_corrupt_cache_is_an_error_not_a_silent_redownload(tmp_path, monkeypatch, data_dir):
    monkeypatch.delenv("RMNB_DATA_DIR", raising=False)
    monkeypatch.setenv("RMNB_CACHE_DIR", str(tmp_path))
    cached = tmp_path / "data" / "iclr2026" / "config" / "prompts.yaml"
    cached.parent.mkdir(parents=True)
    cached.write_text("truncated")
    with pytest.raises(RmnbError, match="checksum mismatch.*delete"):
        data.fetch(*PROMPTS)


def test_intact_cache_is_used_without_network(tmp_path, monkeypatch, data_dir):
    monkeypatch.delenv("RMNB_DATA_DIR", raising=False)
    monkeypatch.setenv("RMNB_CACHE_DIR", str(tmp_path))
    cached = tmp_path / "data" / "iclr2026" / "config" / "prompts.yaml"
    cached.parent.mkdir(parents=True)
    shutil.copy(data_dir / "iclr2026/config/prompts.yaml", cached)
    assert data.fetch(*PROMPTS) == cached


def test_unregistered_path_is_rejected():
    with pytest.raises(RmnbError, match="not in rmnb's data registry"):
        data.fetch("iclr2026", "data/nothing.csv")
