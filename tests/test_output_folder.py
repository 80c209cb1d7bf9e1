"""rmnb handout never deletes what it did not create: each case (source folders, user files, a file), on the CLI."""

import errno
import zipfile
from pathlib import Path

import pytest

from conftest import ROOT
from rmnb import cli
from rmnb.seminar import handout, output_folder


def _fill(folder: Path) -> None:
    (folder / "a.ipynb").write_text("{}")
    (folder / "README.md").write_text("read me")


def _publish(out, root, **kw):
    return output_folder.publish(out, root, _fill, **kw)


@pytest.fixture
def root(tmp_path):
    """A stand-in book root: its source folders hold files that must survive."""
    book = tmp_path / "book-root"
    for name in ("src", "tests", "notebooks", "book", "data"):
        (book / name).mkdir(parents=True)
        (book / name / "keep.txt").write_text("precious")
    (book / "_toc.yml").write_text("root: intro\n")
    return book


def test_writes_a_folder_and_a_zip_named_after_it(root, tmp_path):
    out, archive = _publish(tmp_path / "handout.v2", root)
    assert archive == tmp_path / "handout.v2.zip" and out == tmp_path / "handout.v2"
    assert sorted(zipfile.ZipFile(archive).namelist()) == ["handout.v2/README.md", "handout.v2/a.ipynb"]
    assert not (tmp_path / "handout.zip").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["book-root", "handout.v2", "handout.v2.zip"]  # no temp


def test_an_earlier_output_is_replaced_and_an_edited_one_refused(root, tmp_path):
    out, archive = _publish(tmp_path / "h", root)
    _publish(tmp_path / "h", root)  # the same output again: replaced, no question asked
    (out / "a.ipynb").write_text('{"cells": ["my work"]}')  # a student ran and saved the notebook
    with pytest.raises(output_folder.RmnbError, match=r"a\.ipynb \(changed since rmnb wrote it\).*--force"):
        _publish(out, root)
    assert (out / "a.ipynb").read_text() == '{"cells": ["my work"]}'
    (out / ".ipynb_checkpoints").mkdir()  # Jupyter's own folder is not the user's work
    (out / "a.ipynb").write_text("{}")
    _publish(out, root)


def test_a_folder_of_user_files_is_refused_unless_forced(root, tmp_path):
    mine = tmp_path / "mine"
    (mine / "sub").mkdir(parents=True)
    (mine / "thesis.tex").write_text("months of work")
    (mine / "sub" / "data.csv").write_text("1,2")
    with pytest.raises(output_folder.RmnbError, match=r"files rmnb did not write \(sub/, thesis\.tex\)"):
        _publish(mine, root)
    assert (mine / "thesis.tex").read_text() == "months of work" and not (tmp_path / "mine.zip").exists()
    _publish(mine, root, force=True)
    assert not (mine / "thesis.tex").exists() and (mine / "a.ipynb").exists()


def test_an_empty_folder_is_used(root, tmp_path):
    (tmp_path / "empty").mkdir()
    out, _ = _publish(tmp_path / "empty", root)
    assert (out / "a.ipynb").exists()


def test_a_foreign_zip_is_not_overwritten(root, tmp_path):
    (tmp_path / "h.zip").write_bytes(b"someone else's archive")
    with pytest.raises(output_folder.RmnbError, match="h.zip exists and rmnb did not write it"):
        _publish(tmp_path / "h", root)
    assert (tmp_path / "h.zip").read_bytes() == b"someone else's archive" and not (tmp_path / "h").exists()
    _publish(tmp_path / "h", root, force=True)
    assert zipfile.is_zipfile(tmp_path / "h.zip")


@pytest.mark.parametrize("where", ["", "src", "tests", "notebooks", "book", "data", "src/rmnb", "notebooks/new"])
def test_the_book_and_its_source_folders_are_refused_even_forced(root, where):
    before = sorted(p.relative_to(root).as_posix() for p in root.rglob("*"))
    for force in (False, True):
        with pytest.raises(output_folder.RmnbError, match="book itself|source folder"):
            _publish(root / where if where else root, root, force=force)
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*")) == before


def test_a_parent_of_the_book_is_refused(root):
    with pytest.raises(output_folder.RmnbError, match="book itself"):
        _publish(root.parent, root, force=True)


@pytest.mark.parametrize("target", ["file", "/proc/x", "/proc", "/dev/null"])
def test_non_folders_are_refused(root, tmp_path, target):
    path = tmp_path / "notes.txt" if target == "file" else Path(target)
    if target == "file":
        path.write_text("keep me")
    with pytest.raises(output_folder.RmnbError, match="a file, not a folder|pseudo file system"):
        _publish(path, root, force=True)
    if target == "file":
        assert path.read_text() == "keep me"


def test_a_full_disk_fails_cleanly_and_keeps_the_previous_output(root, tmp_path, monkeypatch):
    out, archive = _publish(tmp_path / "h", root)
    before = {p.name: p.read_bytes() for p in out.iterdir()}, archive.read_bytes()

    def full(folder):
        (folder / "a.ipynb").write_text("half")
        raise OSError(errno.ENOSPC, "No space left on device", str(folder / "README.md"))

    with pytest.raises(output_folder.RmnbError) as err:
        output_folder.publish(out, root, full)
    message = str(err.value)
    assert "\n" not in message and "No space left on device" in message and "free some space" in message
    assert ({p.name: p.read_bytes() for p in out.iterdir()}, archive.read_bytes()) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["book-root", "h", "h.zip"]  # no partial output


def test_a_failed_swap_restores_the_previous_output(root, tmp_path, monkeypatch):
    out, archive = _publish(tmp_path / "h", root)
    zip_bytes = archive.read_bytes()
    real = output_folder.os.replace

    def broken_replace(src, dst):
        if str(dst).endswith(".zip"):
            raise OSError(errno.EIO, "Input/output error", str(dst))
        return real(src, dst)

    monkeypatch.setattr(output_folder.os, "replace", broken_replace)
    with pytest.raises(output_folder.RmnbError, match="Input/output error"):
        output_folder.publish(out, root, lambda f: (f / "new.txt").write_text("new"))
    assert sorted(p.name for p in out.iterdir()) == sorted(["a.ipynb", "README.md", output_folder.MANIFEST])
    assert archive.read_bytes() == zip_bytes
    assert sorted(p.name for p in tmp_path.iterdir()) == ["book-root", "h", "h.zip"]


def test_a_new_parent_folder_is_removed_when_the_write_fails(root, tmp_path):
    def fails(folder):
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(output_folder.RmnbError):
        output_folder.publish(tmp_path / "new" / "deeper" / "h", root, fails)
    assert not (tmp_path / "new").exists()


def test_stale_temporary_folders_of_a_killed_run_are_removed(root, tmp_path):
    stale = tmp_path / "h.tmp-999999999"
    stale.mkdir()
    _publish(tmp_path / "h", root)
    assert not stale.exists()


def test_cli_handout_refuses_and_names_the_fix(tmp_path, capsys, monkeypatch):
    """The trials on the real command: `--out tests` and a folder of user files, then --force."""
    monkeypatch.chdir(ROOT)
    n_tests = len(list((ROOT / "tests").iterdir()))
    assert cli.main(["handout", "--out", "tests"]) == 2
    assert "source folder tests/" in capsys.readouterr().err
    assert len(list((ROOT / "tests").iterdir())) == n_tests
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.md").write_text("mine")
    assert cli.main(["handout", "--out", str(mine)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "notes.md" in err and "--force" in err
    assert cli.main(["handout", "--out", str(tmp_path / "handout.v2")]) == 0
    assert (tmp_path / "handout.v2.zip").exists() and not (tmp_path / "handout.zip").exists()
    assert cli.main(["handout", "--out", str(mine), "--force"]) == 0
    assert not (mine / "notes.md").exists()


def test_write_handout_goes_through_publish(tmp_path, monkeypatch):
    seen = {}
    monkeypatch.setattr(handout, "publish", lambda out, root, fill, **kw: seen.update(kw) or (Path(out), None))
    handout.write_handout(tmp_path / "x", force=True)
    assert seen["force"] is True and seen["kind"] == "handout"
