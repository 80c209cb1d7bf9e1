"""Ruff on the chapters' code: each ``notebooks/NN_slug.md`` read with jupytext, written as a temporary notebook, and
checked with the project's ruff rules (``[tool.ruff]`` in pyproject.toml; ruff reads notebooks cell by cell, so an
import at the top of a cell is where it belongs). One exception: an exercise's solution may import below the
student's lines (``rmnb.book.exercises.SOLUTION_MARKER``), which the student edition keeps and the solution follows,
so E402 is not reported in an exercise cell. Problems are reported at the chapter's own line numbers:

    notebooks/01_big_two.md:83:1: F401 `altair` imported but unused

    python tools/lint_chapters.py [CHAPTER.md ...]     # default: every chapter; exit 1 when ruff finds a problem

``make lint`` runs it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import jupytext

from rmnb.book.exercises import SOLUTION_MARKER

ROOT = Path(__file__).resolve().parents[1]
FENCE = "```{code-cell}"


def code_cell_lines(path: Path, cells: list) -> dict[int, int]:
    """``{cell number (1-based, as ruff counts every cell): line of the cell's first source line in path (1-based)}``
    for the code cells of ``cells`` (jupytext's reading of ``path``)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    fences = [i for i, line in enumerate(lines) if line.startswith(FENCE)]
    code = [(n, cell) for n, cell in enumerate(cells, 1) if cell.cell_type == "code"]
    if len(fences) != len(code):
        raise SystemExit(f"{path}: {len(fences)} code-cell fences but jupytext reads {len(code)} code cells")
    starts = {}
    for fence, (n, cell) in zip(fences, code):
        source = cell.source.splitlines() or [""]
        # The source follows the fence and its options (``:tags: [...]`` lines or a --- YAML block).
        start = next((i for i in range(fence + 1, len(lines)) if lines[i:i + len(source)] == source), fence + 1)
        starts[n] = start + 1
    return starts


def lint(paths: list[Path]) -> list[str]:
    """Ruff's findings for the chapters ``paths``, one line each, at the chapters' line numbers."""
    ruff = Path(sys.executable).with_name("ruff")
    with tempfile.TemporaryDirectory(prefix="rmnb-lint-") as tmp:
        starts, sources, exercises = {}, {}, {}
        for path in paths:
            nb = jupytext.read(path)
            target = Path(tmp) / f"{path.stem}.ipynb"
            jupytext.write(nb, target)
            starts[target.name], sources[target.name] = code_cell_lines(path, nb.cells), path
            exercises[target.name] = {n for n, cell in enumerate(nb.cells, 1) if SOLUTION_MARKER in cell.source}
        proc = subprocess.run([str(ruff) if ruff.exists() else "ruff", "check", "--config", str(ROOT / "pyproject.toml"),
                               "--output-format", "json", "--no-cache", tmp], capture_output=True, text=True)
        if proc.returncode not in (0, 1):
            raise SystemExit(f"ruff failed (exit {proc.returncode}): {proc.stderr.strip()}")
    found = []
    for d in json.loads(proc.stdout or "[]"):
        name = Path(d["filename"]).name
        if d["code"] == "E402" and d.get("cell") in exercises[name]:
            continue
        path, row, col = sources[name], d["location"]["row"], d["location"]["column"]
        line = starts[name].get(d.get("cell"), 1) + row - 1
        shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        fix = " [*]" if d.get("fix") else ""
        found.append(f"{shown}:{line}:{col}: {d['code']}{fix} {d['message']}")
    return found


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    paths = [Path(a).resolve() for a in args] or sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.md"))
    found = lint(paths)
    for line in found:
        print(line)
    print(f"ruff on the chapters' code: {len(found)} problem(s) in {len(paths)} chapter(s)"
          + ("" if not found else "; fix them in the chapter at the line shown"))
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
