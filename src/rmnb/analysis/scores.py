"""Reward-model scores in long format: one row per (model, response, prompt).

Two sources: the authors' released scores of the paper's 10 RMs (wide files, one column per prompt), and
folders written by ``rmnb score`` (tidy parquet shards, see :mod:`rmnb.data.store`).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from rmnb.base.errors import RmnbError
from rmnb.data.fetch import fetch
from rmnb.data.prompts import framing_of
from rmnb.data.store import read_results
from rmnb.models import registry

LEXICON_FOLDERS = {"big_two": "dict_big2_nouns", "mfd2": "dict_MFD_20"}
COLUMNS = ["model_id", "model", "family", "response", "prompt_id", "framing", "score"]


def _released_path(spec: registry.ModelSpec, lexicon: str) -> Path:
    folder = f"data/reward_model_scores/{LEXICON_FOLDERS[lexicon]}"
    prefixes = ("big2_rewards_",) if lexicon == "big_two" else ("MFD20_rewards_", "big2_rewards_")
    for prefix in prefixes:  # six MFD files carry the big2_ prefix (the authors' naming)
        try:
            return fetch("iclr2026", f"{folder}/{prefix}{spec.released_stem}.parquet")
        except RmnbError as exc:
            if "not in rmnb's data registry" not in str(exc):
                raise
    raise RmnbError(f"no released {lexicon} scores for {spec.id}")


def resolve_models(models) -> list[registry.ModelSpec]:
    """Paper RMs selected by nickname or HF id (``None`` or ``"all"`` = all 10, in the figure's order)."""
    if models is None or models == "all":
        return list(registry.PAPER_RMS)
    if isinstance(models, str):
        models = [m.strip() for m in models.split(",") if m.strip()]
    chosen = []
    for name in models:
        match = [s for s in registry.PAPER_RMS if name in (s.id, s.nickname)]
        if not match:
            valid = ", ".join(s.nickname for s in registry.PAPER_RMS)
            raise RmnbError(f"{name!r} is not one of the paper's 10 reward models. Fix: use a nickname or HF id "
                            f"from: {valid}.")
        chosen.append(match[0])
    return chosen


def released_scores(lexicon: str = "big_two", models=None) -> pd.DataFrame:
    """The authors' released scores of the paper's RMs, long format (:data:`COLUMNS`)."""
    if lexicon not in LEXICON_FOLDERS:
        raise RmnbError(f"unknown lexicon {lexicon!r}. Fix: use one of {', '.join(LEXICON_FOLDERS)}.")
    frames = []
    for spec in resolve_models(models):
        wide = pd.read_parquet(_released_path(spec, lexicon))
        long = wide.melt(id_vars="response", var_name="prompt_id", value_name="score")
        long["model_id"], long["model"], long["family"] = spec.id, spec.label, spec.family
        frames.append(long)
    return _finish(pd.concat(frames, ignore_index=True))


def rmnb_scores(scores_dir: str | Path, kind: str | None = None) -> pd.DataFrame:
    """Scores written by ``rmnb score`` under ``scores_dir`` (one run folder or a parent of several).

    ``kind``: ``"reward"`` or ``"logprob"`` keeps that kind only; ``None`` takes whatever the folder holds, but
    never a mix of the two: they are on different scales, so a folder holding both is an error."""
    path = Path(scores_dir).expanduser()
    if not path.exists():
        raise RmnbError(f"scores_dir {path} does not exist. Fix: pass the --out folder of an 'rmnb score' run.")
    tidy = read_results(path)
    if tidy.empty:
        raise RmnbError(f"no rmnb score results under {path}. Fix: run 'rmnb score --model ID --out {path}'.")
    kinds = sorted(set(tidy.kind))
    if kind is None and len(kinds) > 1:
        raise RmnbError(f"the runs under {path} mix {' and '.join(kinds)} scores, which are on different scales. "
                        "Fix: give each kind its own 'rmnb score --out' folder and pass one of them.")
    if kind is not None:
        tidy = tidy[tidy.kind == kind].reset_index(drop=True)
        if tidy.empty:
            raise RmnbError(f"the runs under {path} hold {', '.join(kinds)} scores, not {kind} scores. Fix: score "
                            f"with 'rmnb score --kind {kind}', or point scores_dir at {kind} runs.")
    tidy = tidy.copy()
    tidy["model"] = [registry.spec_for(m).label for m in tidy.model_id]
    tidy["family"] = [registry.family_of(m) for m in tidy.model_id]
    return _finish(tidy[["model_id", "model", "family", "response", "prompt_id", "score"]])


def load_scores(lexicon: str = "big_two", scores_dir=None, models=None, include_released: bool = True) -> pd.DataFrame:
    """The released scores of the selected paper RMs, plus any rmnb scores from ``scores_dir``."""
    frames = []
    if include_released or scores_dir is None:
        frames.append(released_scores(lexicon, models))
    if scores_dir is not None:
        frames.append(rmnb_scores(scores_dir))
    return pd.concat(frames, ignore_index=True)


def _finish(frame: pd.DataFrame) -> pd.DataFrame:
    frame["framing"] = frame.prompt_id.map(framing_of)
    frame["response"] = frame.response.astype(str)
    frame["score"] = frame.score.astype(float)
    return frame[COLUMNS]
