"""Preference data for reward-model training: pairs of conversations, one chosen and one rejected.

- **Offline default:** Anthropic HH-RLHF, harmless-base test split (2,312 pairs), read with
  ``rmnb.data.fetch("hh_rlhf", "harmless-base_test.jsonl.gz")`` (canonical URL + sha256; ``RMNB_DATA_DIR`` for a
  local copy). Each record is a whole transcript ``\\n\\nHuman: ...\\n\\nAssistant: ...``; the prompt is the text up
  to and including the last ``\\n\\nAssistant:`` and the response is the rest.
- **On a machine that reaches the Hub:** any Hugging Face preference dataset whose rows have ``chosen`` /
  ``rejected`` conversations (the paper's ``Skywork/Skywork-Reward-Preference-80K-v0.2``), and
  ``llm-blender/Unified-Feedback`` with the authors' processing (equal ratings dropped, every k-th row kept,
  "summarize" prompts prefixed).

Every source becomes a :class:`PreferenceData`: an ordered table with ``pair_id``, ``chosen`` and ``rejected``
(lists of ``{"role", "content"}`` messages, the last one the assistant's response) and a content fingerprint.
Splits (:func:`split_pairs`) depend only on the pair ids and a seed, never on a tokenizer, so every base model
sees the same pairs.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from rmnb.base.errors import RmnbError
from rmnb.base.paths import env_flag
from rmnb.data.fetch import fetch

HH_SOURCE = ("hh_rlhf", "harmless-base_test.jsonl.gz")
ASSISTANT = "\n\nAssistant:"
_TURN = re.compile(r"\n\n(Human|Assistant):")
SKYWORK = "Skywork/Skywork-Reward-Preference-80K-v0.2"
UNIFIED_FEEDBACK = "llm-blender/Unified-Feedback"
SUMMARY_PREFIX = "Generate one-sentence summary for the following post: "


@dataclass(frozen=True)
class PreferenceData:
    """Ordered preference pairs: ``frame`` has ``pair_id``, ``chosen``, ``rejected`` (message lists) and ``n_chars``
    (characters of the longer conversation); ``name`` says where they came from."""

    name: str
    frame: pd.DataFrame

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def pair_ids(self) -> list[int]:
        return [int(i) for i in self.frame.pair_id]

    def fingerprint(self) -> str:
        """sha256 of the pairs' ids and texts, in order (part of a trained model's cache key)."""
        digest = hashlib.sha256(self.name.encode())
        for row in self.frame[["pair_id", "chosen", "rejected"]].itertuples(index=False):
            digest.update(json.dumps([int(row.pair_id), row.chosen, row.rejected], ensure_ascii=False).encode())
        return digest.hexdigest()

    def subset(self, pair_ids, name: str | None = None) -> "PreferenceData":
        """The pairs with these ids, in the order given."""
        index = self.frame.set_index("pair_id", drop=False)
        missing = [i for i in pair_ids if i not in index.index]
        if missing:
            raise RmnbError(f"pair ids {missing[:5]} are not in {self.name}.")
        return PreferenceData(name or self.name, index.loc[list(pair_ids)].reset_index(drop=True))


# ---------------------------------------------------------------------------------------------------------------
# HH-RLHF


def split_transcript(text: str) -> tuple[str, str]:
    """(prompt, response): the prompt runs up to and including the last ``\\n\\nAssistant:``."""
    cut = text.rfind(ASSISTANT)
    if cut < 0:
        raise RmnbError(f"transcript has no '\\n\\nAssistant:' turn: {text[:80]!r}")
    cut += len(ASSISTANT)
    return text[:cut], text[cut:]


def transcript_messages(prompt: str) -> list[dict]:
    """A ``Human:/Assistant:`` prompt as chat messages (user/assistant), without the final empty assistant turn."""
    parts = _TURN.split(prompt)
    if parts[0].strip():
        raise RmnbError(f"transcript does not start with a Human/Assistant turn: {prompt[:80]!r}")
    messages = []
    for speaker, content in zip(parts[1::2], parts[2::2]):
        messages.append({"role": "user" if speaker == "Human" else "assistant", "content": content.strip()})
    if messages and messages[-1]["role"] == "assistant" and not messages[-1]["content"]:
        messages.pop()
    return messages


def _alternates(messages: list[dict]) -> bool:
    """User first, then strictly alternating roles, ending with a user turn (the response follows)."""
    return bool(messages) and all(m["role"] == ("user" if i % 2 == 0 else "assistant")
                                  for i, m in enumerate(messages)) and len(messages) % 2 == 1


def read_hh_rlhf() -> pd.DataFrame:
    """The raw HH-RLHF harmless-base test split with the split applied: one row per pair, in file order.

    Columns: ``pair_id`` (0-based line number), ``prompt`` (from the chosen transcript), ``chosen`` and
    ``rejected`` (response texts, stripped), ``same_prompt`` (whether the rejected transcript has the same
    prompt), ``n_turns`` (human turns in the prompt) and the untouched ``chosen_raw`` / ``rejected_raw``.
    """
    with gzip.open(fetch(*HH_SOURCE), "rt", encoding="utf-8") as fh:
        records = [json.loads(line) for line in fh if line.strip()]
    rows = []
    for i, rec in enumerate(records):
        prompt, chosen = split_transcript(rec["chosen"])
        prompt_r, rejected = split_transcript(rec["rejected"])
        rows.append(dict(pair_id=i, prompt=prompt, chosen=chosen.strip(), rejected=rejected.strip(),
                         same_prompt=prompt == prompt_r, n_turns=prompt.count("\n\nHuman:"),
                         chosen_raw=rec["chosen"], rejected_raw=rec["rejected"]))
    return pd.DataFrame(rows)


def hh_rlhf(max_chars: int | None = None) -> PreferenceData:
    """HH-RLHF harmless-base pairs as conversations.

    Dropped: pairs whose chosen and rejected transcripts have different prompts (5 of 2,312), pairs with an empty
    response (4) and pairs whose turns do not alternate user/assistant (a few; chat templates require
    alternation). ``max_chars`` keeps only pairs whose longer transcript has at most this many characters
    (a tokenizer-independent length limit, so every base model gets the same pairs).
    """
    raw = read_hh_rlhf()
    keep = raw.same_prompt & (raw.chosen != "") & (raw.rejected != "")
    raw = raw[keep]
    n_chars = np.maximum(raw.chosen_raw.str.len(), raw.rejected_raw.str.len())
    if max_chars is not None:
        raw, n_chars = raw[n_chars <= max_chars], n_chars[n_chars <= max_chars]
    prompts = [transcript_messages(p) for p in raw.prompt]
    alternating = np.array([_alternates(m) for m in prompts], dtype=bool)
    raw, n_chars, prompts = raw[alternating], n_chars[alternating], [m for m, a in zip(prompts, alternating) if a]
    frame = pd.DataFrame({
        "pair_id": raw.pair_id.to_numpy(),
        "chosen": [m + [{"role": "assistant", "content": c}] for m, c in zip(prompts, raw.chosen)],
        "rejected": [m + [{"role": "assistant", "content": r}] for m, r in zip(prompts, raw.rejected)],
        "n_chars": n_chars.to_numpy(),
    })
    name = "hh-rlhf/harmless-base-test" + (f"/max{max_chars}chars" if max_chars else "")
    return PreferenceData(name, frame)


def limit_chars(data: PreferenceData, max_chars: int | None) -> PreferenceData:
    """The pairs whose longer conversation has at most ``max_chars`` characters (``None`` = all)."""
    if max_chars is None:
        return data
    keep = data.frame[data.frame.n_chars <= max_chars].reset_index(drop=True)
    if keep.empty:
        raise RmnbError(f"no pair of {data.name} has at most {max_chars} characters. Fix: raise max_chars.")
    return PreferenceData(f"{data.name}/max{max_chars}chars", keep)


# ---------------------------------------------------------------------------------------------------------------
# Splits


def split_pairs(data: PreferenceData, n_heldout: int, n_train: int | None = None,
                seed: int = 1) -> tuple[PreferenceData, PreferenceData]:
    """(train, held-out): a seeded permutation of the pairs; the first ``n_heldout`` are held out, the next
    ``n_train`` (``None`` = all the rest) train. Depends only on the pairs and the seed."""
    if n_heldout < 1 or n_heldout >= len(data):
        raise RmnbError(f"n_heldout={n_heldout} must be between 1 and {len(data) - 1} (the data has "
                        f"{len(data)} pairs).")
    order = np.random.default_rng(seed).permutation(len(data))
    ids = data.frame.pair_id.to_numpy()[order]
    held, rest = ids[:n_heldout], ids[n_heldout:]
    if n_train is not None:
        if n_train < 1 or n_train > len(rest):
            raise RmnbError(f"n_train={n_train} must be between 1 and {len(rest)} (pairs left after holding out "
                            f"{n_heldout}). Fix: lower n_train or n_heldout, or raise max_chars.")
        rest = rest[:n_train]
    return (data.subset(sorted(int(i) for i in rest), f"{data.name}/train-seed{seed}"),
            data.subset(sorted(int(i) for i in held), f"{data.name}/heldout-seed{seed}"))


# ---------------------------------------------------------------------------------------------------------------
# Hugging Face datasets (need the Hub)


def _load_hub(dataset_id: str, config: str | None, split: str):
    from datasets import load_dataset

    fix = ("Fix: run on a machine with network access (unset HF_HUB_OFFLINE / HF_DATASETS_OFFLINE), or use the "
           "offline default rmnb.data.preferences.hh_rlhf().")
    try:
        return load_dataset(dataset_id, config, split=split) if config else load_dataset(dataset_id, split=split)
    except Exception as exc:  # offline, missing dataset, no network
        where = "HF_HUB_OFFLINE=1 is set" if env_flag("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE") else "it could not be downloaded"
        raise RmnbError(f"cannot load the Hugging Face dataset {dataset_id!r} (split {split!r}): it is not in the "
                        f"local datasets cache and {where} ({type(exc).__name__}: {str(exc)[:200]}). {fix}") from None


def _conversation(value, name: str) -> list[dict]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise RmnbError(f"{name} is a plain string; rmnb needs a list of chat messages.") from None
    if not isinstance(value, list) or not value or not all(isinstance(m, dict) and "role" in m for m in value):
        raise RmnbError(f"{name} must be a list of {{'role', 'content'}} messages.")
    return [{"role": m["role"], "content": m.get("content") or ""} for m in value]


def from_rows(rows, name: str, chosen: str = "chosen", rejected: str = "rejected") -> PreferenceData:
    """Pairs from rows (dicts or a ``datasets.Dataset``) with conversational ``chosen``/``rejected`` fields."""
    out = []
    for i, row in enumerate(rows):
        c, r = _conversation(row[chosen], f"{name} row {i} '{chosen}'"), _conversation(row[rejected],
                                                                                       f"{name} row {i} '{rejected}'")
        out.append(dict(pair_id=i, chosen=c, rejected=r,
                        n_chars=max(sum(len(m["content"]) for m in c), sum(len(m["content"]) for m in r))))
    if not out:
        raise RmnbError(f"{name} has no rows.")
    return PreferenceData(name, pd.DataFrame(out))


def hf_preferences(dataset_id: str = SKYWORK, *, config: str | None = None, split: str = "train",
                   step: int | None = None, size: int | None = None) -> PreferenceData:
    """A Hub preference dataset with ``chosen``/``rejected`` conversations (e.g. the paper's Skywork 80K v0.2).

    ``step``: keep every ``step``-th row (``select(range(0, n, step))``); ``size``: then keep the first ``size``.
    Needs the Hub (or the local datasets cache); offline it raises :class:`RmnbError` naming the fix.
    """
    if dataset_id == UNIFIED_FEEDBACK:
        return unified_feedback(split=split, step=step, size=size)
    ds = _load_hub(dataset_id, config, split)
    missing = {"chosen", "rejected"} - set(ds.column_names)
    if missing:
        raise RmnbError(f"{dataset_id} has no {sorted(missing)} column(s) (columns: {ds.column_names}). rmnb needs "
                        "conversational 'chosen' and 'rejected' fields.")
    ds = _subsample(ds, step, size)
    return from_rows(ds, f"{dataset_id}/{split}" + (f"/step{step}" if step else "") + (f"/n{size}" if size else ""))


def _subsample(ds, step: int | None, size: int | None):
    if step is not None:
        if step < 1:
            raise RmnbError(f"step={step} must be a positive integer.")
        ds = ds.select(range(0, len(ds), step))
    if size is not None:
        ds = ds.select(range(0, min(size, len(ds))))
    return ds


def unified_feedback(split: str = "train", step: int | None = None, size: int | None = None) -> PreferenceData:
    """``llm-blender/Unified-Feedback`` (config ``all``) processed as in the authors' training code: pairs with equal
    ratings dropped, then every ``step``-th row (the paper's 13k/27k/53k/106k runs use step 64/32/16/8); chosen =
    the higher-rated conversation; prompts from "summarize" sources get the prefix
    "Generate one-sentence summary for the following post: "."""
    ds = _load_hub(UNIFIED_FEEDBACK, "all", split)
    ds = ds.filter(lambda ex: ex["conv_A_rating"] != ex["conv_B_rating"])
    ds = _subsample(ds, step, size)
    rows = []
    for ex in ds:
        a_wins = ex["conv_A_rating"] > ex["conv_B_rating"]
        chosen, rejected = (ex["conv_A"], ex["conv_B"]) if a_wins else (ex["conv_B"], ex["conv_A"])
        chosen, rejected = [dict(m) for m in chosen], [dict(m) for m in rejected]
        if "summarize" in str(ex.get("source", "")):
            for conv in (chosen, rejected):
                conv[0]["content"] = SUMMARY_PREFIX + conv[0]["content"].strip()
        rows.append({"chosen": chosen, "rejected": rejected})
    return from_rows(rows, f"{UNIFIED_FEEDBACK}/{split}" + (f"/step{step}" if step else ""))


NAMED_SOURCES = ("hh-rlhf", "skywork", "unified-feedback")


def load(source: str = "hh-rlhf", **kwargs) -> PreferenceData:
    """``"hh-rlhf"`` (offline default), ``"skywork"``, ``"unified-feedback"`` or any Hub dataset id ``owner/name``.
    (The value-neutral ``"afinn-valence"`` pairs are :func:`rmnb.data.valence.valence_preferences`.)"""
    key = source.lower()
    if key in ("hh-rlhf", "hh_rlhf", "hh"):
        return hh_rlhf(**kwargs)
    if key in ("skywork", SKYWORK.lower()):
        return hf_preferences(SKYWORK, **kwargs)
    if key in ("unified-feedback", "uf", UNIFIED_FEEDBACK.lower()):
        return unified_feedback(**kwargs)
    if "/" not in source:
        hint = (" 'afinn-valence' is built by rmnb.data.valence.valence_preferences() (or "
                "rmnb.training.trained.data_for(settings, 'afinn-valence')).") if key == "afinn-valence" else ""
        raise RmnbError(f"unknown preference data source {source!r}; valid: {', '.join(NAMED_SOURCES)}, "
                        f"'afinn-valence' or a Hub dataset id 'owner/name'.{hint} Fix: use one of these names.")
    return hf_preferences(source, **kwargs)
