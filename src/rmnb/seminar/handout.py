"""``rmnb handout``: the student edition of the book (one Jupyter notebook per chapter, no solutions), and the
teacher edition (the same notebooks with the solutions open), both readable in Jupyter.

The exercise conventions (chapter sources, ``notebooks/NN_*.md``), defined here once (how to write one:
:mod:`rmnb.book.answers`):

- An exercise is a ``{admonition} Exercise N: ...`` with ``:class: tip``; its answer is a following
  ``{admonition} Solution`` with ``:class: dropdown`` (folded in the book). Numbers in a solution are glued
  (``{glue:text}`` from values computed in code), never typed.
- A code cell tagged ``solution`` is solution-only: it computes what a solution shows. It is removed from the
  student edition. A code cell that glues a value that only solution text uses is removed as well, whatever its
  tags (matched by content, see :func:`solution_glue_names`).
- A code cell tagged ``exercise`` is where a student writes code. Its lines above the marker line
  ``# --- solution ---`` stay (a comment saying what to compute, set-up lines, and ``answer = None``); the marker
  and the lines below it (the reference solution the book runs) are removed from the student edition.
- A code cell tagged ``check`` runs after an ``exercise`` cell: ``check(answer, "NN.k", globals())`` computes the
  chapter's value at check time (:mod:`rmnb.book.exercises`, :mod:`rmnb.book.answers`) and prints only a verdict.
  It stays in both editions. No cell the student edition keeps computes or glues a reference answer
  (:mod:`rmnb.seminar.leaks` tests it).

Solution text is removed by content, not only by tag: any fenced directive whose title starts with "Solution"
(``{admonition} Solution``, ``{dropdown} Solution ...``), with any number of backticks or colons. The parameters
cell is rewritten with the laptop defaults (the chapter's defaults with ``notebooks/params/default.yaml``).

Both editions' markdown is plain Jupyter markdown (:mod:`rmnb.seminar.student_markdown`): glued values filled in from
the teacher's own build (``_build/results``), citations as text, labels as links, admonitions as block quotes (the
teacher's solutions open), glued figures a cell that shows the chart. A note under the title says whose numbers
the text shows; each exercise says what its answer should look like ("What you should see", from the build).
Cells the book hides (``remove-cell``, ``remove-input``, ``hide-input``, ``hide-cell``) open with their input
collapsed. The teacher edition also has each chapter as an HTML page (:mod:`rmnb.seminar.html_pages`) and the
seminar's slides and quizzes (:mod:`rmnb.seminar.sessions`).
"""

from __future__ import annotations

import re
from pathlib import Path

import jupytext
import nbformat

from rmnb.base.errors import RmnbError
from rmnb.base.paths import chapter_sources, repo_root
from rmnb.book.exercises import CHECK_TAG, EXERCISE_TAG, SHAPE_PREFIX, SOLUTION_MARKER, SOLUTION_TAG
from rmnb.book.parameters import chapter_parameters, default_parameters
from rmnb.seminar import html_pages, seminar_plan, sessions, student_markdown
from rmnb.seminar.handout_readme import colab_setup_source, readme, repository_url
from rmnb.seminar.output_folder import publish
from rmnb.seminar.student_markdown import Context, to_jupyter

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


def is_solution_code(cell, names: set[str]) -> bool:
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


_EXERCISE_BLOCK = re.compile(r"^(?P<open>(?P<fence>`{3,}|:{3,})\{admonition\}[ \t]+Exercise[ \t]+(?P<n>\d+)\b.*?)"
                             r"^(?P=fence)[ \t]*$", re.MULTILINE | re.DOTALL)


def with_expected_shapes(text: str, chapter: str, values: dict | None) -> str:
    """Each exercise's admonition with a last line "What you should see: ...", the shape of the answer the build's
    check recorded (``shape_NN.k``); unchanged where the build recorded none."""
    def add(m: re.Match) -> str:
        shape = (values or {}).get(f"{SHAPE_PREFIX}{chapter[:2]}.{m['n']}")
        if not shape:
            return m.group(0)
        return f"{m['open']}\n*What you should see:* {shape}.\n{m['fence']}"
    return _EXERCISE_BLOCK.sub(add, text)


def converted_cells(cell, ctx: Context, teacher: bool) -> list:
    """The cells an edition has for one source cell: none (removed), the cell, or, for markdown with a glued
    figure, markdown and figure cells in turn (:func:`rmnb.seminar.student_markdown.to_jupyter`)."""
    if cell.cell_type == "markdown":
        text = with_expected_shapes(cell.source, ctx.chapter, ctx.values)
        text = text if teacher else strip_solutions(text)
        if not text.strip():
            return []
        out = []
        for kind, piece in to_jupyter(text, ctx):
            if kind == "figure":
                out.append(nbformat.v4.new_code_cell(
                    f'res.figures.get("{piece}", "(figure {piece} was not drawn in this run)")',
                    metadata={"tags": [FIGURE_TAG], html_pages.FIGURE_KEY: piece}))
            elif piece.strip():
                out.append(nbformat.v4.new_markdown_cell(piece))
        return out
    tags = cell.metadata.get("tags", [])
    if EXERCISE_TAG in tags:
        lines = cell.source.splitlines()
        if SOLUTION_MARKER not in (line.strip() for line in lines):
            raise RmnbError(f"an '{EXERCISE_TAG}' cell has no '{SOLUTION_MARKER}' line: {cell.source[:80]!r}. Add "
                            f"the marker line above the reference solution (see rmnb.seminar.handout).")
        if not teacher:
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


def chapter_context(root: Path, stem: str, labels=None, citations=None) -> tuple[Context, str]:
    """The conversion context of one chapter (its build's values, the book's labels and bibliography) and when
    the build ran ("" without one)."""
    values, when = student_markdown.read_values(root, stem)
    labels = student_markdown.read_labels(root) if labels is None else labels
    citations = (student_markdown.read_bibliography(root / "book" / "references.bib") if citations is None
                 else citations)
    return Context(values=values, labels=labels, citations=citations, chapter=stem), when


def edition(path: Path, teacher: bool = False, ctx: Context | None = None, when: str = "", url: str | None = None):
    """One chapter as a notebook of the student (or teacher) edition."""
    root = path.parents[1]
    if ctx is None:
        ctx, when = chapter_context(root, path.stem)
    nb = jupytext.read(path)
    names = solution_glue_names(nb)
    cells = []
    for cell in nb.cells:
        if cell.cell_type == "code" and "parameters" in cell.metadata.get("tags", []):
            cell.source = laptop_parameters_source(path)
            cells.append(cell)
        elif teacher or not (cell.cell_type == "code" and is_solution_code(cell, names)):
            cells += converted_cells(cell, ctx, teacher)
    first = next((i for i, c in enumerate(cells) if c.cell_type == "markdown"), 0)
    head, _, rest = cells[first].source.partition("\n") if cells else ("", "", "")
    if head.startswith("# ") and rest.strip():  # the note under the chapter's title, then the rest of the cell
        cells[first].source = head
        cells.insert(first + 1, nbformat.v4.new_markdown_cell(rest.strip("\n")))
    note = student_markdown.values_note("teacher" if teacher else "student", when, ctx.values is not None)
    cells.insert(first + 1, nbformat.v4.new_markdown_cell(note))
    if url:
        cells.insert(first + 2, nbformat.v4.new_code_cell(colab_setup_source(url), metadata={"tags": ["setup"]}))
    cited = [student_markdown.reference_line(ctx.citations[k], k) for k in ctx.cited if ctx.citations.get(k)]
    if cited:
        cells.append(nbformat.v4.new_markdown_cell("The works cited in this chapter:\n\n" + "\n".join(cited)))
    nb.cells = cells
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata.pop("jupytext", None)
    nb.metadata["rmnb"] = {"edition": "teacher" if teacher else "student", "chapter": path.stem}
    return nb


def write_handout(out: str | Path = "handout", teacher: bool = False, root: Path | None = None,
                  archive: bool = True, force: bool = False) -> tuple[Path, Path | None]:
    """Write the edition into the folder ``out`` and ``<out>.zip`` (:func:`rmnb.seminar.output_folder.publish`: an
    earlier handout is replaced, anything else is refused unless ``force``); returns both paths."""
    root = Path(root or repo_root())
    url = repository_url(root)
    resolved = Path(out).expanduser().resolve()
    repo_folder = (resolved.relative_to(root.resolve()).as_posix() if root.resolve() in resolved.parents
                   else resolved.name)
    labels = student_markdown.read_labels(root)
    citations = student_markdown.read_bibliography(root / "book" / "references.bib")

    def fill(folder: Path) -> None:
        listing, built = [], False
        for path in chapter_sources(root):
            ctx, when = chapter_context(root, path.stem, labels, citations)
            built = built or ctx.values is not None
            nb = edition(path, teacher=teacher, ctx=ctx, when=when, url=url)
            nbformat.validate(nb)
            nbformat.write(nb, folder / f"{path.stem}.ipynb")
            title = next((c.source.splitlines()[0][2:] for c in nb.cells
                          if c.cell_type == "markdown" and c.source.startswith("# ")), path.stem)
            listing.append((path.stem, title))
            if teacher:
                (folder / f"{path.stem}.html").write_text(html_pages.notebook_page(nb, root, title), encoding="utf-8")
        if teacher:
            html_pages.copy_vega(root, folder)
            if (root / seminar_plan.PLAN_FILE).exists():  # the book's seminar: its slides and quizzes
                sessions.write_teacher_material(folder, root)
        (folder / "README.md").write_text(readme(teacher=teacher, folder=resolved.name, listing=listing, url=url,
                                                 built=built, repo_folder=repo_folder), encoding="utf-8")

    return publish(out, root, fill, kind="handout", force=force, archive=archive)
