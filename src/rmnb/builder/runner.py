"""Execute chapters with papermill (jupytext MyST source -> executed .ipynb) and build the book.

Parameters are validated against the chapter's ``parameters`` cell (:mod:`rmnb.book.parameters`) before any work
starts: papermill itself only logs unknown names. Every executed notebook records the digests of its inputs
(:mod:`rmnb.builder.chapter_cache`); ``rmnb book`` reuses a chapter whose inputs are unchanged and says "from cache",
while ``rmnb run`` and ``rmnb book --refresh`` always execute.
"""

from __future__ import annotations

import fnmatch
import os
import platform
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from rmnb.base.device import describe_device
from rmnb.base.errors import RmnbError
from rmnb.base.paths import chapter_sources, repo_root
from rmnb.base.progress import bars_enabled, format_duration
from rmnb.base.tempfiles import pid_running
from rmnb.book.parameters import default_parameters, validate_parameters
from rmnb.builder import chapter_cache
from rmnb.builder.status import write_status_page
from rmnb.builder.variants import model_parameters, variant_dir, write_variant_toc


def resolve_chapters(name: str, root: Path | None = None) -> list[Path]:
    """Chapters matching ``name``: its number (``01``), its stem (``01_big_two``) or a glob (``"0[12]*"``)."""
    available = chapter_sources(root)
    hits = [p for p in available if name in (p.stem, p.stem[:2], p.name) or fnmatch.fnmatch(p.stem, name)]
    if not hits:
        valid = ", ".join(p.stem for p in available)
        raise RmnbError(f"no chapter matches {name!r}. Valid chapters: {valid} (a number such as 01 also works).")
    return hits


# ipykernel 7 warns on every start that it "is running over TCP without encryption": the kernel runs on this
# machine for papermill alone, so the warning says nothing a reader can act on. Its errors still show.
KERNEL_ARGUMENTS = ["--IPKernelApp.log_level=ERROR"]


def cell_progress(stem: str):
    """papermill's cell progress bar (chapter, cells done, elapsed, ETA) on stderr; ``False`` where no one watches
    (``rmnb.base.progress.bars_enabled``). ``disable=False`` overrides the ``TQDM_DISABLE`` meant for the kernel."""
    if not bars_enabled():
        return False
    return {"desc": stem, "unit": "cell", "file": sys.stderr, "disable": False, "dynamic_ncols": True}


def run_chapters(paths: list[Path], parameters: dict | None = None, *, label: str = "", reuse: bool = False,
                 **kwargs) -> list[tuple]:
    """:func:`run_chapter` for each of ``paths`` in order, saying which chapter runs and, after it, how long it took;
    ends with a time table (stderr). With ``reuse``, a chapter whose inputs are unchanged since its executed
    notebook was written (:func:`cached_chapter`) is not run: it says "from cache" (outcome ``cached``), and a
    chapter that runs says why. Returns ``[(stem, seconds, outcome, path)]``; a failure stops the run (after the
    table)."""
    timings = []
    try:
        for i, path in enumerate(paths, 1):
            where = f"({i}/{len(paths)}{', ' + label if label else ''})"
            start = time.perf_counter()
            if reuse:
                out, why = cached_chapter(path, parameters, **kwargs)
                if out is not None:
                    timings.append((path.stem, time.perf_counter() - start, "cached", out))
                    print(f"[rmnb] {path.stem} {where}: from cache (its inputs are unchanged since {out} was "
                          "executed)", file=sys.stderr, flush=True)
                    continue
                where += f": {why}"
            print(f"[rmnb] running {path.stem} {where}", file=sys.stderr, flush=True)
            try:
                out = run_chapter(path, parameters, **kwargs)
            except BaseException:
                timings.append((path.stem, time.perf_counter() - start, "failed", None))
                raise
            timings.append((path.stem, time.perf_counter() - start, "ok", out))
            print(f"[rmnb] {path.stem} done in {format_duration(timings[-1][1])}", file=sys.stderr, flush=True)
    finally:
        if len(paths) > 1 or any(t[2] != "ok" for t in timings):
            print(format_timings(timings, [p.stem for p in paths]), file=sys.stderr, flush=True)
    return timings


def format_timings(timings: list[tuple], planned: list[str] | None = None) -> str:
    """A per-chapter time table: chapter, outcome, time; chapters not run are listed as such; a total."""
    width = max([len(t[0]) for t in timings] + [len(s) for s in planned or []] + [7])
    lines = [f"{'chapter':<{width}}  {'outcome':<8} time", f"{'-' * width}  {'-' * 8} {'-' * 12}"]
    ran = {t[0] for t in timings}
    for stem, seconds, outcome, _ in timings:
        lines.append(f"{stem:<{width}}  {outcome:<8} {format_duration(seconds)}")
    for stem in planned or []:
        if stem not in ran:
            lines.append(f"{stem:<{width}}  {'not run':<8} -")
    lines.append(f"{'total':<{width}}  {'':<8} {format_duration(sum(t[1] for t in timings))}")
    return "\n".join(lines)


FAILED_DIR = "failed"     # <out_dir>/failed/<stem>.ipynb: the last failed execution, with its traceback
RUNNING_DIR = ".running"  # <out_dir>/.running/<stem>-<pid>.ipynb: the execution in progress
# The longest a single cell may run. Chapter 00's whole-vocabulary search is one cell: about 7 minutes on a 2-core
# CPU with native bfloat16, but over 30 minutes where bfloat16 is emulated (AVX2-only CPUs) or the machine is busy.
CELL_TIMEOUT_S = 4 * 3600


def _chapter_setup(path: Path, parameters: dict | None, out_dir: Path | None, results_dir: Path | None,
                   profile: str) -> tuple[dict, Path, Path]:
    """The chapter's checked parameter values, its executed notebook's path and its results folder."""
    root = path.parents[1]
    values = validate_parameters(path, {**default_parameters(path, profile), **(parameters or {})})
    out_dir = Path(out_dir or root / "book" / "chapters")
    return values, out_dir / f"{path.stem}.ipynb", Path(results_dir or root / "_build" / "results")


def cached_chapter(path: Path, parameters: dict | None = None, out_dir: Path | None = None,
                   results_dir: Path | None = None, profile: str = "default") -> tuple[Path | None, str | None]:
    """``(executed notebook, None)`` when the chapter's executed notebook and results are what its current inputs
    produce (:mod:`rmnb.builder.chapter_cache`), else ``(None, why it must run)``. The same arguments as
    :func:`run_chapter`; bad parameters are refused here too."""
    values, output, results = _chapter_setup(path, parameters, out_dir, results_dir, profile)
    why = chapter_cache.stale(output, chapter_cache.chapter_inputs(path, values, path.parents[1]), results)
    return (output, None) if why is None else (None, why)


def run_chapter(path: Path, parameters: dict | None = None, out_dir: Path | None = None,
                results_dir: Path | None = None, profile: str = "default") -> Path:
    """Execute one chapter with papermill; returns the executed notebook's path.

    The chapter executes into a temporary notebook, which replaces ``<out_dir>/<stem>.ipynb`` only on success:
    a failed run keeps the previous executed chapter byte for byte and leaves the failed notebook, with its
    traceback, in ``<out_dir>/failed/<stem>.ipynb`` (the error says where). The executed notebook records the
    digests of the chapter's inputs and of the results it wrote (``metadata.rmnb.inputs``), which
    :func:`cached_chapter` compares.
    """
    import jupytext
    import nbformat
    import papermill

    root = path.parents[1]
    values, output, results_dir = _chapter_setup(path, parameters, out_dir, results_dir, profile)
    inputs, started = chapter_cache.chapter_inputs(path, values, root), time.time()
    out_dir = output.parent
    out_dir.mkdir(parents=True, exist_ok=True)
    running = out_dir / RUNNING_DIR / f"{path.stem}-{os.getpid()}.ipynb"
    failed = out_dir / FAILED_DIR / f"{path.stem}.ipynb"
    remove_stale_running(running.parent)
    running.parent.mkdir(exist_ok=True)
    nb = jupytext.read(path)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    env = {"RMNB_CHAPTER": path.stem, "RMNB_RESULTS_DIR": str(results_dir),
           "RMNB_ROOT": str(root), "TQDM_DISABLE": "1"}  # no one watches a papermill kernel's progress bars
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    kept = (f"The previous executed chapter {output} is unchanged" if output.exists()
            else f"No executed chapter was written to {output}")
    try:
        papermill.execute_notebook(nb, str(running), parameters=values, kernel_name="python3", language="python",
                                   cwd=str(path.parent), progress_bar=cell_progress(path.stem),
                                   execution_timeout=CELL_TIMEOUT_S, log_output=False, extra_arguments=KERNEL_ARGUMENTS)
    except BaseException as exc:
        where = _keep_failed(running, failed)
        if isinstance(exc, papermill.PapermillExecutionError):
            raise RmnbError(f"chapter {path.stem} failed in cell {exc.exec_count}: {exc.ename}: {str(exc.evalue).rstrip('.')}. "
                            f"{kept}; {where}.") from None
        if isinstance(exc, Exception):
            raise RmnbError(f"chapter {path.stem} did not run ({type(exc).__name__}: {exc}). {kept}; {where}.") from exc
        raise
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    executed = nbformat.read(running, as_version=4)
    for cell in executed.cells:
        tags = cell.metadata.get("tags", [])
        if "parameters" in tags or "injected-parameters" in tags:
            cell.metadata["tags"] = sorted(set(tags) | {"hide-input"})
    executed.metadata["rmnb"] = {"device": describe_device("auto"), "host": socket.gethostname(),
                                 "python": sys.version.split()[0], "platform": platform.platform(),
                                 "inputs": chapter_cache.record(inputs, results_dir, path.stem, started)}
    nbformat.write(executed, running)
    os.replace(running, output)
    failed.unlink(missing_ok=True)  # an older failure no longer describes this chapter
    _remove_empty(running.parent, failed.parent)
    return output


def remove_stale_running(folder: Path) -> list[Path]:
    """Remove ``<stem>-<pid>.ipynb`` executions in progress whose process is gone (a killed ``rmnb run``);
    those of running processes are left alone. Returns what was removed."""
    removed = []
    for nb in folder.glob("*-*.ipynb") if folder.is_dir() else []:
        pid = nb.stem.rsplit("-", 1)[1]
        if pid.isdigit() and int(pid) != os.getpid() and not pid_running(int(pid)):
            nb.unlink(missing_ok=True)
            removed.append(nb)
    _remove_empty(folder)
    return removed


def _keep_failed(running: Path, failed: Path) -> str:
    """Move a failed execution to ``failed``; returns where to look, for the error message."""
    if not running.exists():
        _remove_empty(running.parent)
        return "the kernel wrote no notebook"
    failed.parent.mkdir(exist_ok=True)
    os.replace(running, failed)
    _remove_empty(running.parent)
    return f"the failed notebook, with its traceback, is {failed}"


def _remove_empty(*folders: Path) -> None:
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:  # not empty (another run in progress, a kept failure) or gone
            pass


def toc_chapters(root: Path) -> list[Path]:
    """The chapter sources the book's ``_toc.yml`` lists (``book/chapters/<stem>`` entries)."""
    toc = (root / "_toc.yml").read_text()
    stems = [line.split("book/chapters/")[1].strip() for line in toc.splitlines() if "book/chapters/" in line]
    sources = {p.stem: p for p in chapter_sources(root)}
    return [sources[s] for s in stems if s in sources]


def _jupyter_book(root: Path, *args: str) -> None:
    jb = Path(sys.executable).with_name("jupyter-book")
    proc = subprocess.run([str(jb) if jb.exists() else "jupyter-book", "build", str(root), *args], cwd=root)
    if proc.returncode != 0:
        raise RmnbError(f"jupyter-book build failed (exit {proc.returncode}); see the warnings above.")


def run_variant(paths: list[Path], model_id: str, values: dict | None = None, profile: str = "default",
                build: bool = True) -> Path:
    """Run chapters with ``model_id`` into ``book/_runs/<model-slug>/`` and build that variant's pages into
    ``_build/runs/<model-slug>/``; the default book is untouched. Returns the variant folder."""
    root = paths[0].parents[1]
    folder = variant_dir(root, model_id)
    for path in paths:
        validate_parameters(path, values or {})
    timings = []
    try:
        for i, path in enumerate(paths, 1):
            params = {**model_parameters(path, model_id), **(values or {})}
            print(f"[rmnb] running {path.stem} with {model_id} ({i}/{len(paths)})", file=sys.stderr, flush=True)
            start = time.perf_counter()
            try:
                run_chapter(path, params, out_dir=folder, results_dir=folder / "results", profile=profile)
            except BaseException:
                timings.append((path.stem, time.perf_counter() - start, "failed", None))
                raise
            timings.append((path.stem, time.perf_counter() - start, "ok", None))
    finally:
        print(format_timings(timings, [p.stem for p in paths]), file=sys.stderr, flush=True)
    toc = write_variant_toc(root, model_id)
    if build:
        out = root / "_build" / "runs" / folder.name
        _jupyter_book(root, "--toc", str(toc), "--path-output", str(out), "-n", "--keep-going")
    return folder


# Chapters that make what others use run first: 06 installs the embedded reward models that 00 and 07 score with,
# so on a fresh clone the installation is paid (and timed) in 06, not in whichever chapter comes first in the TOC.
RUN_FIRST = ("06_training_live",)


def execution_order(paths: list[Path]) -> list[Path]:
    """The TOC's chapters in the order the book executes them: ``RUN_FIRST`` first, then TOC order."""
    first = [p for stem in RUN_FIRST for p in paths if p.stem == stem]
    return first + [p for p in paths if p.stem not in RUN_FIRST]


@contextmanager
def unchanged_files_keep_their_times(folder: Path):
    """Files below ``folder`` (executed notebooks and hidden folders aside) that are rewritten inside the block with
    the same bytes get their modification time back: the status page and its fragments are written on every build,
    and Sphinx reads a page again, with the pages that include it, whenever a file's time is newer."""
    def snapshot():
        found = {}
        for path in Path(folder).rglob("*") if Path(folder).is_dir() else []:
            hidden = any(part.startswith(".") for part in path.relative_to(folder).parts)
            if path.is_file() and path.suffix != ".ipynb" and not hidden:
                stat = path.stat()
                found[path] = (stat.st_size, stat.st_mtime_ns, chapter_cache.file_digest(path))
        return found

    before = snapshot()
    yield
    for path, (size, mtime_ns, digest) in before.items():
        if path.is_file() and path.stat().st_size == size and chapter_cache.file_digest(path) == digest:
            os.utime(path, ns=(path.stat().st_atime_ns, mtime_ns))


def build_book(root: Path | None = None, profile: str = "default", output: Path | None = None,
               execute: bool = True, refresh: bool = False) -> Path:
    """Run every chapter the TOC lists (``execution_order``), write the status page, then ``jupyter-book build -W``.

    A chapter whose inputs are unchanged since it was executed is reused ("from cache"); ``refresh`` executes
    every chapter. Sphinx builds incrementally: only the pages whose sources changed are read again."""
    root = Path(root or repo_root())
    chapter_dir = root / "book" / "chapters"
    if execute:
        run_chapters(execution_order(toc_chapters(root)), out_dir=chapter_dir, profile=profile, label=profile,
                     reuse=not refresh)
    with unchanged_files_keep_their_times(chapter_dir):  # so that Sphinx reads again only what changed
        write_status_page(chapter_dir, chapter_dir / "status.md")
    _jupyter_book(root, "-W", "-n", "--keep-going", *(["--path-output", str(output)] if output else []))
    return Path(output or root) / "_build" / "html"
