"""Run times for the teacher's guide: measured, never typed.

Two sources, both written by a program:

- **Measured fresh and cached** (``book/timings.json``, committed): ``python -m rmnb.builder.measure_timings`` runs
  every chapter twice in a new, empty user cache (``RMNB_CACHE_DIR`` set to a temporary folder): first *fresh*
  (the embedded models are converted first, timed on their own; then each chapter pays for what it builds: the
  trained reward models, the scored vocabularies), then *cached* (everything reused). It records the machine (CPU,
  cores, torch threads) and the profile it ran (``--profile default`` is what students run; ``smoke`` is quicker).
- **This build**: the ``duration`` papermill stores in each executed notebook under ``book/chapters/``.

Each exercise's run time comes from the same two sources, cell by cell: papermill stores every code cell's
``duration`` too, and :func:`exercise_durations` adds up the cells of each exercise of the ``## Exercises`` section
(with the cells at the top of the section that every exercise needs). The measurement keeps them under
``"exercises"`` in ``book/timings.json``; the guide's exercise table shows both and marks any exercise over
:data:`EXERCISE_LIMIT_S`.

:func:`write_timing_fragment` turns both into ``book/chapters/timings.inc`` (the status page writes it during
every build); the teacher's guide (``book/teachers-guide.md``) includes it. The sessions and their chapters come
from the seminar plan (:mod:`rmnb.seminar.seminar_plan`). What to plan by is one column, "plan with": the measured
cached time times :data:`SAFETY_FACTOR`; each exercise also has a human-minutes estimate (:func:`human_minutes`).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from rmnb.base.paths import repo_root
from rmnb.book.exercises import EXERCISE_TAG, SOLUTION_MARKER
from rmnb.seminar import seminar_plan

MEASURED_FILE = "book/timings.json"  # relative to the book's root
FRAGMENT = "timings.inc"             # written next to the executed chapters
EXERCISE_LIMIT_S = 120               # an exercise runs within two minutes on a laptop CPU
# "Plan with" = the measured cached time x SAFETY_FACTOR: a laptop that also runs a browser, a video call and an
# indexer is slower than the idle machine that measured (a review under load saw cached chapters take up to
# several times the measured figure). A design constant, stated in the guide.
SAFETY_FACTOR = 3
# Human minutes an exercise takes in class (reading it, predicting, writing the code, discussing the check): a base
# plus a rate per line of the reference solution, rounded up to HUMAN_ROUND. Design constants, stated in the guide.
HUMAN_BASE_MIN = 5
HUMAN_PER_LINE_MIN = 2
HUMAN_ROUND_MIN = 5


def read_measured(root: Path | None = None) -> dict | None:
    """The committed measurement (``book/timings.json``), or ``None`` when there is none."""
    path = Path(root or repo_root()) / MEASURED_FILE
    return json.loads(path.read_text()) if path.exists() else None


def build_durations(chapters_dir: Path) -> dict[str, float]:
    """``{chapter stem: seconds}`` from papermill's metadata in the executed notebooks of ``chapters_dir``."""
    out = {}
    for path in sorted(Path(chapters_dir).glob("*.ipynb")):
        meta = json.loads(path.read_text(encoding="utf-8")).get("metadata", {}).get("papermill") or {}
        if isinstance(meta.get("duration"), (int, float)):
            out[path.stem] = float(meta["duration"])
    return out


_EXERCISE_TITLE = re.compile(r"\{admonition\}[ \t]+Exercise[ \t]+(\d+)")


def exercise_durations(notebook: Path | dict) -> dict[str, float]:
    """``{"Exercise 1": seconds, ...}`` from papermill's cell durations in one executed chapter: each exercise's
    code cells (those after its title, up to the next exercise) plus the cells at the top of the ``## Exercises``
    section, which every exercise needs. Empty when the chapter has no exercises or was not executed."""
    nb = notebook if isinstance(notebook, dict) else json.loads(Path(notebook).read_text(encoding="utf-8"))
    shared, own, current, inside = 0.0, {}, None, False
    for cell in nb.get("cells", []):
        source = "".join(cell.get("source", ""))
        if cell.get("cell_type") == "markdown":
            for line in source.splitlines():
                if line.startswith("## "):
                    inside = line.strip() == "## Exercises"
                    current = None
            titles = _EXERCISE_TITLE.findall(source) if inside else []
            if titles:
                current = f"Exercise {titles[-1]}"
                own.setdefault(current, 0.0)
            continue
        duration = (cell.get("metadata", {}).get("papermill") or {}).get("duration")
        if not inside or not isinstance(duration, (int, float)):
            continue
        if current is None:
            shared += duration
        else:
            own[current] += duration
    return {name: round(shared + seconds, 1) for name, seconds in own.items()}


def build_exercise_durations(chapters_dir: Path) -> dict[str, dict[str, float]]:
    """``{chapter stem: exercise_durations}`` for the executed notebooks of ``chapters_dir``."""
    out = {}
    for path in sorted(Path(chapters_dir).glob("*.ipynb")):
        times = exercise_durations(path)
        if times:
            out[path.stem] = times
    return out


def _fmt(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 1:
        return "<1 s"
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


def _total(times: dict, stems) -> float | None:
    values = [times.get(s) for s in stems]
    return None if not values or any(v is None for v in values) else sum(values)


def plan_with(cached: float | None) -> float | None:
    """The time to plan by: the measured cached time x :data:`SAFETY_FACTOR`."""
    return None if cached is None else cached * SAFETY_FACTOR


def human_minutes(solution_lines: int) -> int:
    """The in-class minutes an exercise takes, estimated from its reference solution's length."""
    minutes = HUMAN_BASE_MIN + HUMAN_PER_LINE_MIN * solution_lines
    return -(-minutes // HUMAN_ROUND_MIN) * HUMAN_ROUND_MIN


def solution_lines(path: Path) -> dict[str, int]:
    """``{"Exercise 1": lines, ...}``: the code lines of each exercise's reference solution (below the marker of
    its ``exercise`` cell, without blank and comment lines) in a chapter source."""
    text, out, current = Path(path).read_text(encoding="utf-8"), {}, None
    for block in re.split(r"^(?=```)", text, flags=re.MULTILINE):
        title = _EXERCISE_TITLE.search(block.splitlines()[0]) if block.strip() else None
        if title:
            current = f"Exercise {title.group(1)}"
        elif current and block.startswith("```{code-cell}") and f"[{EXERCISE_TAG}" in block.split("\n", 2)[1]:
            lines = [x.strip() for x in block.splitlines()]
            below = lines[lines.index(SOLUTION_MARKER) + 1:] if SOLUTION_MARKER in lines else []
            out[current] = sum(1 for x in below if x and not x.startswith(("#", "```")))
    return out


def timing_rows(measured: dict | None, build: dict[str, float], plan: dict) -> list[list[str]]:
    """One row per session of ``plan``: session, chapters, plan with, cached and fresh (measured), this build."""
    fresh, cached = (measured or {}).get("fresh", {}), (measured or {}).get("cached", {})
    rows = []
    for session, stems in plan.items():
        rows.append([str(session), ", ".join(f"`{s}`" for s in stems),
                     f"**{_fmt(plan_with(_total(cached, stems)))}**", _fmt(_total(cached, stems)),
                     _fmt(_total(fresh, stems)), _fmt(_total(build, stems))])
    return rows


def exercise_rows(measured: dict | None, build: dict[str, dict[str, float]], root: Path | None = None) -> list[list[str]]:
    """One row per exercise: chapter, exercise, human minutes (estimate), plan with, measured (the cached run, else
    the fresh one, said which), this build; a computer time over :data:`EXERCISE_LIMIT_S` is marked."""
    runs = (measured or {}).get("exercises", {})
    root = Path(root or repo_root())

    def measured_cell(stem, name):
        for run in ("cached", "fresh"):
            seconds = runs.get(run, {}).get(stem, {}).get(name)
            if seconds is not None:
                return seconds, run
        return None, ""

    def cell(seconds):
        text = _fmt(seconds)
        return f"{text} (over {_fmt(EXERCISE_LIMIT_S)})" if seconds is not None and seconds > EXERCISE_LIMIT_S else text

    rows = []
    stems = sorted({*runs.get("fresh", {}), *runs.get("cached", {}), *build})
    for stem in stems:
        source = root / "notebooks" / f"{stem}.md"
        lines = solution_lines(source) if source.exists() else {}
        names = {*runs.get("fresh", {}).get(stem, {}), *runs.get("cached", {}).get(stem, {}), *build.get(stem, {})}
        for name in sorted(names, key=lambda n: int(n.split()[-1])):
            seconds, run = measured_cell(stem, name)
            human = f"{human_minutes(lines[name])} min" if name in lines else "-"
            rows.append([f"`{stem}`", name, human, cell(plan_with(seconds) if run == "cached" else None),
                         f"{cell(seconds)} ({run})" if run else "-", cell(build.get(stem, {}).get(name))])
    return rows


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header), *("| " + " | ".join(r) + " |" for r in rows)]


def _exercise_table(measured: dict | None, build_exercises: dict[str, dict[str, float]],
                    root: Path | None = None) -> list[str]:
    rows = exercise_rows(measured, build_exercises, root)
    if not rows:
        return ["**Exercises.** No exercise has been timed yet: the times appear once the chapters have run in a "
                "build (`make book`) or in `python -m rmnb.builder.measure_timings`.", ""]
    header = ["Chapter", "Exercise", "Human (estimate)", "Plan with (computer)", "Measured", "This build"]
    lines = ["**Exercises.**", "", *_table(header, rows)]
    over = sum("(over" in c for r in rows for c in r[3:])
    lines += ["", f"*Human* is an estimate of the class time an exercise takes (reading, predicting, writing the "
                  f"code, discussing the check): {HUMAN_BASE_MIN} minutes plus {HUMAN_PER_LINE_MIN} per line of the "
                  f"reference solution, rounded up to {HUMAN_ROUND_MIN} (design constants of `rmnb.seminar.timings`, not "
                  f"a measurement). The computer times are the sum of papermill's cell times for an exercise's cells "
                  f"(the book's reference solution and its check) and the cells at the top of the chapter's Exercises "
                  f"section, after the chapter itself has run. *Measured* comes from `book/timings.json` and says "
                  f"which of its runs (cached, else fresh); *plan with* is the cached time times {SAFETY_FACTOR}; "
                  f"*This build* comes from this site's build. The limit is {_fmt(EXERCISE_LIMIT_S)} of computer time "
                  f"on a laptop CPU; "
                  + (f"{over} {'time is' if over == 1 else 'times are'} over it." if over else "no time shown is over it.")
              + " A dash means the exercise was not timed by that source.", ""]
    return lines


def fragment_text(measured: dict | None, build: dict[str, float], build_profile: str | None = None,
                  build_exercises: dict[str, dict[str, float]] | None = None, root: Path | None = None) -> str:
    """The MyST fragment the guide includes: the session tables, the exercise table, and where each number comes
    from."""
    header = ["Session", "Chapters", "Plan with", "Cached (measured)", "Fresh (measured)", "This build"]
    lines = [f"**Plan by the first column.** *Plan with* is the measured cached time (every chapter's one-off costs "
             f"already paid, as after `rmnb setup` and a first run at home) times {SAFETY_FACTOR}, a safety factor "
             f"for a laptop that also does other work. If the students have not run the chapters before the "
             f"session, plan with the *fresh* column times {SAFETY_FACTOR} instead.", ""]
    for title, plan in (("Sessions", seminar_plan.sessions(root)), ("Two sessions", seminar_plan.short_sessions(root))):
        lines += [f"**{title}.**", "", *_table(header, timing_rows(measured, build, plan)), ""]
    if measured:
        m = measured["machine"]
        conv = ", ".join(f"{k} {_fmt(v)}" for k, v in measured.get("conversion", {}).items())
        lines += [f"*Fresh* and *cached* were measured with `{measured['command']}` on {measured['measured']}: "
                  f"{m['cpu']}, {m['cores']} cores, {m['torch_threads']} torch threads, Python {m['python']}, "
                  f"**{measured['profile']}** settings, first in an empty user cache (*fresh*: each chapter pays "
                  f"for what it builds) and then again with everything cached (*cached*). The fresh times exclude "
                  f"the one-off conversion of the embedded models, measured separately: {conv or 'not measured'}. "
                  f"They are stored in `book/timings.json`."]
        busy = [r for r in measured.get("runs", []) if r.get("load_before", [0])[0] > 0.5 * m["cores"]]
        for r in busy:
            lines += ["", f"*Load.* {', '.join(r['chapters'])} {'was' if len(r['chapters']) == 1 else 'were'} "
                          f"measured while the machine also did other work (load average {r['load_before'][0]:.1f} "
                          f"on {m['cores']} cores at the start): those times are upper bounds."]
        if not measured.get("complete", True):
            lines += ["", "```{warning}", "The measurement was interrupted: a dash means a chapter was not measured.",
                      "```"]
    else:
        lines += ["*Fresh* and *cached* have not been measured for this copy of the book: run "
                  "`python -m rmnb.builder.measure_timings` to write `book/timings.json`."]
    lines += ["", f"*This build* is papermill's duration for each chapter as this site was built"
                  f"{f' ({build_profile} settings)' if build_profile else ''}, in whatever state the build's cache "
                  "was (fresh on a new clone, cached after an earlier build); see {ref}`status`. A dash means "
                  "a chapter was not run.", ""]
    lines += _exercise_table(measured, build_exercises or {}, root)
    return "\n".join(lines)


def write_timing_fragment(chapters_dir: Path, root: Path | None = None, build_profile: str | None = None) -> Path:
    """Write ``<chapters_dir>/timings.inc`` (what the teacher's guide includes)."""
    root = Path(root) if root else Path(chapters_dir).resolve().parents[1]
    out = Path(chapters_dir) / FRAGMENT
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(fragment_text(read_measured(root), build_durations(chapters_dir), build_profile,
                                 build_exercise_durations(chapters_dir), root), encoding="utf-8")
    return out
