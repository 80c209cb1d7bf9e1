"""Does the student edition leak a solution? Compared by calls, not only by lines.

A leak is solution code that reaches the student edition in another form: the reference answer recomputed in a
check cell with other variable names, an answer glued into ``res.values``, a check cell that prints a value. So:

- every call of the teacher's solution code (the lines under ``# --- solution ---``, the ``solution`` cells and the
  cells that glue solution-only values) becomes a *fingerprint*: the call as source, with every variable renamed
  by order of appearance (``greatest.word_summary(greatest.variant_ranks(_0), _0)``), module names and constants
  kept. A fingerprint is trivial (``int(_0)``, ``_0.mean()``) when it holds fewer than :data:`MIN_PARTS` attributes,
  constants, calls and module names; trivial ones are not compared.
- :func:`leaked_calls` lists the solution fingerprints found in the student edition: anywhere in it unless the
  chapter's own text (before ``## Exercises``) makes the same call, and anywhere in its Exercises section at all.
- :func:`check_cell_problems` lists check cells that do more than ``check(answer, "NN.k", globals())``, and kept
  cells that glue or record an ``ex_`` value.
"""

from __future__ import annotations

import ast
import builtins
import copy
import re

from rmnb.book.exercises import CHECK_TAG, EXERCISE_TAG, SOLUTION_MARKER, SOLUTION_TAG
from rmnb.seminar.handout import is_solution_code, solution_glue_names

MIN_PARTS = 3
EXERCISES = "## Exercises"
_MAGIC = re.compile(r"^\s*[%!].*$", re.MULTILINE)
_EX_VALUE = re.compile(r"""\b(?:glue|record)\(\s*f?["']ex_""")


def _parse(source: str) -> ast.Module:
    try:
        return ast.parse(_MAGIC.sub("pass", source))
    except SyntaxError:
        return ast.Module(body=[], type_ignores=[])


def imported_names(sources) -> set[str]:
    """Names bound by the import statements of ``sources`` (the modules a chapter uses), and Python's builtins."""
    names = set(dir(builtins))
    for source in sources:
        for node in ast.walk(_parse(source)):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return names


def _fingerprint(call: ast.Call, keep: set[str]) -> tuple[str, int]:
    node, renamed, parts = copy.deepcopy(call), {}, 0
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name):
            if sub.id in keep:
                parts += 1
            else:
                sub.id = renamed.setdefault(sub.id, f"_{len(renamed)}")
        elif isinstance(sub, (ast.Attribute, ast.Constant, ast.Call)):
            parts += 1
    return ast.unparse(node), parts


def call_fingerprints(source: str, keep: set[str]) -> set[str]:
    """The non-trivial call fingerprints of ``source`` (see the module's docstring)."""
    out = set()
    for node in ast.walk(_parse(source)):
        if isinstance(node, ast.Call):
            text, parts = _fingerprint(node, keep)
            if parts >= MIN_PARTS:
                out.add(text)
    return out


def _sections(nb) -> list[tuple[object, bool]]:
    """(cell, inside the Exercises section) for every cell."""
    out, inside = [], False
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("## "):
                    inside = line.strip() == EXERCISES
        out.append((cell, inside))
    return out


def solution_sources(nb) -> list[str]:
    """The teacher's solution code of a chapter (jupytext-read source)."""
    names = solution_glue_names(nb)
    out = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        tags = cell.metadata.get("tags", [])
        if EXERCISE_TAG in tags:
            lines = cell.source.splitlines()
            stripped = [line.strip() for line in lines]
            if SOLUTION_MARKER in stripped:
                out.append("\n".join(lines[stripped.index(SOLUTION_MARKER) + 1:]))
        elif SOLUTION_TAG in tags or is_solution_code(cell, names):
            out.append(cell.source)
    return out


def leaked_calls(teacher, student) -> list[str]:
    """Solution call fingerprints of ``teacher`` (a chapter source) found in ``student`` (its student edition)."""
    code = [c.source for c in teacher.cells if c.cell_type == "code"]
    keep = imported_names(code)
    solution = set().union(*(call_fingerprints(s, keep) for s in solution_sources(teacher)))
    body = set().union(*(call_fingerprints(c.source, keep) for c, inside in _sections(teacher)
                         if c.cell_type == "code" and not inside))
    found = set()
    for cell, inside in _sections(student):
        if cell.cell_type == "code":
            calls = call_fingerprints(cell.source, keep) & solution
            found |= calls if inside else calls - body
    return sorted(found)


def _is_check_call(node: ast.stmt) -> bool:
    if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)):
        return False
    call = node.value
    return (isinstance(call.func, ast.Name) and call.func.id == "check" and len(call.args) == 3 and not call.keywords
            and isinstance(call.args[0], ast.Name) and call.args[0].id == "answer"
            and isinstance(call.args[1], ast.Constant) and isinstance(call.args[1].value, str)
            and isinstance(call.args[2], ast.Call) and ast.unparse(call.args[2]) == "globals()")


def check_cell_problems(student) -> list[str]:
    """Check cells that do more than ``check(answer, "NN.k", globals())`` (and import it), and kept code cells that
    glue or record an ``ex_`` value: one line each."""
    problems = []
    for cell in student.cells:
        if cell.cell_type != "code":
            continue
        if _EX_VALUE.search(cell.source):
            problems.append(f"a kept cell glues an ex_ value: {cell.source.strip()[:80]!r}")
        if CHECK_TAG not in cell.metadata.get("tags", []):
            continue
        for node in _parse(cell.source).body:
            if isinstance(node, ast.ImportFrom) and node.module == "rmnb.book.exercises":
                continue
            if not _is_check_call(node):
                problems.append(f"a check cell does more than check(answer, key, globals()): {ast.unparse(node)[:80]!r}")
    return problems
