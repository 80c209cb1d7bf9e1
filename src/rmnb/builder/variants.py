"""Re-running chapters with another model: each chapter says how a model enters it, and the executed notebooks
of a variant go to their own folder (``book/_runs/<model-slug>/``), built as their own small book.

The default book (``book/chapters/``, ``_build/html``) is never touched by a variant run.
"""

from __future__ import annotations

from pathlib import Path

from rmnb.analysis.base_logprobs import PAIR_PRESETS
from rmnb.analysis.implicit import PRESETS as IMPLICIT_PRESETS
from rmnb.base.errors import RmnbError
from rmnb.base.provenance import slug
from rmnb.book.parameters import chapter_parameters
from rmnb.inference.job import score
from rmnb.inference.validate import is_language_model
from rmnb.models import registry
from rmnb.training import trained

# How new §2 scores are made when they sit beside the released ones: the FAccT authors' text path (double BOS),
# inferred to be how the released scores were made; "single" is the corrected path (rmnb score --bos single).
VARIANT_BOS = "authors"


def _dictionary_scores(responses: str):
    """§2 chapters: score the model on a lexicon for the 54 prompts (cached and resumable in the rmnb cache),
    then show it next to the paper's 10 RMs, made the authors' way (:data:`VARIANT_BOS`)."""

    def parameters(model_id: str) -> dict:
        trained.ensure_built(model_id)
        folder = score(model_id, prompts="paper54", responses=responses, kind="reward", bos=VARIANT_BOS)
        return {"scores_dir": str(folder), "include_released": True}

    return parameters


def pair_with(model_id: str, a: str, b: str) -> tuple[str, str]:
    """The embedded pair (a, b) with ``model_id`` in it: (a, model_id), or (model_id, b) when it is ``a`` itself."""
    return (model_id, b) if model_id == a else (a, model_id)


def _logprob_pairs(model_id: str) -> dict:
    """Chapter 03: both conditions compare ``model_id`` with the embedded pair's other model (B, the Llama side)."""
    a, b = pair_with(model_id, *PAIR_PRESETS["embedded"]["instruct"])
    return {"model_set": "embedded", "instruct_pair": [a, b], "pretrained_pair": [a, b]}


def _implicit_pair(model_id: str) -> dict:
    """Chapter 04: ``model_id`` as model B of Table 1 against the embedded model A, and both Figure 3 orders."""
    a, b = pair_with(model_id, IMPLICIT_PRESETS["embedded"]["a"], IMPLICIT_PRESETS["embedded"]["b"])
    return {"model_set": "embedded", "model_a": a, "model_b": b, "pairs": [f"{a}>{b}", f"{b}>{a}"]}


# How ``--model`` enters each chapter that supports it: a function of the model id returning parameter values.
MODEL_HOOKS = {
    "01_big_two": _dictionary_scores("big-two"),
    "02_moral_foundations": _dictionary_scores("mfd2"),
    "03_base_model_logprobs": _logprob_pairs,
    "04_implicit_reward": _implicit_pair,
}
# The kind of model a chapter's --model must be (chapters not listed take either).
MODEL_KIND = {"01_big_two": "reward", "02_moral_foundations": "reward", "03_base_model_logprobs": "lm",
              "04_implicit_reward": "lm"}

# A chapter with one of these parameters (a list of reward models) takes --model: the first one it has is set to
# [model] (extra_rms adds the model beside the chapter's own rms; rms replaces them).
MODEL_PARAMETERS = ("extra_rms", "rms")
VARIANT_PARAMETER = "variant_model"  # a chapter parameter naming the model a variant page adds (None: default page)


FIXED_PAIR = ("06_training_live",)  # its rms are a pair of the RMs rmnb trains: --model cannot stand in for them


def _direct_parameter(path: Path) -> str | None:
    """The parameter ``--model`` sets directly: a list of reward models (:data:`MODEL_PARAMETERS`)."""
    if path.stem in FIXED_PAIR:
        return None
    params = chapter_parameters(path)
    for name in MODEL_PARAMETERS:
        if name in params and isinstance(params[name].default, list):
            return name
    return None


def takes_model(path: Path) -> bool:
    return path.stem in MODEL_HOOKS or _direct_parameter(path) is not None


def require_model_support(paths, model_id: str | None = None) -> None:
    """Fail before any work if a chapter cannot take ``--model`` (the message lists those that can), or cannot
    take this kind of model (a reward model where the chapter compares language models, or the reverse)."""
    for path in paths:
        if not takes_model(path):
            others = [p.stem for p in sorted(path.parent.glob("[0-9][0-9]_*.md")) if takes_model(p)]
            raise RmnbError(f"chapter {path.stem} takes no --model (no parameter takes a model id). Chapters that "
                            f"do: {', '.join(others)}. Fix: run one of those, or set this chapter's own "
                            f"parameters with -p (rmnb run {path.stem[:2]} --help lists them).")
        if model_id is None or path.stem not in MODEL_KIND:
            continue
        if MODEL_KIND[path.stem] == "lm" and model_id in registry.REGISTRY and \
                registry.REGISTRY[model_id].kind == "reward":
            raise RmnbError(f"chapter {path.stem} compares language models' log-probs, and {model_id!r} is a "
                            "reward model. Fix: give a language model (e.g. smollm2-135m-instruct), or run it with "
                            "a chapter that scores reward models (01, 02, 00, 06).")
        if MODEL_KIND[path.stem] == "reward" and is_language_model(model_id):
            raise RmnbError(f"chapter {path.stem} scores reward models, and {model_id!r} is a language model "
                            "(it has no trained reward head). Fix: give a reward model, or run it with a chapter "
                            "that compares language models (03, 04).")


def model_parameters(path: Path, model_id: str) -> dict:
    """Parameter values that make chapter ``path`` run with ``model_id``."""
    require_model_support([path], model_id)
    if path.stem in MODEL_HOOKS:
        out = MODEL_HOOKS[path.stem](model_id)
    else:
        name = _direct_parameter(path)
        out = {name: [model_id] if isinstance(chapter_parameters(path)[name].default, list) else model_id}
    if VARIANT_PARAMETER in chapter_parameters(path):  # the chapter shows a variant banner (rmnb.book.banner)
        out[VARIANT_PARAMETER] = model_id
    return out


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
