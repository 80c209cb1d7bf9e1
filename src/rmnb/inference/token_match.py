"""Matching lexicon words to vocabulary tokens (paper §3a).

A language model's next-token log-probabilities score *tokens*, so a word can only be scored directly if it is
one token. Two rules:

- :func:`strict_match`, the paper's: keep a word whose exact string (lowercase, no leading space) equals a
  decoded token in **every** vocabulary of the comparison. Multi-word and hyphenated terms never match.
- :func:`broad_match`, a robustness check: the word's case variants (``love``, ``Love``, ``LOVE``), each with and
  without a leading space; a variant counts when it is one decoded token in every vocabulary, and a word's
  log-prob is the mean over its variants (:func:`word_logprobs`).

Vocabularies are given as :func:`vocab_table` frames (``token_id, token_decoded``) so the same code serves live
tokenizers and the authors' released log-prob tables.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rmnb.base.errors import RmnbError
from rmnb.inference.vocabulary import decoded_vocabulary


def vocab_table(tokenizer) -> pd.DataFrame:
    """``token_id, token_decoded`` for every id (decoded alone, special tokens kept), as the authors' CSVs."""
    return decoded_vocabulary(tokenizer).rename(columns={"response": "token_decoded"})


def _lookup(vocab: pd.DataFrame) -> dict[str, int]:
    """decoded string -> token id; a string decoded from several ids maps to the lowest id."""
    table = vocab.dropna(subset=["token_decoded"]).sort_values("token_id", kind="stable")
    table = table[~table.token_decoded.duplicated(keep="first")]
    return dict(zip(table.token_decoded, table.token_id.astype(int)))


def variants(word: str) -> list[str]:
    """Case and leading-space variants of ``word``: as given, Capitalised, UPPER; each bare and with ``" "``."""
    forms = list(dict.fromkeys([word, word[:1].upper() + word[1:], word.upper()]))
    return forms + [" " + f for f in forms]


def strict_match(lexicon: pd.DataFrame, vocabs: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The paper's rule: rows ``term, category, model, token_id`` for terms that are one decoded token in every
    vocabulary (exact string, so lowercase and no leading space as the lexicon writes them)."""
    if not vocabs:
        raise RmnbError("strict_match needs at least one vocabulary.")
    lookups = {m: _lookup(v) for m, v in vocabs.items()}
    rows = []
    for term, category in zip(lexicon.term, lexicon.category):
        if all(term in lk for lk in lookups.values()):
            rows.extend((term, category, m, lk[term]) for m, lk in lookups.items())
    return pd.DataFrame(rows, columns=["term", "category", "model", "token_id"])


def broad_match(lexicon: pd.DataFrame, vocabs: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Rows ``term, category, variant, model, token_id`` for every case/space variant of a term that is one
    decoded token in every vocabulary (so both models are scored on the same variants)."""
    lookups = {m: _lookup(v) for m, v in vocabs.items()}
    rows = []
    for term, category in zip(lexicon.term, lexicon.category):
        for form in variants(term):
            if all(form in lk for lk in lookups.values()):
                rows.extend((term, category, form, m, lk[form]) for m, lk in lookups.items())
    return pd.DataFrame(rows, columns=["term", "category", "variant", "model", "token_id"])


def word_logprobs(matches: pd.DataFrame, logprobs: dict[str, np.ndarray], prompt_ids,
                  agg: str = "mean") -> pd.DataFrame:
    """Long table ``model, prompt_id, term, category, logprob``: each matched term's log-prob under each prompt,
    combined over its variants (strict matches have one): their mean (``agg="mean"``, the book's broad rule) or the
    log of their summed probability (``agg="logsumexp"``: the probability that the reply starts with the word in
    any of its forms).

    ``logprobs[model]`` is an array ``[n_prompts, vocab]`` whose rows follow ``prompt_ids``.
    """
    if agg not in ("mean", "logsumexp"):
        raise RmnbError(f"unknown agg {agg!r}: use 'mean' (the mean log-prob of a word's variants) or 'logsumexp' "
                        "(the log of their summed probability).")
    prompt_ids = list(prompt_ids)
    frames = []
    for model, group in matches.groupby("model", sort=False):
        table = np.asarray(logprobs[model])
        values = table[:, group.token_id.to_numpy()]  # [n_prompts, n_rows]
        wide = pd.DataFrame(values.T, index=pd.MultiIndex.from_frame(group[["term", "category"]]),
                            columns=prompt_ids)
        groups = wide.groupby(level=["term", "category"], sort=False)
        if agg == "mean":
            combined = groups.mean()
        else:  # log sum exp, shifted by each group's maximum so that tiny probabilities do not underflow
            top = groups.transform("max")
            combined = np.log(np.exp(wide - top).groupby(level=["term", "category"], sort=False).sum()) + groups.max()
        long = combined.reset_index().melt(id_vars=["term", "category"], var_name="prompt_id", value_name="logprob")
        long.insert(0, "model", model)
        frames.append(long)
    return pd.concat(frames, ignore_index=True)


def summary(lexicon: pd.DataFrame, strict: pd.DataFrame, broad: pd.DataFrame) -> pd.DataFrame:
    """How many lexicon terms each rule keeps, per category and in total."""
    rows = []
    for category in [*sorted(lexicon.category.unique()), "total"]:
        pick = (lambda f: f) if category == "total" else (lambda f: f[f.category == category])
        rows.append(dict(category=category, lexicon=pick(lexicon).term.nunique(),
                         strict=pick(strict).term.nunique(), broad=pick(broad).term.nunique(),
                         broad_variants=len(pick(broad)[["term", "variant"]].drop_duplicates()) if len(broad) else 0))
    return pd.DataFrame(rows)
