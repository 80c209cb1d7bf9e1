"""Write a generated folder (a handout) without ever deleting what rmnb did not write.

:func:`publish` is the one way the seminar kit writes a folder and its zip:

- **Where it may write.** ``out`` must be a folder, or not exist yet: an existing file, a path on a pseudo file
  system (``/proc``, ``/sys``, ``/dev``), the book's root or a folder above it, and anything inside the
  repository's source folders (:data:`SOURCE_FOLDERS` and every top-level folder git tracks) are refused, even with
  ``force``.
- **What it may replace.** An empty folder, or an earlier output of the same kind whose files are exactly the ones
  it wrote (its manifest, :data:`MANIFEST`, lists each file with its sha256). A folder holding anything else (a
  student's edited notebook, a file of the user's) is refused with the names of what would be lost, unless
  ``force``. The zip is ``<folder name>.zip`` beside the folder (``handout.v2`` -> ``handout.v2.zip``); an existing
  zip is replaced only when the previous output wrote it (or with ``force``).
- **How.** Everything is written into a temporary sibling (``<name>.tmp-<pid>``, the project's convention for an
  interrupted writer, :mod:`rmnb.base.tempfiles`), then swapped into place; the zip is written to a temporary name
  and renamed. A failure at any point (a full disk, a permission) removes the temporary files and leaves the
  previous folder and zip as they were; an ``OSError`` becomes one line naming the path, the cause and the fix.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import zipfile
from collections.abc import Callable
from pathlib import Path

from rmnb.base.errors import RmnbError
from rmnb.base.tempfiles import remove_stale_temps
from rmnb.data.fetch import sha256_of

MANIFEST = ".rmnb-output.json"  # written last into the folder: what it is and every file it holds, with sha256
# The book's own folders: never written into, whatever --force says (git's tracked top-level folders are added).
SOURCE_FOLDERS = ("src", "tests", "notebooks", "book", "data", "tools", "benchmarks", ".git", ".github", ".venv")
PSEUDO_FILE_SYSTEMS = ("/proc", "/sys", "/dev")
IGNORED = (".ipynb_checkpoints", ".DS_Store")  # written by Jupyter and file browsers, never the user's own work


def source_folders(root: Path) -> set[Path]:
    """The repository's source folders: :data:`SOURCE_FOLDERS` and every top-level folder git tracks."""
    names = set(SOURCE_FOLDERS)
    try:
        listed = subprocess.run(["git", "-C", str(root), "ls-files", "-z"], capture_output=True, timeout=20)
        if listed.returncode == 0:
            names |= {p.split("/", 1)[0] for p in listed.stdout.decode(errors="replace").split("\0") if "/" in p}
    except (OSError, subprocess.SubprocessError):  # no git: the fixed list alone
        pass
    return {(root / name).resolve() for name in names}


def refuse_unsafe(out: Path, root: Path, option: str = "--out") -> None:
    """Raise when ``out`` is a place no output may go (see the module's docstring); ``out`` is resolved."""
    root = root.resolve()
    fix = f"Fix: choose a new folder outside the book's sources, such as {option} handout"
    if any(out == Path(p) or Path(p) in out.parents for p in PSEUDO_FILE_SYSTEMS):
        raise RmnbError(f"{option} {out} is on a system pseudo file system, not a folder for files. {fix}.")
    if out.exists() and not out.is_dir():
        raise RmnbError(f"{option} {out} is a file, not a folder; it is left as it is. {fix}.")
    if out == root or out in root.parents:
        raise RmnbError(f"{option} {out} would replace the book itself. {fix}.")
    for folder in source_folders(root):
        if out == folder or folder in out.parents:
            raise RmnbError(f"{option} {out} is inside the book's source folder {folder.name}/, which rmnb never "
                            f"writes into. {fix}.")


def read_manifest(folder: Path) -> dict | None:
    """The manifest of an earlier output in ``folder``, or ``None``."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) and isinstance(manifest.get("files"), dict) else None


def foreign_entries(folder: Path, manifest: dict | None) -> list[str]:
    """What in ``folder`` rmnb did not write, or changed since: names relative to ``folder``, sorted."""
    if not folder.is_dir():
        return []
    files = (manifest or {}).get("files", {})
    out = []
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if rel == MANIFEST or any(part in IGNORED for part in path.relative_to(folder).parts):
            continue
        if path.is_dir() and not path.is_symlink():
            if not any(name.startswith(rel + "/") for name in files):
                out.append(rel + "/")
            continue
        if rel not in files:
            out.append(rel)
        elif path.is_symlink() or sha256_of(path) != files[rel]:
            out.append(f"{rel} (changed since rmnb wrote it)")
    return [e for e in out if not any(e.startswith(d) and e != d for d in out if d.endswith("/"))]


def _refuse_overwrite(out: Path, zip_path: Path | None, kind: str, force: bool, option: str) -> None:
    if force:
        return
    manifest = read_manifest(out)
    if manifest is not None and manifest.get("kind") != kind:
        raise RmnbError(f"{option} {out} holds an rmnb {manifest.get('kind')}, not a {kind}. Fix: choose another "
                        f"folder, or pass --force to replace it.")
    foreign = foreign_entries(out, manifest)
    if foreign:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise RmnbError(f"{option} {out} holds files rmnb did not write ({shown}); nothing was changed. Fix: choose a "
                        f"new folder, or move those files away, or pass --force to replace the folder and lose them.")
    if zip_path is not None and zip_path.exists():
        if zip_path.is_dir():
            raise RmnbError(f"the zip {zip_path} would replace a folder of that name. Fix: choose another {option}.")
        if manifest is None or manifest.get("zip_sha256") != sha256_of(zip_path):
            raise RmnbError(f"{zip_path} exists and rmnb did not write it (or it changed since); nothing was "
                            f"changed. Fix: move it away, choose another {option}, or pass --force to replace it.")


def os_error_line(exc: OSError, out: Path) -> str:
    """One line for an ``OSError`` while writing ``out``: the path, the cause, the fix."""
    where = exc.filename or out
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        fix = "free some space on that disk, or choose an --out on another disk"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        fix = "choose an --out in a folder you can write to"
    elif exc.errno in (errno.ENOTDIR, errno.ENOENT):
        fix = "choose an --out whose parent is a folder"
    else:
        fix = "choose another --out, or fix the cause above"
    return (f"writing {out} failed at {where}: {exc.strerror or exc}. Nothing was changed: {out} is as it was, "
            f"and no partial output was left. Fix: {fix}.")


def _zip(folder: Path, target: Path, name: str) -> None:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for file in sorted(p for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST):
            zf.write(file, f"{name}/{file.relative_to(folder).as_posix()}")


def _remove(*paths: Path) -> None:
    for path in paths:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        elif path.exists() or path.is_symlink():
            path.unlink(missing_ok=True)


def _swap(tmp: Path, out: Path, old: Path, tmp_zip: Path, zip_path: Path | None) -> None:
    """``tmp`` becomes ``out`` (the previous ``out`` kept as ``old`` until the caller removes it) and ``tmp_zip``
    becomes ``zip_path``; on an error both are as they were."""
    had_previous, swapped = out.exists(), False
    if had_previous:
        os.rename(out, old)
    try:
        os.rename(tmp, out)
        swapped = True
        if zip_path is not None:
            os.replace(tmp_zip, zip_path)
    except OSError:
        if swapped:
            os.rename(out, tmp)
        if had_previous:
            os.rename(old, out)
        raise


def publish(out: str | Path, root: Path, fill: Callable[[Path], None], *, kind: str = "handout",
            force: bool = False, archive: bool = True, option: str = "--out") -> tuple[Path, Path | None]:
    """Write a folder with ``fill(folder)`` and swap it into place at ``out`` (and ``<out>.zip`` with ``archive``);
    returns both paths. Refuses, before writing anything, what :func:`refuse_unsafe` refuses and, unless ``force``,
    a folder or zip holding anything the previous output of this ``kind`` did not write."""
    out = Path(out).expanduser().resolve()
    refuse_unsafe(out, Path(root), option)
    zip_path = out.with_name(out.name + ".zip") if archive else None
    _refuse_overwrite(out, zip_path, kind, force, option)
    pid = os.getpid()
    tmp, tmp_zip, old = (out.with_name(f"{out.name}.tmp-{pid}"), out.with_name(f"{out.name}.zip.tmp-{pid}"),
                         out.with_name(f"{out.name}.old.tmp-{pid}"))
    missing = [p for p in (out.parent, *out.parent.parents) if not p.exists()]
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        for stale in (out, out.with_name(out.name + ".zip"), out.with_name(out.name + ".old")):
            remove_stale_temps(stale)  # left by a killed earlier run
        tmp.mkdir()
        fill(tmp)
        manifest = {"kind": kind, "files": {p.relative_to(tmp).as_posix(): sha256_of(p)
                                            for p in sorted(tmp.rglob("*")) if p.is_file()}}
        if zip_path is not None:
            _zip(tmp, tmp_zip, out.name)
            manifest["zip_sha256"] = sha256_of(tmp_zip)
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        _swap(tmp, out, old, tmp_zip, zip_path)
    except BaseException as exc:
        _remove(tmp, tmp_zip)
        for folder in missing:  # parents this call created, now empty again
            try:
                folder.rmdir()
            except OSError:
                pass
        if isinstance(exc, OSError):
            raise RmnbError(os_error_line(exc, out)) from None
        raise
    _remove(old)
    return out, zip_path
