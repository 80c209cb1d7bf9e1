"""The seminar's session pages, slides and quizzes, built with the book from the plan and the build's results.

- :func:`guide_fragment`: the teacher's guide's sessions (``book/chapters/seminar.inc``, included by
  ``book/teachers-guide.md``): goal, pre-reading with its measured length, deliverable, the exercises with their
  estimated class time against the session's slot, discussion questions with facilitator notes, the quiz with its
  answers folded, and a link to the slides.
- :func:`deck`: one session's slides, a self-contained HTML page in the manner of reveal.js (arrow keys, space or a
  click to move; ``#N`` in the address opens slide N; ``P`` shows every slide, for printing): each chapter's summary with the build's numbers, its first figures drawn
  from the build's Vega-Lite specs by the vendored Vega bundle (no CDN), the discussion questions and the quiz
  (without answers).
- :func:`write_seminar`: both, during every build (the status page calls it), into ``book/chapters/``;
  :func:`write_teacher_material`: the slides and the quizzes with answers, into the teacher edition.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from rmnb.base.paths import repo_root
from rmnb.seminar import html_pages, seminar_plan, student_markdown, timings

FRAGMENT = "seminar.inc"        # next to the executed chapters, included by the teacher's guide
SLIDES_DIR = "seminar"          # book/chapters/seminar/session-N.html
FIGURES_PER_CHAPTER = 2         # figure slides per chapter in a deck
SITE_VEGA = "../../_static/" + html_pages.VEGA_FILE  # a deck served by the site ({download}: _downloads/<hash>/)
_FIGURE = re.compile(r"^(`{3,}|:{3,})\{glue:figure\}[ \t]+(?P<name>\S+)\n(?P<body>.*?)^\1[ \t]*$",
                     re.MULTILINE | re.DOTALL)
_SUMMARY = re.compile(r"^## Summary\n(?P<text>.*?)(?=^##)", re.MULTILINE | re.DOTALL)
_LETTERS = "abcdefgh"


def _chapter_source(root: Path, stem: str) -> Path:
    return Path(root) / "notebooks" / f"{stem}.md"


def _title(text: str, stem: str) -> str:
    return next((line[2:].strip() for line in text.splitlines() if line.startswith("# ")), stem)


def _plain(text: str, ctx: student_markdown.Context | None = None) -> str:
    """A plan or chapter text as plain markdown (roles as text, glued values from the build)."""
    return "\n".join(p for kind, p in student_markdown.to_jupyter(text, ctx) if kind == "markdown")


def chapter_slides(root: Path, stem: str) -> list[str]:
    """The slides of one chapter: its title and summary (the build's numbers), then its first figures."""
    text = _chapter_source(root, stem).read_text(encoding="utf-8")
    values, _ = student_markdown.read_values(root, stem)
    ctx = student_markdown.Context(values=values, chapter=stem)
    summary = _SUMMARY.search(text)
    body = _plain(summary["text"].split("### What's next?")[0], ctx) if summary else ""
    slides = [f"<h2>{html.escape(_title(text, stem))}</h2>\n{html_pages.markdown(body)}"]
    for i, m in enumerate(list(_FIGURE.finditer(text))[:FIGURES_PER_CHAPTER]):
        caption = " ".join(x for x in m["body"].splitlines() if x.strip() and not x.strip().startswith(":"))
        spec = html_pages.figure_spec(root, m["name"])
        slides.append(f"{html_pages.figure(spec, f'{stem}-fig{i}')}\n"
                      f'<p class="caption">{html_pages.markdown(_plain(caption, ctx))}</p>')
    return slides


DECK_STYLE = html_pages.STYLE + """
body { max-width: none; margin: 0; } section { display: none; min-height: 92vh; padding: 3vh 6vw; }
section.current { display: block; } h1 { font-size: 2.4rem; } h2 { font-size: 1.8rem; } .caption { font-size: .9rem; }
#counter { position: fixed; bottom: .5rem; right: 1rem; color: #777; font-size: .9rem; }
@media print { section { display: block; page-break-after: always; min-height: 0; } #counter { display: none; } }
"""
DECK_SCRIPT = """<div id="counter"></div><script>
const slides = [...document.querySelectorAll("section")]; let at = 0;
function show(i) { at = Math.max(0, Math.min(slides.length - 1, i));
  slides.forEach((s, j) => s.classList.toggle("current", j === at));
  document.getElementById("counter").textContent = (at + 1) + " / " + slides.length;
  history.replaceState(null, "", "#" + (at + 1)); }
document.addEventListener("keydown", e => {
  if (["ArrowRight", "PageDown", " "].includes(e.key)) show(at + 1);
  else if (["ArrowLeft", "PageUp"].includes(e.key)) show(at - 1);
  else if (e.key === "Home") show(0); else if (e.key === "End") show(slides.length - 1);
  else if (e.key === "p" || e.key === "P") slides.forEach(s => s.classList.add("current")); });
document.addEventListener("click", e => { if (!e.target.closest("a, .figure")) show(at + 1); });
show((parseInt(location.hash.slice(1)) || 1) - 1);
</script>"""


def deck(session: seminar_plan.Session, root: Path, vega_src: str = html_pages.VEGA_FILE) -> str:
    """One session's slides as a self-contained HTML page (the Vega bundle loaded from ``vega_src``)."""
    slides = [f"<h1>Session {session.number} · {html.escape(session.title)}</h1>\n"
              f"{html_pages.markdown(_plain(session.goal))}\n<p><em>{html.escape(_plain(session.paper))}</em></p>",
              f"<h2>Before and after</h2>\n{html_pages.markdown('**Read before:** ' + _plain(session.pre_reading))}"
              f"\n{html_pages.markdown('**Deliverable:** ' + _plain(session.deliverable))}"]
    for stem in session.chapters:
        slides += chapter_slides(root, stem)
    questions = "\n".join(f"1. {_plain(d['question'])}" for d in session.discussion)
    slides.append(f"<h2>Discussion</h2>\n{html_pages.markdown(questions)}")
    for i, q in enumerate(session.quiz, 1):
        options = "\n".join(f"- ({_LETTERS[j]}) {_plain(o)}" for j, o in enumerate(shown_options(session, i)[0]))
        slides.append(f"<h2>Quiz {i} of {len(session.quiz)}</h2>\n{html_pages.markdown(_plain(q['question']))}\n"
                      f"{html_pages.markdown(options)}")
    body = "\n".join(f"<section>\n{s}\n</section>" for s in slides) + "\n" + DECK_SCRIPT
    title = f"Session {session.number} · {session.title}"
    return html_pages.page(title, body, style=DECK_STYLE).replace(
        f'<script src="{html_pages.VEGA_FILE}">', f'<script src="{vega_src}">')


def shown_options(session: seminar_plan.Session, i: int) -> tuple[list[str], int]:
    """Question ``i`` (from 1)'s options in the order they are shown, rotated by the session and question number so
    the right one is not always in the same place (the plan may list it first), and its index in that order."""
    q = session.quiz[i - 1]
    options, k = list(q["options"]), (session.number + i) % len(q["options"])
    return options[k:] + options[:k], (q["answer"] - k) % len(options)


def quiz_markdown(session: seminar_plan.Session, answers: bool, dropdown: bool = False) -> list[str]:
    """A session's quiz as markdown; with ``answers``, each answer and why (folded in a dropdown for the guide)."""
    lines = []
    for i, q in enumerate(session.quiz, 1):
        options, right = shown_options(session, i)
        lines += [f"**Q{i}.** {q['question']}", ""]
        lines += [f"- ({_LETTERS[j]}) {o}" for j, o in enumerate(options)] + [""]
        if answers:
            answer = f"({_LETTERS[right]}) {options[right]}. {q['why']}"
            lines += ([":::{dropdown} Answer", answer, ":::", ""] if dropdown else [f"*Answer:* {answer}", ""])
    return lines


def session_budget(session: seminar_plan.Session, root: Path) -> str:
    """The session's reading and exercise load against its 90-minute slots, computed from the chapter sources: the
    exercises that fit the slot in order are set in class, the rest as homework."""
    words = sum(seminar_plan.prose_words(_chapter_source(root, s)) for s in session.chapters)
    reading = round(words / seminar_plan.READING_WPM)
    slot_read, slot_ex = (seminar_plan.SLOT_MINUTES[k] for k in ("reading and running", "exercises"))
    read = (f"the chapters' prose is about {words:,} words, {reading} minutes at {seminar_plan.READING_WPM} words a "
            "minute" + (", within the session's reading slot" if reading <= slot_read else
                        f", more than the {slot_read}-minute slot: the pre-reading matters"))
    in_class, homework, used = {}, {}, 0
    for stem in session.chapters:
        for name, lines in timings.solution_lines(_chapter_source(root, stem)).items():
            minutes = timings.human_minutes(lines)
            if not homework and used + minutes <= slot_ex:
                in_class.setdefault(stem, []).append(name.split()[-1])
                used += minutes
            else:
                homework.setdefault(stem, []).append(name.split()[-1])

    def listed(chosen: dict) -> str:
        return "; ".join(f"{{ref}}`ch{stem[:2]}` {'exercise' if len(n) == 1 else 'exercises'} {', '.join(n)}"
                         for stem, n in chosen.items()) or "none"

    work = f"in class {listed(in_class)} (about {used} of the {slot_ex} minutes, by the exercise table's estimate)"
    return f"Reading: {read}. Exercises: {work}" + (f"; as homework {listed(homework)}." if homework else ".")


def guide_fragment(root: Path) -> str:
    """The MyST the teacher's guide includes for its sessions."""
    lines, plan = [], seminar_plan.read_plan(root)
    for s in plan.sessions:
        chapters = ", ".join(f"{{ref}}`ch{stem[:2]}`" for stem in s.chapters)
        runs = " and ".join(f"`rmnb run {stem[:2]}`" for stem in s.chapters)
        lines += [f"### Session {s.number} · {s.title}", "",
                  f"- **Goal.** {s.goal}", f"- **Paper and chapters.** {s.paper}",
                  f"- **Before the session.** {s.pre_reading}",
                  f"- **Students run** {runs} (the run-time table, session {s.number}).",
                  f"- **Exercises.** The exercises of {chapters}. {session_budget(s, root)}",
                  f"- **Deliverable.** {s.deliverable}",
                  f"- **Slides.** {{download}}`Session {s.number} slides <chapters/{SLIDES_DIR}/session-{s.number}.html>` "
                  "(built with the book from the chapters' summaries and figures; arrow keys move, P shows all "
                  "for printing).",
                  f"- **What can go wrong on a laptop.** {s.laptop}", "", "**Discussion.**", ""]
        for i, d in enumerate(s.discussion, 1):
            notes = "\n".join(f"- {a}" for a in d["arguments"])
            lines += [f"{i}. {d['question']}", "", ":::{dropdown} Facilitator notes",
                      f"*Where in the paper:* {d['section']}.", "", "*Arguments to expect:*", "", notes, ":::", ""]
        lines += [f"**Quiz** ({len(s.quiz)} questions; the answers are folded).", ""]
        lines += quiz_markdown(s, answers=True, dropdown=True)
    lines += ["## A two-session variant", "",
              "For a single week or a guest lecture. Set the first exercise of each chapter and the first discussion "
              "question of the sessions named; the *Two sessions* table under {ref}`Run times <teachers-guide>` "
              "gives their run times.", ""]
    for short in plan.short:
        chapters = ", ".join(f"{{ref}}`ch{stem[:2]}`" for stem in short["chapters"])
        sessions = " and ".join(str(n) for n in short.get("discussion_from", []))
        lines.append(f"- **Session {short['name']}**: {chapters}; discussion from sessions {sessions}.")
    return "\n".join(lines) + "\n"


def write_decks(folder: Path, root: Path, vega_src: str = html_pages.VEGA_FILE) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for s in seminar_plan.read_plan(root).sessions:
        path = folder / f"session-{s.number}.html"
        path.write_text(deck(s, root, vega_src), encoding="utf-8")
        out.append(path)
    return out


def write_seminar(chapters_dir: Path, root: Path | None = None) -> Path:
    """Write the guide's session fragment and every session's slides next to the executed chapters."""
    chapters_dir = Path(chapters_dir)
    if root is None:  # the book whose chapters these are; a folder outside a book (a test's) uses this checkout's
        above = chapters_dir.resolve().parents[1]
        root = above if (above / "notebooks").is_dir() else repo_root()
    write_decks(chapters_dir / SLIDES_DIR, root, SITE_VEGA)
    out = chapters_dir / FRAGMENT
    out.write_text(guide_fragment(root), encoding="utf-8")
    return out


def write_teacher_material(folder: Path, root: Path) -> None:
    """The slides (with the Vega bundle beside them) and the quizzes with their answers, into ``folder/seminar``."""
    target = Path(folder) / SLIDES_DIR
    write_decks(target, root)
    html_pages.copy_vega(root, target)
    lines = ["# Quizzes, with answers", ""]
    for s in seminar_plan.read_plan(root).sessions:
        lines += [f"## Session {s.number} · {s.title}", "", *quiz_markdown(s, answers=True)]
    (target / "quizzes.md").write_text(_plain("\n".join(lines)) + "\n", encoding="utf-8")
