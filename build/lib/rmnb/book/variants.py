"""Re-running chapters with another model: each chapter says how a model enters it, and the executed notebooks
of a variant go to their own folder (``book/_runs/<model-slug>/``), built as their own small book.

The default book (``book/chapters/``, ``_build/html``) is never touched by a variant run.
"""

from __future__ import annotations

from pathlib import Path

from rmnb.base.errors import RmnbError
from rmnb.base.provenance import slug
from rmnb.inference.job import score
from rmnb.book.parameters import chapter_parameters
from rmnb.training import trained


def _dictionary_scores(responses: str):
    """§2 chapters: score the model on a lexicon for the 54 prompts (cached and resumable in the rmnb cache),
    then show it next to the paper's 10 RMs."""

    def parameters(model_id: str) -> dict:
        trained.ensure_built(model_id)
        folder = score(model_id, prompts="paper54", responses=responses, kind="reward")
        return {"scores_dir": str(folder), "include_released": True}

    return parameters


# How ``--model`` enters each chapter that supports it: a function of the model id returning parameter values.
MODEL_HOOKS = {
    "01_big_two": _dictionary_scores("big-two"),
    "02_moral_foundations": _dictionary_scores("mfd2"),
}


MODEL_PARAMETERS = ("model_id", "model", "models")  # a chapter with one of these takes --model directly


def require_model_support(paths) -> None:
    """Fail before any work if a chapter cannot take ``--model``."""
    for path in paths:
        if path.stem not in MODEL_HOOKS and not set(chapter_parameters(path)) & set(MODEL_PARAMETERS):
            raise RmnbError(f"chapter {path.stem} takes no --model (it has no model parameter). Chapters that do: "
                            f"{', '.join(sorted(MODEL_HOOKS))}, and any chapter with a parameter named "
                            f"{', '.join(MODEL_PARAMETERS)}.")


def model_parameters(path: Path, model_id: str) -> dict:
    """Parameter values that make chapter ``path`` run with ``model_id``."""
    require_model_support([path])
    if path.stem in MODEL_HOOKS:
        return MODEL_HOOKS[path.stem](model_id)
    params = chapter_parameters(path)
    name = next(n for n in MODEL_PARAMETERS if n in params)
    return {name: [model_id] if name == "models" else model_id}


def variant_dir(root: Path, model_id: str) -> Path:
    return root / "book" / "_runs" / slug(model_id)


def write_variant_toc(root: Path, model_id: str) -> Path:
    """A table of contents and an index page for the variant's executed chapters."""
    folder = variant_dir(root, model_id)
    stems = sorted(p.stem for p in folder.glob("[0-9][0-9]_*.ipynb"))
    rel = folder.relative_to(root).as_posix()
    (folder / "index.md").write_text(
        f"# Variant: {model_id}\n\nThe chapters below were re-executed with `{model_id}` by\n"
        f"`rmnb run <chapter> --model {model_id}`. The default book is unchanged; this variant lives in\n"
        f"`{rel}/`.\n\n```{{tableofcontents}}\n```\n")
    lines = ["format: jb-book", f"root: {rel}/index", "chapters:"]
    lines += [f"  - file: {rel}/{stem}" for stem in stems]
    lines += ["  - file: book/intro", "  - file: book/bibliography"]
    toc = folder / "_toc.yml"
    toc.write_text("\n".join(lines) + "\n")
    return toc
