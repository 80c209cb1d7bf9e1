"""MyST markdown as plain Jupyter markdown, for both editions of the handout (:mod:`rmnb.seminar.handout`).

The chapters are MyST: glued values (``{glue:text}`name:.2f```), cross-references, citations, admonitions and
glued figures are rendered by Jupyter Book, but Jupyter shows them as raw roles and code blocks. Every construct
becomes something Jupyter renders, read as the book reads:

- a glued value becomes the value of the teacher's own build (``_build/results/<chapter>.json``), formatted as the
  role asks; without a build, or for a name the build lacks, :data:`MISSING` (the note at the top of the notebook
  says why, once: :func:`values_note`);
- ``{cite:p}``/``{cite:t}`` become "(Christian et al., 2026)" / "Christian et al. (2026)" from the book's
  ``references.bib`` (the notebook's references section lists the works in full);
- ``{ref}`` and ``{numref}`` become links: to a chapter (``01_big_two.ipynb``), a section of one (its heading's
  anchor) or a figure (an anchor on its caption, numbered in the chapter's order); a page of the book that is not in
  the handout becomes its title in quotes; ``{doc}`` the same;
- an admonition (```` ```{admonition} Title ````, ``:::{note}``, ...) becomes a block quote with its title in bold;
- a ``{glue:figure}`` becomes a code cell that shows the chart (``res.figures``) and a caption, so the markdown
  is split there (:func:`to_jupyter` returns the pieces);
- a label line ``(name)=`` is dropped.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

MISSING = "…"  # a value the handout could not fill in (no build of the book, or not in it)

_GLUE_ROLE = re.compile(r"\{glue(?::\w+)?\}`(?P<name>[A-Za-z_]\w*)(?::(?P<spec>[^`]*))?`")
_TEXT_WITH_TARGET = re.compile(r"^(?P<text>.*?)\s*<(?P<target>[^>]+)>$", re.DOTALL)
_ROLE = re.compile(r"\{(?P<role>ref|numref|doc|cite:p|cite:t|cite|eq|term)\}`(?P<body>[^`]*)`")
_LABEL = re.compile(r"^\([\w.-]+\)=[ \t]*$\n?", re.MULTILINE)
_LABEL_LINE = re.compile(r"^\((?P<label>[\w.-]+)\)=[ \t]*$")
_FENCE_OPEN = re.compile(r"^(?P<fence>`{3,}|:{3,})\{(?P<name>[\w:-]+)\}[ \t]*(?P<arg>.*)$")
_OPTION = re.compile(r"^:[\w-]+:")
_TITLES = {"note": "Note", "tip": "Tip", "warning": "Warning", "important": "Important", "attention": "Attention",
           "caution": "Caution", "danger": "Danger", "hint": "Hint", "seealso": "See also", "dropdown": ""}
_BIB_ENTRY = re.compile(r"@\w+\s*\{\s*(?P<key>[^,\s]+)\s*,(?P<body>.*?)\n\}", re.DOTALL)
_BIB_FIELD = re.compile(r"(?P<name>\w+)\s*=\s*\{(?P<value>(?:[^{}]|\{[^{}]*\})*)\}", re.DOTALL)
_LATEX = {r"{\'e}": "é", r"{\"o}": "ö", r"{\"u}": "ü", r"{\"a}": "ä", r"{\'a}": "á", r"{\`e}": "è", "--": "–"}


@dataclass
class Target:
    """Where a label points: a notebook of the handout (``notebook``, with ``anchor``) or a page of the book."""
    text: str
    notebook: str | None = None
    anchor: str = ""


@dataclass
class Context:
    """What the conversion of one chapter reads: the build's values (``None``: no build), the book's labels and
    figures, the bibliography, and the chapter's own stem (links within it need no file name)."""
    values: dict | None = None
    labels: dict[str, Target] = field(default_factory=dict)
    citations: dict[str, dict] = field(default_factory=dict)
    chapter: str = ""
    cited: list[str] = field(default_factory=list)  # filled while converting: the keys this chapter cites


def heading_anchor(heading: str) -> str:
    """The anchor Jupyter gives a markdown heading (spaces become hyphens)."""
    return heading.strip().replace(" ", "-")


def _clean(text: str) -> str:
    for latex, char in _LATEX.items():
        text = text.replace(latex, char)
    return re.sub(r"[{}]", "", " ".join(text.split()))


def read_bibliography(path: Path) -> dict[str, dict]:
    """``{key: {author, year, title, ...}}`` from a BibTeX file (the fields the book uses)."""
    if not Path(path).exists():
        return {}
    out = {}
    for m in _BIB_ENTRY.finditer(Path(path).read_text(encoding="utf-8")):
        out[m.group("key")] = {f.group("name").lower(): _clean(f.group("value")) for f in _BIB_FIELD.finditer(
            m.group("body"))}
    return out


def _surnames(entry: dict) -> list[str]:
    names = [a.strip() for a in entry.get("author", "").split(" and ") if a.strip()]
    return [a.split(",")[0].strip() if "," in a else a.split()[-1] for a in names]


def cite_text(entry: dict | None, key: str, parenthetical: bool) -> str:
    """"Christian et al., 2026" (or "Christian et al. (2026)" for ``cite:t``); the key when the entry is unknown."""
    if not entry:
        return key
    names = _surnames(entry)
    who = (names[0] if len(names) == 1 else f"{names[0]} and {names[1]}" if len(names) == 2
           else f"{names[0]} et al." if names else entry.get("title", key))
    year = entry.get("year", "n.d.")
    return f"{who}, {year}" if parenthetical else f"{who} ({year})"


def reference_line(entry: dict, key: str) -> str:
    """One entry of a chapter's reference list."""
    names = ", ".join(a.strip() for a in entry.get("author", "").split(" and ") if a.strip())
    venue = entry.get("journal") or entry.get("booktitle") or entry.get("howpublished") or entry.get("publisher", "")
    link = (f"https://doi.org/{entry['doi']}" if entry.get("doi") else
            f"https://arxiv.org/abs/{entry['eprint']}" if entry.get("eprint") else entry.get("url", ""))
    parts = [f"{names} ({entry.get('year', 'n.d.')}).", f"*{entry.get('title', key)}*."]
    parts += [f"{venue}." if venue else "", f"<{link}>" if link else ""]
    return "- " + " ".join(p for p in parts if p)


def read_labels(root: Path) -> dict[str, Target]:
    """Every ``(label)=`` of the chapters (``notebooks/NN_*.md``) and the book's pages (``book/*.md``), and every
    named figure of the chapters (numbered in each chapter's order): what a reference to it becomes."""
    labels: dict[str, Target] = {}
    chapters = sorted((root / "notebooks").glob("[0-9][0-9]_*.md"))
    for path in [*chapters, *sorted((root / "book").glob("*.md"))]:
        notebook = f"{path.stem}.ipynb" if path.parent.name == "notebooks" else None
        lines, figures = path.read_text(encoding="utf-8").splitlines(), 0
        for i, line in enumerate(lines):
            label = _LABEL_LINE.match(line.strip())
            if label:
                heading = next((x.lstrip("#").strip() for x in lines[i + 1:i + 4] if x.startswith("#")), label[1])
                top = any(x.startswith("# ") for x in lines[i + 1:i + 4])
                labels[label["label"]] = Target(heading, notebook, "" if top else heading_anchor(heading))
            if line.strip().startswith(("```{glue:figure}", ":::{glue:figure}")):
                name = next((x.split(":name:", 1)[1].strip() for x in lines[i + 1:i + 4] if ":name:" in x), None)
                figures += 1
                if name:
                    labels[name] = Target(f"Figure {figures}", notebook, name)
    return labels


def read_values(root: Path, stem: str) -> tuple[dict | None, str]:
    """The values the teacher's build glued for chapter ``stem`` (``None`` without a build) and when it ran."""
    path = Path(root) / "_build" / "results" / f"{stem}.json"
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None, ""
    return (values if isinstance(values, dict) else None,
            datetime.fromtimestamp(path.stat().st_mtime).strftime("%Y-%m-%d"))


def values_note(edition: str, when: str, built: bool) -> str:
    """The note under each notebook's title: whose values the text shows (said once)."""
    head = f"> **{edition.title()} edition.** "
    if built:
        body = (f"The numbers in the text are those of the book's own run (its build of {when}, with the settings "
                "this notebook opens with). Run the notebook from the top (Run > Run All Cells) to compute them "
                'again: `res.values` lists this run\'s, `res.values["n_models"]` shows one.')
    else:
        body = (f"This handout was made without a build of the book, so the numbers the chapter computes show as "
                f"{MISSING} in the text. Run the notebook from the top (Run > Run All Cells): `res.values` then "
                'lists them, `res.values["n_models"]` shows one.')
    return head + body + (" Figures appear where the book has them, once the cells above them have run."
                          " Exercises end the chapter: write your code in the empty cell under an exercise (it sets "
                          "`answer`) and run the check cell under it." if edition == "student" else "")


def format_value(value, spec: str | None) -> str:
    """A glued value as ``{glue:text}`name:spec``` shows it."""
    if value is None:
        return "n/a"
    if isinstance(value, str):
        return value
    try:
        return format(value, spec or "")
    except (ValueError, TypeError):
        return str(value)


def _link(target: Target, text: str, ctx: Context) -> str:
    if target.notebook is None:
        return f"“{text}” (on the book's site)"
    where = "" if target.notebook == f"{ctx.chapter}.ipynb" else target.notebook
    anchor = f"#{target.anchor}" if target.anchor else ""
    return f"[{text}]({where}{anchor})" if where or anchor else text


def _role(m: re.Match, ctx: Context) -> str:
    role, body = m.group("role"), m.group("body")
    explicit = _TEXT_WITH_TARGET.match(body)
    text, label = (explicit["text"], explicit["target"]) if explicit else (None, body)
    if role in ("cite:p", "cite:t", "cite"):
        keys = [k.strip() for k in body.split(",") if k.strip()]
        ctx.cited += [k for k in keys if k not in ctx.cited]
        parts = [cite_text(ctx.citations.get(k), k, role == "cite:p") for k in keys]
        return "(" + "; ".join(parts) + ")" if role == "cite:p" else "; ".join(parts)
    if role == "doc":
        stem = label.rstrip("/").split("/")[-1]
        target = ctx.labels.get(stem) or Target(stem.replace("-", " ").replace("_", " "))
        return _link(target, text or target.text, ctx)
    if role in ("ref", "numref"):
        chapter = re.match(r"^ch(\d\d)$", label)
        shown = text or (f"chapter {chapter.group(1)}" if chapter else None)
        target = ctx.labels.get(label)
        return _link(target, shown or target.text, ctx) if target else shown or label
    return body


def inline(text: str, ctx: Context | None = None) -> str:
    """One line or paragraph with its glue roles filled in and its other roles as text and links."""
    ctx = ctx or Context()

    def glue(m: re.Match) -> str:
        if ctx.values is None or m.group("name") not in ctx.values:
            return MISSING
        return format_value(ctx.values[m.group("name")], m.group("spec"))

    return _ROLE.sub(lambda m: _role(m, ctx), _GLUE_ROLE.sub(glue, text))


def _quote(title: str, body: list[str]) -> list[str]:
    lines = [f"> **{title}**", ">"] if title else []
    lines += [f"> {line}".rstrip() for line in body]
    return lines


def to_jupyter(text: str, ctx: Context | None = None) -> list[tuple[str, str]]:
    """The pieces of one markdown cell: ``("markdown", text)`` and ``("figure", glue name)`` in order."""
    ctx = ctx or Context()
    text = _LABEL.sub("", text)
    lines, pieces, out, i = text.splitlines(), [], [], 0
    while i < len(lines):
        m = _FENCE_OPEN.match(lines[i].strip())
        if not m or m.group("name") in ("code-cell", "math"):
            out.append(inline(lines[i], ctx))
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
            target = ctx.labels.get(label)
            title = target.text if target else "Figure"
            out = [f'<a id="{label}"></a>**{title}.** ' + " ".join(inline(x, ctx).strip() for x in body if x.strip())]
            continue
        title = arg if name == "admonition" else " ".join(x for x in (_TITLES.get(name, name.title()), arg) if x)
        converted = [p for kind, p in to_jupyter("\n".join(body), ctx) if kind == "markdown"]
        out += _quote(inline(title, ctx), "\n".join(converted).splitlines())
    if out and "\n".join(out).strip():
        pieces.append(("markdown", "\n".join(out).strip("\n")))
    return pieces
