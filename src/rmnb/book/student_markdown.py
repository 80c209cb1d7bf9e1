"""MyST markdown as plain Jupyter markdown, for the student edition (:mod:`rmnb.book.handout`).

The chapters are MyST: glued values (``{glue:text}`name:.2f```), cross-references, citations, admonitions and
glued figures are rendered by Jupyter Book, but Jupyter shows them as raw roles and code blocks. A student opens the
notebook before running it, so every construct becomes something Jupyter renders:

- a glued value becomes a placeholder that names it, `` `[name]` ``; after running the chapter,
  ``res.values["name"]`` shows it (the note cell at the top of each student notebook says so: :data:`VALUES_NOTE`);
- ``{ref}``, ``{numref}``, ``{doc}`` and ``{cite:p}``/``{cite:t}`` become plain text (the label, its own text, or
  the citation key);
- an admonition (```` ```{admonition} Title ````, ``:::{note}``, ...) becomes a block quote with its title in bold;
- a ``{glue:figure}`` becomes a code cell that shows the chart (``res.figures``) and a caption, so the markdown
  is split there (:func:`to_jupyter` returns the pieces);
- a label line ``(name)=`` is dropped.
"""

from __future__ import annotations

import re

PLACEHOLDER = "`[{name}]`"
VALUES_NOTE = (
    "> **Student edition.** Values this chapter computes appear in the text as placeholders such as `[n_models]`: "
    "the book shows them filled in. Run the notebook from the top (Run > Run All Cells); then "
    '`res.values["n_models"]` shows one value and `res.values` lists them all. Figures appear where the book has '
    "them, once the cells above them have run. Exercises end the chapter: write your code in the empty cell under "
    "an exercise (it sets `answer`) and run the check cell under it.")

_GLUE_ROLE = re.compile(r"\{glue(?::\w+)?\}`([A-Za-z_]\w*)[^`]*`")
_TEXT_WITH_TARGET = re.compile(r"^(?P<text>.*?)\s*<(?P<target>[^>]+)>$", re.DOTALL)
_ROLE = re.compile(r"\{(?P<role>ref|numref|doc|cite:p|cite:t|cite|eq|term)\}`(?P<body>[^`]*)`")
_LABEL = re.compile(r"^\([\w.-]+\)=[ \t]*$\n?", re.MULTILINE)
_CHAPTER_LABEL = re.compile(r"^ch(\d\d)$")
_FENCE_OPEN = re.compile(r"^(?P<fence>`{3,}|:{3,})\{(?P<name>[\w:-]+)\}[ \t]*(?P<arg>.*)$")
_OPTION = re.compile(r"^:[\w-]+:")
_TITLES = {"note": "Note", "tip": "Tip", "warning": "Warning", "important": "Important", "attention": "Attention",
           "caution": "Caution", "danger": "Danger", "hint": "Hint", "seealso": "See also", "dropdown": ""}


def _role(m: re.Match) -> str:
    role, body = m.group("role"), m.group("body")
    target = _TEXT_WITH_TARGET.match(body)
    if target and role in ("ref", "doc", "numref"):
        return target.group("text")
    if role == "ref":
        chapter = _CHAPTER_LABEL.match(body)
        return f"chapter {chapter.group(1)}" if chapter else f"the book's section “{body}”"
    if role == "numref":
        return f"Figure `{body}`"
    if role == "doc":
        return f"the book's page “{body}”"
    if role == "cite:p":
        return "(" + "; ".join(k.strip() for k in body.split(",")) + ")"
    return body


def inline(text: str) -> str:
    """One line or paragraph with its glue roles as placeholders and its other roles as plain text."""
    text = _GLUE_ROLE.sub(lambda m: PLACEHOLDER.format(name=m.group(1)), text)
    return _ROLE.sub(_role, text)


def _quote(title: str, body: list[str]) -> list[str]:
    lines = [f"> **{title}**", ">"] if title else []
    lines += [f"> {line}".rstrip() for line in body]
    return lines


def to_jupyter(text: str) -> list[tuple[str, str]]:
    """The pieces of one markdown cell: ``("markdown", text)`` and ``("figure", glue name)`` in order."""
    text = _LABEL.sub("", text)
    lines, pieces, out, i = text.splitlines(), [], [], 0
    while i < len(lines):
        m = _FENCE_OPEN.match(lines[i].strip())
        if not m or m.group("name") in ("code-cell", "math"):
            out.append(inline(lines[i]))
            i += 1
            continue
        fence, name, arg = m.group("fence"), m.group("name"), m.group("arg").strip()
        body, i = [], i + 1
        while i < len(lines) and lines[i].strip() != fence:
            body.append(lines[i])
            i += 1
        i += 1  # the closing fence
        options = {}
        while body and _OPTION.match(body[0].strip()):
            key, _, value = body.pop(0).strip()[1:].partition(":")
            options[key] = value.strip()
        while body and not body[0].strip():
            body.pop(0)
        if name == "glue:figure":
            if out:
                pieces.append(("markdown", "\n".join(out)))
            pieces.append(("figure", arg))
            label = options.get("name", arg)
            out = [f"**Figure `{label}`.** " + " ".join(inline(x).strip() for x in body if x.strip())]
            continue
        title = arg if name == "admonition" else " ".join(x for x in (_TITLES.get(name, name.title()), arg) if x)
        converted = [p for kind, p in to_jupyter("\n".join(body)) if kind == "markdown"]
        out += _quote(inline(title), "\n".join(converted).splitlines())
    if out and "\n".join(out).strip():
        pieces.append(("markdown", "\n".join(out).strip("\n")))
    return pieces
