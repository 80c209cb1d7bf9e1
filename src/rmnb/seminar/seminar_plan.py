"""The seminar plan (``book/seminar.yml``): sessions, their chapters, reading, deliverables, discussion and quizzes.

One home for the plan: the teacher's guide's session pages and the slides (:mod:`rmnb.seminar.sessions`) and the
run-time tables (:mod:`rmnb.seminar.timings`) read it. :func:`problems` checks it (a test runs it): every chapter of
the book in exactly one session, five quiz questions per session with a valid answer, two or three expected
arguments and the paper's section for every discussion question.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from rmnb.base.errors import RmnbError
from rmnb.base.paths import checkout_root

PLAN_FILE = "book/seminar.yml"   # relative to the book's root
QUIZ_QUESTIONS = 5               # per session
ARGUMENTS = (2, 3)               # expected arguments per discussion question (facilitator notes)
READING_WPM = 200                # words a minute for a careful first reading of a chapter's prose
SLOT_MINUTES = {"recap": 10, "reading and running": 20, "exercises": 40, "discussion": 20}  # one 90-minute session
_CODE_FENCE = re.compile(r"^(`{3,}|:{3,})\{code-cell\}.*?^\1[ \t]*$", re.MULTILINE | re.DOTALL)
_SOLUTION = re.compile(r"^(`{3,}|:{3,})\{(?:admonition|dropdown)\}[ \t]+Solution\b.*?^\1[ \t]*$",
                       re.MULTILINE | re.DOTALL)
_FRONT_MATTER = re.compile(r"\A---\n.*?\n---\n", re.DOTALL)
_ROLE = re.compile(r"\{[\w:]+\}`[^`]*`")


@dataclass
class Session:
    number: int
    title: str
    chapters: tuple[str, ...]
    paper: str = ""
    goal: str = ""
    pre_reading: str = ""
    deliverable: str = ""
    laptop: str = ""
    discussion: list[dict] = field(default_factory=list)
    quiz: list[dict] = field(default_factory=list)


@dataclass
class Plan:
    sessions: list[Session]
    short: list[dict]


def plan_path(root: Path | None = None) -> Path:
    """``book/seminar.yml`` of ``root``, else of the source checkout (a root without a plan, such as a test's)."""
    for base in ([Path(root)] if root else []) + [checkout_root()]:
        if (base / PLAN_FILE).exists():
            return base / PLAN_FILE
    raise RmnbError(f"no seminar plan ({PLAN_FILE}) in {root or checkout_root()}. Fix: restore it from git.")


def read_plan(root: Path | None = None) -> Plan:
    path = plan_path(root)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        sessions = [Session(**{**s, "chapters": tuple(s["chapters"])}) for s in data["sessions"]]
        return Plan(sessions=sessions, short=list(data.get("short", [])))
    except (yaml.YAMLError, KeyError, TypeError) as exc:
        raise RmnbError(f"the seminar plan {path} cannot be read ({type(exc).__name__}: {exc}). Fix: correct it "
                        "(the comment at its top describes the fields), or restore it from git.") from None


def sessions(root: Path | None = None) -> dict[int, tuple[str, ...]]:
    """Session number -> the chapters students run for it."""
    return {s.number: s.chapters for s in read_plan(root).sessions}


def short_sessions(root: Path | None = None) -> dict[str, tuple[str, ...]]:
    """The two-session variant: name -> chapters."""
    return {str(s["name"]): tuple(s["chapters"]) for s in read_plan(root).short}


def prose_words(path: Path) -> int:
    """Words of a chapter's prose (markdown, without code cells, solutions, front matter and roles' targets)."""
    text = _FRONT_MATTER.sub("", Path(path).read_text(encoding="utf-8"))
    text = _ROLE.sub("x", _SOLUTION.sub("", _CODE_FENCE.sub("", text)))
    return len(re.findall(r"[A-Za-z0-9][\w'’.-]*", text))


def problems(plan: Plan, chapter_stems: list[str]) -> list[str]:
    """What is wrong with the plan, one line each (empty when it is complete)."""
    out = []
    planned = [c for s in plan.sessions for c in s.chapters]
    for stem in sorted(set(chapter_stems) - set(planned)):
        out.append(f"chapter {stem} is in no session")
    for stem in sorted({c for c in planned if planned.count(c) > 1}):
        out.append(f"chapter {stem} is in more than one session")
    for stem in sorted(set(planned) - set(chapter_stems)):
        out.append(f"session chapter {stem} is not a chapter of the book")
    for s in plan.sessions:
        where = f"session {s.number}"
        for name in ("title", "goal", "paper", "pre_reading", "deliverable", "laptop"):
            if not str(getattr(s, name) or "").strip():
                out.append(f"{where} has no {name}")
        if len(s.quiz) != QUIZ_QUESTIONS:
            out.append(f"{where} has {len(s.quiz)} quiz questions, not {QUIZ_QUESTIONS}")
        for i, q in enumerate(s.quiz, 1):
            if not (isinstance(q.get("answer"), int) and 0 <= q["answer"] < len(q.get("options", []))):
                out.append(f"{where}, quiz question {i}: the answer is not the index of one of its options")
            if not q.get("why"):
                out.append(f"{where}, quiz question {i}: no explanation (why)")
        if not s.discussion:
            out.append(f"{where} has no discussion question")
        for i, d in enumerate(s.discussion, 1):
            if not ARGUMENTS[0] <= len(d.get("arguments", [])) <= ARGUMENTS[1]:
                out.append(f"{where}, discussion question {i}: {len(d.get('arguments', []))} expected arguments, "
                           f"not {ARGUMENTS[0]} to {ARGUMENTS[1]}")
            if not d.get("section"):
                out.append(f"{where}, discussion question {i}: no section of the paper")
    return out
