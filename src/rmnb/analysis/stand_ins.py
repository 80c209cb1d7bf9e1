"""What the book's stand-in models are, next to the paper's, read from the model registry: their tuning stage
(instruction-tuned or a pretrained base; for an rmnb-trained reward model, the stage of the model it was built
on) and their size. The chapters state these facts in their summaries from here, never typed, so a run with
other models still reads true.

The default pair is confounded: SmolLM2-135M-Instruct is instruction-tuned and Gemma 3 270M is a pretrained base,
so a difference between them (or between the reward models built on them) is one of lineage *and* tuning stage.
"""

from __future__ import annotations

import re

import numpy as np

from rmnb.models import registry

STAGE_WORDS = {"instruct": "instruction-tuned", "pretrained": "a pretrained base"}  # registry variant -> prose
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMB])\s*$", re.I)
_SCALE = {"K": 1e3, "M": 1e6, "B": 1e9}


def tuning_stage(model_id: str, kind: str = "lm") -> dict:
    """``model`` (display label), ``base`` (the label of the language model it starts from: itself for a language
    model, the base of an rmnb-trained reward model) and ``stage`` (the base's registry ``variant``,
    ``"instruct"`` or ``"pretrained"``; ``None`` when the registry does not record it)."""
    spec = registry.spec_for(model_id, kind)
    base = spec
    recipe = registry.trained_recipe(model_id)
    if recipe is not None:
        base = registry.spec_for(recipe.base_id, "lm")
    stage = base.variant if base.variant in STAGE_WORDS else None
    return {"model": spec.label, "base": base.label, "stage": stage}


def tuning_confound(model_ids, kind: str = "lm") -> str:
    """A sentence on whether the models compared differ in tuning stage as well as in lineage, from the registry,
    e.g. "SmolLM2-135M-Instruct is instruction-tuned and Gemma-3-270M is a pretrained base, so a difference between
    them is one of lineage and tuning stage, not of lineage alone." Reward models are described by the language
    models they were built on; models are named in alphabetical order."""
    facts = sorted((tuning_stage(m, kind) for m in dict.fromkeys(model_ids)), key=lambda f: f["base"])
    if len(facts) < 2:
        return "Only one model is compared here, so no difference between models is read."
    built = any(f["base"] != f["model"] for f in facts)
    lead = "The reward models compared here are built on " if built else ""
    known = [f for f in facts if f["stage"] is not None]
    unknown = [f["base"] for f in facts if f["stage"] is None]
    if unknown:
        names = _join(f["base"] for f in facts)
        return (f"{lead}{names}; the registry" if built else f"For {names}, the registry") + (
            f" does not record the tuning stage of {_join(unknown)}, so whether a difference between them is one of "
            "lineage alone cannot be said.")
    stages = {f["stage"] for f in known}
    if len(stages) == 1:
        both = "both" if len(facts) == 2 else "all"
        word = {"instruct": "instruction-tuned", "pretrained": "pretrained bases"}[stages.pop()]
        names = _join(f["base"] for f in facts)
        head = f"{lead}{names}, {both} {word}" if built else f"{names} are {both} {word}"
        return head + ", so they differ in lineage, not in tuning stage."
    listed = _join(f"{f['base']} ({STAGE_WORDS[f['stage']]})" if built else f"{f['base']} is {STAGE_WORDS[f['stage']]}"
                   for f in facts)
    return f"{lead}{listed}, so a difference between them is one of lineage and tuning stage, not of lineage alone."


def _join(items) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def parameters(size: str | None) -> float:
    """A registry size as a number of parameters: ``"135M"`` -> 1.35e8, ``"27B"`` -> 2.7e10; NaN when it is not
    recorded."""
    match = _SIZE.match(size or "")
    return float(match.group(1)) * _SCALE[match.group(2).upper()] if match else float("nan")


def size_ratio(ours, theirs, kind: str = "reward") -> dict:
    """How many times smaller the models ``ours`` are than ``theirs`` (registry ids): ``low`` (the smallest of theirs
    over the largest of ours), ``high`` (the largest over the smallest), ``theirs_min``/``theirs_max`` (their size
    labels) and ``text`` ("7 to 200 times smaller"; says so when a size is not recorded)."""
    ours_n = {m: parameters(registry.spec_for(m, kind).size) for m in ours}
    theirs_n = {m: parameters(registry.spec_for(m, kind).size) for m in theirs}
    small_theirs, big_theirs = min(theirs_n, key=theirs_n.get), max(theirs_n, key=theirs_n.get)
    out = {"theirs_min": registry.spec_for(small_theirs, kind).size, "theirs_max": registry.spec_for(big_theirs, kind).size}
    missing = [registry.spec_for(m, kind).label for m, n in ours_n.items() if np.isnan(n)]
    if missing or not ours_n:
        out.update(low=float("nan"), high=float("nan"),
                   text=f"of a size the registry does not record ({', '.join(missing) or 'no model'}), so not "
                        "comparable in size")
        return out
    low = theirs_n[small_theirs] / max(ours_n.values())
    high = theirs_n[big_theirs] / min(ours_n.values())
    text = (f"{_times(low)} to {_times(high)} times smaller" if low >= 1 else
            f"up to {_times(high)} times smaller, and some larger" if high >= 1 else "no smaller")
    out.update(low=low, high=high, text=text)
    return out


def _times(x: float) -> str:
    return f"{x:.0f}" if x >= 10 else f"{x:.1f}"


def confound_sentences(groups) -> str:
    """:func:`tuning_confound` for each group of models compared, ``(model_ids, kind)``, the distinct sentences of
    the groups with at least two models joined ("" when no group has two)."""
    found = [tuning_confound(ids, kind) for ids, kind in groups if len(dict.fromkeys(ids)) > 1]
    return " ".join(dict.fromkeys(found))
