"""Run times for the teacher's guide: measured, never typed.

Two sources, both written by a program:

- **Measured fresh and cached** (``book/timings.json``, committed): ``python -m rmnb.book.measure_timings`` runs
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
every build); the teacher's guide (``book/teachers-guide.md``) includes it. :data:`SESSIONS` is the six-session
plan's chapter list, shared by the guide's table and the session sums.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from rmnb.base.paths import repo_root

MEASURED_FILE = "book/timings.json"  # relative to the book's root
FRAGMENT = "timings.inc"             # written next to the executed chapters
EXERCISE_LIMIT_S = 120               # an exercise runs within two minutes on a laptop CPU (issue #14)

# The six-session seminar (book/teachers-guide.md): session number -> the chapters students run for it.
SESSIONS: dict[int, tuple[str, ...]] = {
    1: ("00_token_search",),
    2: ("01_big_two",),
    3: ("02_moral_foundations",),
    4: ("03_base_model_logprobs",),
    5: ("04_implicit_reward",),
    6: ("05_training_ablations", "06_training_live", "07_greatest_thing"),
}
SHORT_SESSIONS: dict[str, tuple[str, ...]] = {  # the two-session variant
    "A": ("01_big_two", "03_base_model_logprobs"),
    "B": ("05_training_ablations", "06_training_live", "07_greatest_thing"),
}


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
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


def _total(times: dict, stems) -> float | None:
    values = [times.get(s) for s in stems]
    return None if not values or any(v is None for v in values) else sum(values)


def timing_rows(measured: dict | None, build: dict[str, float], plan: dict) -> list[list[str]]:
    """One row per session of ``plan``: session, chapters, fresh, cached (measured), this build."""
    fresh, cached = (measured or {}).get("fresh", {}), (measured or {}).get("cached", {})
    rows = []
    for session, stems in plan.items():
        rows.append([str(session), ", ".join(f"`{s}`" for s in stems), _fmt(_total(fresh, stems)),
                     _fmt(_total(cached, stems)), _fmt(_total(build, stems))])
    return rows


def exercise_rows(measured: dict | None, build: dict[str, dict[str, float]]) -> list[list[str]]:
    """One row per exercise: chapter, exercise, measured (the cached run, else the fresh one), this build; a time
    over :data:`EXERCISE_LIMIT_S` is marked."""
    runs = (measured or {}).get("exercises", {})
    best = {stem: {**runs.get("fresh", {}).get(stem, {}), **runs.get("cached", {}).get(stem, {})}
            for stem in {*runs.get("fresh", {}), *runs.get("cached", {})}}

    def cell(seconds):
        text = _fmt(seconds)
        return f"{text} (over {_fmt(EXERCISE_LIMIT_S)})" if seconds is not None and seconds > EXERCISE_LIMIT_S else text

    rows = []
    for stem in sorted({*best, *build}):
        names = sorted({*best.get(stem, {}), *build.get(stem, {})}, key=lambda n: int(n.split()[-1]))
        rows += [[f"`{stem}`", name, cell(best.get(stem, {}).get(name)), cell(build.get(stem, {}).get(name))]
                 for name in names]
    return rows


def _exercise_table(measured: dict | None, build_exercises: dict[str, dict[str, float]]) -> list[str]:
    rows = exercise_rows(measured, build_exercises)
    if not rows:
        return ["**Exercises.** No exercise has been timed yet: the times appear once the chapters have run in a "
                "build (`make book`) or in `python -m rmnb.book.measure_timings`.", ""]
    header = ["Chapter", "Exercise", "Measured", "This build"]
    lines = ["**Exercises.**", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    over = sum("(over" in c for r in rows for c in r[2:])
    lines += ["", f"Each exercise's time is the sum of papermill's cell times for its cells (the book's reference "
                  f"solution and its check) and the cells at the top of the chapter's Exercises section, after "
                  f"the chapter itself has run. *Measured* comes from `book/timings.json` (its cached run, else its "
                  f"fresh one; the machine and settings are named above), *This build* from this site's build. "
                  f"The limit is {_fmt(EXERCISE_LIMIT_S)} on a laptop CPU; "
                  + (f"{over} {'time is' if over == 1 else 'times are'} over it." if over else "no time shown is over it.")
              + " A dash means the exercise was not timed by that source.", ""]
    return lines


def fragment_text(measured: dict | None, build: dict[str, float], build_profile: str | None = None,
                  build_exercises: dict[str, dict[str, float]] | None = None) -> str:
    """The MyST fragment the guide includes: the session tables, the exercise table, and where each number comes
    from."""
    header = ["Session", "Chapters", "Fresh (measured)", "Cached (measured)", "This build"]
    lines = []
    for title, plan in (("Six sessions", SESSIONS), ("Two sessions", SHORT_SESSIONS)):
        lines += [f"**{title}.**", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(r) + " |" for r in timing_rows(measured, build, plan)]
        lines += [""]
    if measured:
        m = measured["machine"]
        conv = ", ".join(f"{k} {_fmt(v)}" for k, v in measured.get("conversion", {}).items())
        lines += [f"*Fresh* and *cached* were measured with `{measured['command']}` on {measured['measured']}: "
                  f"{m['cpu']}, {m['cores']} cores, {m['torch_threads']} torch threads, Python {m['python']}, "
                  f"**{measured['profile']}** settings, in an empty user cache (fresh) and then again (cached). "
                  f"The fresh times exclude the one-off conversion of the embedded models, measured separately: "
                  f"{conv or 'not measured'}. They are stored in `book/timings.json`."]
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
                  "`python -m rmnb.book.measure_timings` to write `book/timings.json`."]
    lines += ["", f"*This build* is papermill's duration for each chapter as this site was built"
                  f"{f' ({build_profile} settings)' if build_profile else ''}; see {{ref}}`status`. A dash means "
                  "a chapter was not run.", ""]
    lines += _exercise_table(measured, build_exercises or {})
    return "\n".join(lines)


def write_timing_fragment(chapters_dir: Path, root: Path | None = None, build_profile: str | None = None) -> Path:
    """Write ``<chapters_dir>/timings.inc`` (what the teacher's guide includes)."""
    root = Path(root) if root else Path(chapters_dir).resolve().parents[1]
    out = Path(chapters_dir) / FRAGMENT
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(fragment_text(read_measured(root), build_durations(chapters_dir), build_profile,
                                 build_exercise_durations(chapters_dir)), encoding="utf-8")
    return out
