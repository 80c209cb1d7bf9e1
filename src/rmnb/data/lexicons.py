"""Lexicons: the authors' Big Two nouns and expanded list, MFD2, AFINN-165 (valence), an English word list (which
decoded tokens are English words, chapter 00), and parsers for LIWC ``.dic`` / ``.dicx``.

Every loader returns a tidy DataFrame with a ``term`` column; multi-word terms are kept as they are.
"""

from __future__ import annotations

import csv
import io
import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from rmnb.base.errors import RmnbError
from rmnb.data.fetch import fetch

FOUNDATIONS = ("Authority", "Care", "Fairness", "Loyalty", "Sanctity")  # alphabetical: Authority is the reference
BIG_TWO = ("Agency", "Communion")
AFINN_SOURCE = ("afinn", "AFINN-en-165.txt")


def read_dic(path_or_text: str | Path) -> pd.DataFrame:
    """Parse a LIWC 2007/2015 ``.dic`` file into ``term, category`` rows (one row per membership).

    The header between two ``%`` lines maps codes to category names. Entry lines are ``term<ws>code [code ...]``;
    a term may span several words (``common good``), so the codes are the trailing numeric fields. A term listed
    on several lines (one category each) keeps every category: memberships are accumulated, not overwritten.
    """
    text = Path(path_or_text).read_text() if isinstance(path_or_text, Path) else path_or_text
    lines = text.splitlines()
    marks = [i for i, line in enumerate(lines) if line.strip() == "%"]
    if len(marks) < 2:
        raise RmnbError("not a LIWC .dic file: the category header must sit between two '%' lines.")
    codes = {}
    for line in lines[marks[0] + 1: marks[1]]:
        if line.strip():
            code, name = line.split(None, 1)
            codes[code.lstrip("0") or "0"] = name.strip()
    rows = []
    for line in lines[marks[1] + 1:]:
        fields = line.split("\t") if "\t" in line else line.split()
        fields = [f.strip() for f in fields if f.strip()]
        if not fields:
            continue
        # Codes are the trailing all-digit fields; the rest (tab- or space-separated) is the term.
        n_codes = 0
        while n_codes < len(fields) - 1 and fields[-1 - n_codes].isdigit():
            n_codes += 1
        term_fields, code_fields = fields[: len(fields) - n_codes], fields[len(fields) - n_codes:]
        if len(term_fields) == 1 and " " in term_fields[0]:
            parts = term_fields[0].split()
            while parts and parts[-1].isdigit():  # "term 1 7" written with spaces inside one tab field
                code_fields.insert(0, parts.pop())
            term_fields = [" ".join(parts)]
        term = " ".join(term_fields)
        for code in code_fields:
            key = code.lstrip("0") or "0"
            if key not in codes:
                raise RmnbError(f"LIWC .dic entry {line!r} uses category code {code}, which the header does not define.")
            rows.append((term, codes[key]))
    return pd.DataFrame(rows, columns=["term", "category"]).drop_duplicates().reset_index(drop=True)


def read_dicx(path_or_text: str | Path) -> pd.DataFrame:
    """Parse a LIWC-22 ``.dicx`` file (CSV: ``DicTerm`` then one column per category marked ``X``)."""
    text = Path(path_or_text).read_text() if isinstance(path_or_text, Path) else path_or_text
    reader = csv.reader(io.StringIO(text))
    header = next(reader)
    if header[0] != "DicTerm":
        raise RmnbError("not a LIWC-22 .dicx file: the first column must be 'DicTerm'.")
    rows = []
    for record in reader:
        if not record or not record[0].strip():
            continue
        for name, mark in zip(header[1:], record[1:]):
            if mark.strip().upper() == "X":
                rows.append((record[0].strip(), name))
    return pd.DataFrame(rows, columns=["term", "category"]).drop_duplicates().reset_index(drop=True)


def big_two_nouns() -> pd.DataFrame:
    """The authors' 263 Big Two nouns: ``term, category`` (Agency / Communion)."""
    frame = pd.read_csv(fetch("iclr2026", "data/corpora/dict_big2_nouns.csv"), keep_default_na=False)
    return frame.rename(columns={"token_decoded": "term", "Category": "category"})[["term", "category"]]


def big_two_expanded() -> pd.DataFrame:
    """The authors' expanded Big Two list (936 terms incl. inflections and function words)."""
    frame = pd.read_csv(fetch("iclr2026", "data/corpora/dict_big2_expanded.csv"), keep_default_na=False)
    rows = [(term, cat) for cat in BIG_TWO for term in frame.loc[frame[cat] == "X", "DicTerm"]]
    return pd.DataFrame(rows, columns=["term", "category"])


def mfd2_terms(include_sanctity_vice: bool = True) -> pd.DataFrame:
    """The authors' MFD2 ``.dicx``: ``term, foundation, valence, category`` (2,040 terms, one category each).

    ``include_sanctity_vice=False`` reproduces the authors' figure code, whose column range drops the 388
    Sanctity-vice terms (1,652 remain).
    """
    frame = read_dicx(fetch("iclr2026", "data/corpora/moral-foundations-dictionary-20.dicx"))
    frame[["foundation", "valence"]] = frame.category.str.split("_", expand=True)
    frame["valence"] = frame.valence.str.lower()
    if not include_sanctity_vice:
        frame = frame[frame.category != "Sanctity_Vice"]
    return frame[["term", "foundation", "valence", "category"]].reset_index(drop=True)


def mfd2_distributed() -> pd.DataFrame:
    """MFD2.0 as distributed (eMFDscore's ``.dic``): 2,103 memberships over 2,040 words."""
    frame = read_dic(fetch("mfd2", "mfd2.0.dic"))
    frame[["foundation", "valence"]] = frame.category.str.split(".", expand=True)
    frame["foundation"] = frame.foundation.str.capitalize()
    return frame


def big_two_pietraszkiewicz(version: str = "a") -> pd.DataFrame:
    """Pietraszkiewicz et al. (2019) Big Two patterns (``*`` = prefix wildcard): ``term, category``."""
    data = json.loads(fetch("big_two", "nvm_PietraszkiewiczEtAl2019a_data.json").read_text())
    if version not in ("a", "b"):
        raise RmnbError(f"Big Two version {version!r} does not exist. Fix: use 'a' (main) or 'b' (alternate).")
    rows = [(t, "Agency") for t in data[f"big2{version}_agen"]] + [(t, "Communion") for t in data[f"big2{version}_comm"]]
    return pd.DataFrame(rows, columns=["term", "category"])


def match_patterns(words, patterns: pd.DataFrame) -> pd.DataFrame:
    """Match words against LIWC patterns (trailing ``*`` = prefix): ``word, term, category`` per hit."""
    exact = {t: c for t, c in zip(patterns.term, patterns.category) if not t.endswith("*")}
    prefixes = [(t[:-1], t, c) for t, c in zip(patterns.term, patterns.category) if t.endswith("*")]
    rows = []
    for word in words:
        if word in exact:
            rows.append((word, word, exact[word]))
        rows.extend((word, t, c) for p, t, c in prefixes if word.startswith(p))
    return pd.DataFrame(rows, columns=["word", "term", "category"])


def read_afinn(path: str | Path) -> pd.DataFrame:
    """Parse an AFINN word list (one ``term<TAB>integer score`` per line, scores -5..+5) into ``term, score``.

    A line that is not a term, one tab and an integer from -5 to 5 is an error naming the file, the line number
    and the fix; blank lines are skipped. Terms are kept as written (AFINN is lower case; some are multiword).
    """
    path = Path(path)
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split("\t")
        score = fields[-1].strip() if len(fields) == 2 else ""
        if len(fields) != 2 or not fields[0].strip() or not score.lstrip("+-").isdigit() or abs(int(score)) > 5:
            raise RmnbError(
                f"{path} line {number}: {line!r} is not an AFINN entry 'term<TAB>integer score from -5 to 5'. "
                f"Fix: correct or delete that line, or replace {path.name} with an intact copy of the pinned "
                "AFINN-en-165.txt (rmnb.data.fetch('afinn', 'AFINN-en-165.txt')).")
        rows.append((fields[0].strip(), int(score)))
    if not rows:
        raise RmnbError(f"{path} has no AFINN entries. Fix: point at a 'term<TAB>score' word list such as "
                        "AFINN-en-165.txt.")
    frame = pd.DataFrame(rows, columns=["term", "score"])
    dup = frame.term[frame.term.duplicated()]
    if not dup.empty:
        raise RmnbError(f"{path} lists {list(dup[:5])} more than once. Fix: keep one line per term.")
    return frame


def afinn() -> pd.DataFrame:
    """AFINN-165 (Nielsen, 2011; ODbL 1.0): ``term, score`` for 3,382 terms, 30 of them multiword."""
    return read_afinn(fetch(*AFINN_SOURCE))


ENGLISH_WORD_SOURCES = ("web2", "gcide")


@lru_cache(maxsize=1)
def english_words() -> frozenset[str]:
    """Lower-case English words: the union of Webster's Second International (``web2``, 234k headwords) and
    GCIDE (114k, with inflected forms such as "greatest"), as packaged by ``english-words`` 2.0.1 (PyPI, MIT).
    Letters only. The list chapter 00 uses to tell which tokens are English words."""
    from english_words import get_english_words_set

    return frozenset(get_english_words_set(list(ENGLISH_WORD_SOURCES), lower=True, alpha=True))


ENGLISH_WORD_RULE = ("its decoded text, without one leading space, is ASCII letters only, at least two of them "
                     "(or 'a' or 'I'), and, lower-cased, in the English word list (Webster's Second and GCIDE, "
                     "the english-words package) or a regular plural of a listed word of three or more letters "
                     "(-s, -es, -ies for -y: the list holds few plurals)")
_ONE_LETTER_WORDS = {"a", "i"}


def is_english_word(texts) -> np.ndarray:
    """Whether each decoded token is an English word (:data:`ENGLISH_WORD_RULE`)."""
    words = english_words()
    out = []
    for text in texts:
        t = str(text)
        t = t[1:] if t.startswith(" ") else t
        ok = t.isascii() and t.isalpha() and (len(t) >= 2 or t.lower() in _ONE_LETTER_WORDS)
        out.append(ok and _listed(t.lower(), words))
    return np.array(out, dtype=bool)


def _listed(word: str, words: frozenset[str]) -> bool:
    """In the word list, or a regular plural of a listed word of three or more letters."""
    if word in words:
        return True
    stems = [word[:-1]] if word.endswith("s") else []
    if word.endswith("es"):
        stems.append(word[:-2])
    if word.endswith("ies"):
        stems.append(word[:-3] + "y")
    return any(len(stem) >= 3 and stem in words for stem in stems)
