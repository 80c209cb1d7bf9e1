"""The seminar plan, the guide's session pages, the slides and the quizzes."""

import json
import re

import jupytext
import pytest

from conftest import ROOT
from rmnb.book import seminar, seminar_plan
from rmnb.book.handout import write_handout
from rmnb.book.runner import chapters


def test_the_plan_is_complete():
    plan = seminar_plan.read_plan(ROOT)
    assert seminar_plan.problems(plan, [p.stem for p in chapters(ROOT)]) == []
    assert [s.number for s in plan.sessions] == list(range(1, len(plan.sessions) + 1))


def test_the_plan_checker_finds_what_is_missing():
    plan = seminar_plan.read_plan(ROOT)
    session = plan.sessions[0]
    session.quiz = session.quiz[:4] + [{"question": "q", "options": ["a"], "answer": 3}]
    session.discussion[0]["arguments"] = ["only one"]
    session.deliverable = ""
    found = "\n".join(seminar_plan.problems(plan, [p.stem for p in chapters(ROOT)] + ["99_new"]))
    for expected in ("chapter 99_new is in no session", "the answer is not the index", "no explanation",
                     "1 expected arguments", "session 1 has no deliverable"):
        assert expected in found


def test_deliverables_name_real_chapter_parameters():
    """A deliverable's `-p name=value` must be a parameter of one of the session's chapters."""
    from rmnb.book.parameters import chapter_parameters

    for s in seminar_plan.read_plan(ROOT).sessions:
        names = {n for stem in s.chapters for n in chapter_parameters(ROOT / "notebooks" / f"{stem}.md")}
        for text in (s.deliverable, s.laptop):
            for name in re.findall(r"-p (\w+)=", text):
                assert name in names, f"session {s.number}: -p {name} is not a parameter of {s.chapters}"


def _exercise_texts(path):
    return re.findall(r"\{admonition\} Exercise \d+:.*?\n```", path.read_text(), flags=re.DOTALL)


@pytest.mark.parametrize("stem", [p.stem for p in chapters(ROOT)])
def test_every_exercise_asks_for_a_prediction_first(stem):
    texts = _exercise_texts(ROOT / "notebooks" / f"{stem}.md")
    assert texts and all("Predict first" in " ".join(t.split()) for t in texts), f"{stem}: an exercise asks for no prediction"


def test_the_guide_has_every_session_with_notes_quiz_and_slides():
    text = seminar.guide_fragment(ROOT)
    plan = seminar_plan.read_plan(ROOT)
    assert text.count("### Session ") == len(plan.sessions)
    n_questions = sum(len(s.discussion) for s in plan.sessions)
    assert text.count(":::{dropdown} Facilitator notes") == n_questions
    assert text.count(":::{dropdown} Answer") == sum(len(s.quiz) for s in plan.sessions)
    assert text.count("{download}`Session ") == len(plan.sessions)
    assert "Before the session" in text and "Deliverable" in text and "## A two-session variant" in text
    assert re.search(r"about [\d,]+ words, \d+ minutes at", text)  # the reading load, measured from the sources
    guide = (ROOT / "book" / "teachers-guide.md").read_text()
    assert f"{{include}} chapters/{seminar.FRAGMENT}" in guide and "seven sessions" in guide


def test_quiz_answers_are_not_always_in_the_same_place():
    plan = seminar_plan.read_plan(ROOT)
    places = [seminar.shown_options(s, i)[1] for s in plan.sessions for i in range(1, len(s.quiz) + 1)]
    assert len(set(places)) > 1
    for s in plan.sessions:
        for i, q in enumerate(s.quiz, 1):
            options, right = seminar.shown_options(s, i)
            assert sorted(options) == sorted(q["options"]) and options[right] == q["options"][q["answer"]]


def test_slides_show_the_builds_numbers_and_figures(tmp_path):
    """A deck: the chapter's summary with the build's values, its figures from the build's specs (drawn by the
    vendored Vega, no CDN), the discussion and the quiz without answers."""
    root = tmp_path / "book-root"
    (root / "notebooks").mkdir(parents=True)
    source = ROOT / "notebooks" / "02_moral_foundations.md"
    (root / "notebooks" / source.name).write_text(source.read_text())
    figures = root / "_build" / "results" / "figures"
    figures.mkdir(parents=True)
    names = re.findall(r"\{glue:figure\} (\S+)", source.read_text())
    (figures / f"{names[0]}.vl.json").write_text(json.dumps({"mark": "point", "data": {"values": []}}))
    (root / "_build" / "results" / "02_moral_foundations.json").write_text(json.dumps(
        {"n_terms_authors": 1234, "mfd2_differ_book": "the families differ here", "n_terms": 2040,
         "corrected_three_way_F": 9.876}))
    session = next(s for s in seminar_plan.read_plan(ROOT).sessions if s.chapters == ("02_moral_foundations",))
    page = seminar.deck(session, root)
    assert "1234 terms" in page and "the families differ here" in page and "9.88" in page  # the summary's glue
    assert 'vegaEmbed(document.getElementById("02_moral_foundations-fig0")' in page and '"mark": "point"' in page
    assert "was not drawn in the build" in page  # the second figure has no spec in this build
    assert "http" not in page.split("<body>")[0]  # nothing loaded from a CDN
    assert page.count("<section>") == 2 + 1 + min(len(names), seminar.FIGURES_PER_CHAPTER) + 1 + len(session.quiz)
    for q in session.quiz:
        assert q["why"] not in page  # the quiz's answers are not on the slides


def test_the_build_writes_the_guide_fragment_and_the_decks(tmp_path):
    chapters_dir = tmp_path / "book" / "chapters"
    chapters_dir.mkdir(parents=True)
    out = seminar.write_seminar(chapters_dir, ROOT)
    assert out == chapters_dir / seminar.FRAGMENT and "### Session 1" in out.read_text()
    decks = sorted(p.name for p in (chapters_dir / seminar.SLIDES_DIR).iterdir())
    assert decks == sorted(f"session-{s.number}.html" for s in seminar_plan.read_plan(ROOT).sessions)
    assert seminar.SITE_VEGA in (chapters_dir / seminar.SLIDES_DIR / "session-1.html").read_text()


def test_the_teacher_edition_has_slides_and_quizzes_with_answers(tmp_path):
    teacher, _ = write_handout(tmp_path / "teacher", teacher=True, archive=False)
    quizzes = (teacher / "seminar" / "quizzes.md").read_text()
    plan = seminar_plan.read_plan(ROOT)
    assert quizzes.count("*Answer:*") == sum(len(s.quiz) for s in plan.sessions)
    assert (teacher / "seminar" / "vega-offline.js").exists() and (teacher / "seminar" / "session-7.html").exists()
    assert '<script src="vega-offline.js">' in (teacher / "seminar" / "session-1.html").read_text()
    student, _ = write_handout(tmp_path / "student", archive=False)
    assert not (student / "seminar").exists()


def test_reading_words_count_prose_only():
    path = ROOT / "notebooks" / "05_training_ablations.md"
    words = seminar_plan.prose_words(path)
    nb = jupytext.read(path)
    all_words = sum(len(c.source.split()) for c in nb.cells)
    assert 0 < words < all_words
