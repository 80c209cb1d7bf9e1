"""Token normalisation and lexicon matching for the training-checkpoint analyses (paper §3a, §4).

Two rules from the authors' figure code:

- **Figure 4a / A5a** (:func:`normalise_token`): convert to UTF-8, drop non-printable and non-ASCII characters,
  trim, lowercase; then join the *expanded* Big Two list. Every case/space variant of a word (``love``, ``␣love``,
  ``Love``, ``␣LOVE`` ...) stays a separate ranked row.
- **Figure 5 / A6** (:func:`normalise_noun`): ASCII only, strip, lowercase; join the Big Two *nouns*; the scores
  of a word's variants are averaged per checkpoint before ranking.

:func:`matched_vocabulary` picks the vocabulary tokens of one tokenizer whose normalised text is in a lexicon,
optionally restricted to a set of decoded strings (the analogue of the authors' ``token_intersection.csv``).
"""

from __future__ import annotations

import pandas as pd

from rmnb.base.errors import RmnbError
from rmnb.data.fetch import fetch
from rmnb.inference.responses import vocabulary

# The vocabulary filters, in one place: which decoded tokens a search or a checkpoint analysis scores.
VOCAB_FILTERS = {
    "all": "every token of each vocabulary",
    "shared": "the decoded strings present in every compared vocabulary",
    "alpha": "tokens made of ASCII letters, with an optional leading space",
    "paper": "the authors' intersection of the Gemma 2 / Llama 3 vocabularies (token_intersection.csv)",
    "auto": "'all' for a vocabulary the CPU budget covers (or on a GPU), else 'shared' or 'alpha'",
}
CHECKPOINT_FILTERS = ("shared", "all", "paper")      # chapter 06: the tokens ranked at each checkpoint
SEARCH_FILTERS = ("auto", "all", "shared", "alpha")  # chapter 00: the tokens the exhaustive search scores


def normalise_token(text: str) -> str:
    """Figure 4a's ``token_norm``: printable ASCII only (0x20-0x7E), trimmed, lowercase."""
    return "".join(ch for ch in str(text) if " " <= ch <= "~").strip().lower()


def normalise_noun(text: str) -> str:
    """Figure 5's ``token_norm``: ASCII only, stripped, lowercase."""
    return str(text).encode("ascii", "ignore").decode("ascii").strip().lower()


def decoded_vocabulary(tokenizer) -> pd.DataFrame:
    """Every token id decoded on its own (special tokens included): ``token_id, response``
    (:func:`rmnb.inference.responses.vocabulary`, the book's one vocabulary decoder)."""
    vocab = vocabulary(tokenizer)
    return pd.DataFrame({"token_id": list(vocab.token_ids), "response": list(vocab.text)})


def matched_vocabulary(tokenizer, lexicon: pd.DataFrame, keep: set[str] | None = None,
                       normalise=normalise_token) -> pd.DataFrame:
    """Tokens whose normalised decoded text is a lexicon term: ``token_id, response, term, category``.

    ``keep``: only decoded strings in this set (``None`` = the whole vocabulary). A decoded string that several
    ids share is kept once, with its lowest id, so each string is one ranked row.
    """
    vocab = decoded_vocabulary(tokenizer)
    if keep is not None:
        vocab = vocab[vocab.response.isin(keep)]
    vocab = vocab.drop_duplicates("response", keep="first")
    vocab = vocab.assign(term=vocab.response.map(normalise))
    out = vocab.merge(lexicon[["term", "category"]], on="term", how="inner")
    return out.sort_values("token_id").reset_index(drop=True)


def shared_strings(tokenizers) -> set[str]:
    """Decoded strings present in every tokenizer's vocabulary (the analogue of ``token_intersection.csv``)."""
    sets = [set(decoded_vocabulary(tok).response) for tok in tokenizers]
    return set.intersection(*sets) if sets else set()


def paper_intersection() -> set[str]:
    """The authors' ``token_intersection.csv``: 85,524 decoded strings shared by their models' vocabularies."""
    frame = pd.read_csv(fetch("iclr2026", "data/corpora/token_intersection.csv"), keep_default_na=False)
    return set(frame["token_decoded"].astype(str))


def vocabulary_keep(tokenizers, how: str = "shared") -> set[str] | None:
    """The set of decoded strings to score: ``"shared"`` by all the given tokenizers, ``"paper"`` (the authors'
    intersection of Gemma 2 / Llama 3 vocabularies) or ``"all"`` (no restriction: ``None``)."""
    if how == "shared":
        return shared_strings(tokenizers)
    if how == "paper":
        return paper_intersection()
    if how == "all":
        return None
    raise RmnbError(f"vocab_filter={how!r} is not one of {', '.join(CHECKPOINT_FILTERS)}.")


def spaced_subset(matched: pd.DataFrame, n: int | None) -> pd.DataFrame:
    """At most ``n`` rows, evenly spaced over the rows sorted by decoded string (the same strings for every base
    when the bases share the matched strings); ``None`` = all rows. For quick (smoke) runs."""
    if n is None or n >= len(matched):
        return matched
    ordered = matched.sort_values("response", kind="stable").reset_index(drop=True)
    picks = sorted({int(round(i)) for i in pd.Series(range(n)) * (len(ordered) - 1) / max(n - 1, 1)})
    return ordered.iloc[picks].sort_values("token_id").reset_index(drop=True)
