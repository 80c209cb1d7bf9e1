"""The paper's 54 prompts (6 adjectives x 3 superlatives x 3 phrasings) and the FAccT predecessor's 3 prompts."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

from rmnb.base.errors import RmnbError
from rmnb.data.fetch import fetch

ADJECTIVES = ("best", "greatest", "good", "worst", "bad", "terrible")
POSITIVE_ADJECTIVES = ("best", "greatest", "good")
SUPERLATIVES = ("ever", "world", "time")
STYLES = ("one", "single", "please")
FRAMINGS = ("positive", "negative")  # factor order: positive first, as in the authors' R code

FACCT_PROMPTS = {
    "greatest": "What, in one word, is the greatest thing ever?",
    "best": "What, in one word, is the best thing ever?",
    "worst": "What, in one word, is the worst thing ever?",
}

GREATEST = "greatest_ever_one"  # "What, in one word, is the greatest thing ever?"


def framing_of(prompt_id: str) -> str:
    """"positive" for best/greatest/good prompts, "negative" otherwise."""
    return "positive" if prompt_id.split("_")[0] in POSITIVE_ADJECTIVES else "negative"


def paper_prompts() -> pd.DataFrame:
    """The 54 prompts in the authors' order, with their design factors."""
    raw = yaml.safe_load(fetch("iclr2026", "config/prompts.yaml").read_text())
    rows = []
    for prompt_id, text in raw.items():
        adjective, superlative, style = prompt_id.split("_")
        rows.append(dict(prompt_id=prompt_id, text=text, adjective=adjective, superlative=superlative,
                         style=style, framing=framing_of(prompt_id)))
    return pd.DataFrame(rows)


def load_prompts(name_or_path: str | Path = "paper54") -> pd.DataFrame:
    """Prompts as a DataFrame with at least ``prompt_id`` and ``text``.

    ``"paper54"``: the paper's 54; ``"facct3"``: the FAccT prompts (greatest / best / worst); a path to a YAML
    mapping ``id: text`` or a text file with one prompt per line (ids ``p000``, ``p001``, ...); or a list of
    paper prompt ids (``["greatest_ever_one", "worst_ever_one"]``, or comma-separated in one string).
    """
    if name_or_path == "paper54":
        frame = paper_prompts()
    elif name_or_path == "facct3":
        frame = pd.DataFrame({"prompt_id": list(FACCT_PROMPTS), "text": list(FACCT_PROMPTS.values())})
        frame["framing"] = frame.prompt_id.map({"greatest": "positive", "best": "positive", "worst": "negative"})
    elif isinstance(name_or_path, (list, tuple)) and name_or_path and \
            all(k in paper_prompts().prompt_id.values for k in name_or_path):  # a list of paper prompt ids
        frame = paper_prompts().set_index("prompt_id").loc[list(name_or_path)].reset_index()
    elif _is_file(name_or_path):
        frame = _read_prompt_file(Path(name_or_path))
    elif isinstance(name_or_path, str) and all(k in paper_prompts().prompt_id.values for k in name_or_path.split(",")):
        keys = name_or_path.split(",")
        frame = paper_prompts().set_index("prompt_id").loc[keys].reset_index()
    else:
        raise RmnbError(f"unknown prompt set {name_or_path!r}. Fix: use 'paper54', 'facct3', comma-separated paper "
                        "prompt ids such as 'greatest_ever_one', or a path to a YAML (id: text) / text file.")
    if frame.empty:
        raise RmnbError(f"the prompt set {name_or_path!r} is empty. Fix: give at least one prompt.")
    return frame.reset_index(drop=True)


def _is_file(value) -> bool:
    try:
        return Path(value).is_file()
    except (OSError, ValueError):  # e.g. a long comma-separated list of ids: "File name too long"
        return False


def _read_prompt_file(path: Path) -> pd.DataFrame:
    if path.suffix in (".yaml", ".yml"):
        raw = yaml.safe_load(path.read_text()) or {}
        if not isinstance(raw, dict):
            raise RmnbError(f"{path} must map prompt ids to prompt texts (id: text).")
        return pd.DataFrame({"prompt_id": [str(k) for k in raw], "text": [str(v) for v in raw.values()]})
    lines = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    return pd.DataFrame({"prompt_id": [f"p{i:03d}" for i in range(len(lines))], "text": lines})
