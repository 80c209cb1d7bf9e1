"""A value-neutral preference set in the probes' own format, built from the AFINN-165 sentiment lexicon.

Each pair is one user turn (a one-word question of rmnb's own, :data:`VALENCE_PROMPTS`) and two one-word
assistant answers, both AFINN words. For a positive-framed question the higher-valence word is chosen; for a
negative-framed one, the lower-valence word. Two words with the same AFINN score are never paired.

**Words.** AFINN-165 single words (the 30 multiword terms dropped) minus every term of the authors' Big Two
expanded dictionary, their 263 Big Two nouns and MFD2 (the authors' ``.dicx``). Rule: a word is excluded when it
equals a dictionary term (both lower case); a term ending in ``*`` would exclude every word starting with the
rest, but none of the three registered dictionaries has such a pattern, so the rule is exact matching. Counts
(:func:`word_counts`): 3,352 single words (1,161 positive, 2,191 negative); minus the Big Two expanded list
3,165; minus the 263 nouns 3,165 (every noun that is an AFINN word is also in the expanded list); minus MFD2
2,767 (934 positive, 1,833 negative).

**Held out.** A seeded third of the prompts (per framing) and a third of the words (per sign) are held out.
Training pairs use only training prompts and training words; held-out pairs only held-out prompts and held-out
words. Both parts have as many positive- as negative-framed pairs.

**Why.** The data say nothing about agency or communion, and pairs depend only on the seed, never on a
tokenizer, so they are identical for every base by construction: any systematic Big Two difference between two
bases trained on them comes from pretraining. :data:`CAVEAT` states what remains.

**Licence.** AFINN is under the Open Database License (ODbL) 1.0; :data:`ATTRIBUTION` is the notice the book
prints. The pairs are a derived database and fall under the ODbL too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from rmnb.base.errors import RmnbError
from rmnb.data.lexicons import afinn, big_two_expanded, big_two_nouns, mfd2_terms
from rmnb.data.preferences import PreferenceData

SOURCE_NAME = "afinn-valence"
FRAMINGS = ("positive", "negative")
PARTS = ("train", "heldout")
DEFAULT_PAIRS = {"train": 4096, "heldout": 1024}
HELDOUT_ID_OFFSET = 1_000_000  # held-out pair ids start here, so the two parts never share an id

ATTRIBUTION = (
    "Contains information from AFINN-165 (Finn Årup Nielsen, https://github.com/fnielsen/afinn), which is made "
    "available here under the Open Database License (ODbL) 1.0 (https://opendatacommons.org/licenses/odbl/1-0/). "
    "Nielsen, F. Å. (2011). A new ANEW: Evaluation of a word list for sentiment analysis in microblogs. "
    "Proceedings of the ESWC2011 Workshop 'Making Sense of Microposts', CEUR-WS vol. 718, 93-98.")
CAVEAT = (
    "The training pairs contain no Big Two or MFD2 term, so they say nothing about agency or communion directly; "
    "but valence and the Big Two may still correlate in the lexicon (for example, if more of AFINN's positive "
    "words are communal than agentic), so a Big Two difference after training can partly reflect that "
    "correlation rather than pretraining alone.")

# rmnb's own one-word questions: twelve positive- and twelve negative-framed, written in mirrored pairs. None
# uses the paper's adjectives (best, greatest, most good, worst, most bad, most terrible) or its "thing ever /
# in the world / of all time" frame (tests check this with :func:`paper_overlap`).
VALENCE_PROMPTS: dict[str, str] = {
    "pos_day": "Give one word that describes a wonderful day.",
    "pos_friend": "Which single word would you use to praise a friend?",
    "pos_feeling": "Name one word for the most pleasant feeling.",
    "pos_holiday": "In one word, how would you describe a perfect holiday?",
    "pos_smile": "Answer with one word: what makes people smile?",
    "pos_life": "Which one word sums up a happy life?",
    "pos_hear": "Reply with a single word you would love to hear about yourself.",
    "pos_delight": "What one word describes something delightful?",
    "pos_joy": "Say one word that expresses joy.",
    "pos_wish": "One word only: what would you wish for a newborn child?",
    "pos_gesture": "Which word, just one, describes a kind gesture?",
    "pos_compliment": "Give a one-word compliment.",
    "neg_day": "Give one word that describes a miserable day.",
    "neg_rival": "Which single word would you use to criticise a rival?",
    "neg_feeling": "Name one word for the most painful feeling.",
    "neg_holiday": "In one word, how would you describe a disastrous holiday?",
    "neg_cry": "Answer with one word: what makes people cry?",
    "neg_life": "Which one word sums up an unhappy life?",
    "neg_hear": "Reply with a single word you would hate to hear about yourself.",
    "neg_dread": "What one word describes something dreadful?",
    "neg_sorrow": "Say one word that expresses sorrow.",
    "neg_curse": "One word only: what would you never wish on anyone?",
    "neg_gesture": "Which word, just one, describes a cruel gesture?",
    "neg_insult": "Give a one-word insult.",
}

PAPER_ADJECTIVES = ("best", "greatest", "most good", "worst", "most bad", "most terrible")
PAPER_FRAMES = ("ever", "in the world", "of all time")


def valence_prompts() -> pd.DataFrame:
    """:data:`VALENCE_PROMPTS` as ``prompt_id, text, framing``."""
    return pd.DataFrame({"prompt_id": list(VALENCE_PROMPTS), "text": list(VALENCE_PROMPTS.values()),
                         "framing": ["positive" if k.startswith("pos_") else "negative" for k in VALENCE_PROMPTS]})


def _norm(text: str) -> str:
    return " ".join(re.findall(r"[a-z]+", text.lower()))


def paper_overlap(text: str, paper_texts=()) -> list[str]:
    """Why ``text`` equals or re-words one of the paper's prompts (empty list: it does not): equal to one of
    ``paper_texts`` up to case and punctuation, uses one of the paper's adjectives, or its "thing ever / in the
    world / of all time" frame."""
    norm = _norm(text)
    reasons = [f"equals the paper prompt {p!r}" for p in paper_texts if _norm(p) == norm]
    padded = f" {norm} "
    reasons += [f"uses the paper's adjective {a!r}" for a in PAPER_ADJECTIVES if f" {a} " in padded]
    if " thing " in padded:
        reasons += [f"uses the paper's frame 'thing ... {f}'" for f in PAPER_FRAMES if f" {f} " in padded]
    return reasons


# ---------------------------------------------------------------------------------------------------------------
# Words


def excluded_terms() -> dict[str, set[str]]:
    """The dictionaries whose terms are removed from AFINN, as lower-case term sets."""
    return {"big_two_expanded": set(big_two_expanded().term.str.lower()),
            "big_two_nouns": set(big_two_nouns().term.str.lower()),
            "mfd2": set(mfd2_terms().term.str.lower())}


def in_dictionary(words, terms: set[str]) -> np.ndarray:
    """Whether each word is a term of the dictionary: equal to a term, or starting with the stem of a ``stem*``
    pattern (LIWC wildcards)."""
    stems = tuple(t[:-1] for t in terms if t.endswith("*"))
    return np.array([w.lower() in terms or (bool(stems) and w.lower().startswith(stems)) for w in words], dtype=bool)


def _counts(frame: pd.DataFrame, step: str) -> dict:
    return dict(step=step, words=len(frame), positive=int((frame.score > 0).sum()),
                negative=int((frame.score < 0).sum()))


def _filtered() -> tuple[pd.DataFrame, list[dict]]:
    words = afinn()
    steps = [_counts(words, "AFINN-165 terms")]
    words = words[~words.term.str.contains(r"\s")]
    steps.append(_counts(words, "single words"))
    for name, terms in excluded_terms().items():
        words = words[~in_dictionary(words.term, terms)]
        steps.append(_counts(words, f"minus {name}"))
    words = words[words.score != 0]  # a word without valence cannot be ranked (AFINN-165 has none left here)
    return words.reset_index(drop=True), steps


def valence_words() -> pd.DataFrame:
    """The usable words: ``term, score, sign`` (2,767 words: 934 positive, 1,833 negative)."""
    words, _ = _filtered()
    return words.assign(sign=np.where(words.score > 0, "positive", "negative"))


def word_counts() -> pd.DataFrame:
    """Words left (total, positive, negative) after each step of :func:`valence_words`."""
    return pd.DataFrame(_filtered()[1])


# ---------------------------------------------------------------------------------------------------------------
# Splits and pairs


def _check(seed, heldout, n_pairs=None, part="train") -> None:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 1:
        raise RmnbError(f"seed={seed!r} is not valid: the seed must be an integer >= 1. Fix: pass seed=1 (the "
                        "default) or another positive integer.")
    if isinstance(heldout, bool) or not isinstance(heldout, (int, float)) or not 0 < heldout < 1:
        raise RmnbError(f"heldout={heldout!r} is not valid: the held-out fraction must be strictly between 0 and 1. "
                        "Fix: pass a fraction such as heldout=1/3 (the default).")
    if part not in PARTS:
        raise RmnbError(f"part={part!r} is not valid. Fix: use one of {', '.join(PARTS)}.")
    if n_pairs is not None and (isinstance(n_pairs, bool) or not isinstance(n_pairs, (int, np.integer))
                                or n_pairs < 2 or n_pairs % 2):
        raise RmnbError(f"n_pairs={n_pairs!r} is not valid: it must be an even integer >= 2 (half the pairs are "
                        "positive-framed, half negative). Fix: pass an even count, or None for the default.")


def _hold_out(frame: pd.DataFrame, by: str, heldout: float, rng) -> pd.Series:
    """A ``part`` column: per group of ``by`` (in sorted order), a seeded ``heldout`` share (at least one, never
    all) is held out."""
    part = pd.Series("train", index=frame.index)
    for _, group in sorted(frame.groupby(by).groups.items()):
        k = min(max(1, round(heldout * len(group))), len(group) - 1)
        part.loc[np.asarray(group)[rng.permutation(len(group))[:k]]] = "heldout"
    return part


@dataclass(frozen=True)
class ValenceSplit:
    """Prompts (``prompt_id, text, framing, part``) and words (``term, score, sign, part``), each held out by
    ``part``."""

    seed: int
    heldout: float
    prompts: pd.DataFrame
    words: pd.DataFrame

    def part(self, part: str) -> tuple[pd.DataFrame, pd.DataFrame]:
        return (self.prompts[self.prompts.part == part].reset_index(drop=True),
                self.words[self.words.part == part].reset_index(drop=True))


def valence_split(seed: int = 1, heldout: float = 1 / 3) -> ValenceSplit:
    """Hold out a seeded ``heldout`` share of the prompts (per framing) and of the words (per sign)."""
    _check(seed, heldout)
    rng = np.random.default_rng(seed)
    prompts, words = valence_prompts(), valence_words()
    prompts["part"] = _hold_out(prompts, "framing", heldout, rng)
    words["part"] = _hold_out(words, "sign", heldout, rng)
    return ValenceSplit(seed, float(heldout), prompts, words)


def _pairs(prompts: pd.DataFrame, words: pd.DataFrame, n_pairs: int, rng) -> list[dict]:
    cycles = {f: prompts[prompts.framing == f].reset_index(drop=True) for f in FRAMINGS}
    cycles = {f: p.iloc[rng.permutation(len(p))].reset_index(drop=True) for f, p in cycles.items()}
    terms, scores = words.term.to_numpy(), words.score.to_numpy()
    seen, rows = set(), []
    while len(rows) < n_pairs:
        i = len(rows)
        framing = FRAMINGS[i % 2]
        prompt = cycles[framing].iloc[(i // 2) % len(cycles[framing])]
        a, b = (int(x) for x in rng.integers(len(terms), size=2))
        key = (prompt.prompt_id, min(a, b), max(a, b))
        if scores[a] == scores[b] or key in seen:  # equal valence cannot be ranked; no duplicate pairs
            continue
        seen.add(key)
        high, low = (a, b) if scores[a] > scores[b] else (b, a)
        chosen, rejected = (high, low) if framing == "positive" else (low, high)
        rows.append(dict(prompt_id=prompt.prompt_id, framing=framing, prompt=prompt.text,
                         chosen_word=terms[chosen], rejected_word=terms[rejected],
                         chosen_score=int(scores[chosen]), rejected_score=int(scores[rejected])))
    return rows


def valence_preferences(seed: int = 1, heldout: float = 1 / 3, n_pairs: int | None = None,
                        part: str = "train") -> PreferenceData:
    """The training (``part="train"``) or held-out (``"heldout"``) valence pairs of :func:`valence_split`.

    ``n_pairs`` (even; ``None`` = 4,096 train / 1,024 held out): half positive-, half negative-framed, the
    framings alternating, each framing's prompts used in a seeded cycle. Deterministic given the arguments.
    The frame has, besides ``pair_id, chosen, rejected, n_chars``: ``prompt_id, framing, prompt, chosen_word,
    rejected_word, chosen_score, rejected_score``.
    """
    _check(seed, heldout, n_pairs, part)
    n_pairs = DEFAULT_PAIRS[part] if n_pairs is None else int(n_pairs)
    prompts, words = valence_split(seed, heldout).part(part)
    n_possible = len(prompts) * len(words) * (len(words) - 1) // 2
    if n_pairs > n_possible // 4:
        raise RmnbError(f"n_pairs={n_pairs} is too many for the {part} part ({len(prompts)} prompts, {len(words)} "
                        f"words). Fix: ask for at most {n_possible // 4} pairs.")
    rng = np.random.default_rng([seed, PARTS.index(part) + 1])
    frame = pd.DataFrame(_pairs(prompts, words, n_pairs, rng))
    offset = HELDOUT_ID_OFFSET if part == "heldout" else 0
    frame.insert(0, "pair_id", np.arange(len(frame)) + offset)
    frame["chosen"] = [[{"role": "user", "content": p}, {"role": "assistant", "content": w}]
                       for p, w in zip(frame.prompt, frame.chosen_word)]
    frame["rejected"] = [[{"role": "user", "content": p}, {"role": "assistant", "content": w}]
                         for p, w in zip(frame.prompt, frame.rejected_word)]
    frame["n_chars"] = frame.prompt.str.len() + np.maximum(frame.chosen_word.str.len(), frame.rejected_word.str.len())
    return PreferenceData(f"{SOURCE_NAME}/seed{seed}/heldout{heldout:.4g}/{part}/n{n_pairs}", frame)


def valence_data(seed: int = 1, heldout: float = 1 / 3, n_train: int | None = None,
                 n_heldout: int | None = None) -> tuple[PreferenceData, PreferenceData]:
    """(train, held-out) valence pairs: disjoint in prompts and in words."""
    return (valence_preferences(seed, heldout, n_train, "train"),
            valence_preferences(seed, heldout, n_heldout, "heldout"))
