"""Exhaustive token search, the FAccT predecessor's method: score every vocabulary token as the
one-token answer to a prompt, then read the top and the bottom of the ranking. This module plans and runs the
searches; their statistics are :mod:`rmnb.analysis.search_stats`'s, the MDS of the models
:mod:`rmnb.analysis.smacof`'s, and chapter 00's glue values :mod:`rmnb.analysis.search_report`'s.

- **Which tokens to search** (:func:`search_plan`, :func:`common_sample`): every token, or a documented filter
  (``shared``: decoded strings that also occur in the smallest searched vocabulary; ``alpha``: ASCII letters with
  an optional leading space), with ``auto`` choosing per model by vocabulary size and device. Every filter keeps
  the case and space variants of the words the book follows (:data:`KEEP_WORDS`).
- **Scoring** (:func:`search`): each model through :func:`rmnb.inference.job.score` (cached and resumable in the rmnb
  cache, prefix key/value reuse), one tidy frame back, ranked (:func:`rmnb.analysis.search_stats.rank_scores`).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from rmnb.analysis.search_stats import rank_scores
from rmnb.base.device import resolve_device, scoring_dtype
from rmnb.base.errors import RmnbError
from rmnb.data.prompts import FACCT_PROMPTS
from rmnb.data.store import read_results, rows_per_second
from rmnb.inference.job import score
from rmnb.inference.responses import vocabulary
from rmnb.inference.vocabulary import SEARCH_FILTERS, decoded_vocabulary
from rmnb.models import loading, registry
from rmnb.training import trained

KEEP_WORDS = ("love", "freedom")   # every filter keeps these words' case/space variants (chapter 07 follows them)
FULL_VOCAB_LIMIT = 60_000          # ``auto`` on a CPU: vocabularies up to this size are searched in full
ALPHA = re.compile(r"^ ?[A-Za-z]+$")


# --- which tokens ---------------------------------------------------------------------------------------------

def is_variant(texts, words=KEEP_WORDS) -> np.ndarray:
    """Strings equal to one of ``words`` up to case and surrounding whitespace (``strip().lower()``)."""
    targets = {w.lower() for w in words}
    return np.array([str(t).strip().lower() in targets for t in texts], dtype=bool)


def choose_filters(sizes: dict[str, int], how: str = "auto", limit: int = FULL_VOCAB_LIMIT,
                   on_gpu: bool = False) -> dict[str, str]:
    """The filter each model gets. ``auto``: ``all`` on a GPU or for a vocabulary of at most ``limit`` tokens;
    otherwise ``shared`` when another searched model has a vocabulary within the limit, else ``alpha``."""
    if how not in SEARCH_FILTERS:
        raise RmnbError(f"vocab_filter must be one of {', '.join(SEARCH_FILTERS)}, not {how!r}.")
    if how != "auto":
        return {m: how for m in sizes}
    small = any(n <= limit for n in sizes.values())
    return {m: "all" if on_gpu or n <= limit else ("shared" if small else "alpha") for m, n in sizes.items()}


def filter_vocabulary(vocab: pd.DataFrame, how: str, reference: set[str] | None = None,
                      keep_words=KEEP_WORDS) -> pd.DataFrame:
    """The rows of ``vocab`` (``token_id, response``) that filter ``how`` keeps, plus the variants of
    ``keep_words``. ``shared`` needs ``reference``, the decoded strings of the smallest searched vocabulary."""
    if how == "all":
        mask = np.ones(len(vocab), dtype=bool)
    elif how == "alpha":
        mask = vocab.response.map(lambda s: bool(ALPHA.match(str(s)))).to_numpy()
    elif how == "shared":
        if reference is None:
            raise RmnbError("the 'shared' filter needs the reference vocabulary's decoded strings.")
        mask = vocab.response.isin(reference).to_numpy()
    else:
        raise RmnbError(f"unknown vocabulary filter {how!r}; use one of {', '.join(SEARCH_FILTERS[1:])}.")
    mask = np.asarray(mask, dtype=bool) | is_variant(vocab.response, keep_words)
    return vocab[mask].reset_index(drop=True)


@dataclass
class Plan:
    """What one model searches: its vocabulary size, the filter, and the kept rows (``token_id, response``)."""

    model: str
    vocab_size: int
    filter: str
    kept: pd.DataFrame


def search_plan(vocabs: dict[str, pd.DataFrame], how: str = "auto", limit: int = FULL_VOCAB_LIMIT,
                on_gpu: bool = False) -> dict[str, Plan]:
    """Per model, the tokens the full prompts search. ``shared`` uses the smallest vocabulary as reference."""
    sizes = {m: len(v) for m, v in vocabs.items()}
    filters = choose_filters(sizes, how, limit, on_gpu)
    smallest = min(sizes, key=sizes.get)
    reference = set(vocabs[smallest].response)
    return {m: Plan(m, sizes[m], filters[m], filter_vocabulary(v, filters[m], reference))
            for m, v in vocabs.items()}


def common_sample(kept: dict[str, pd.DataFrame], n: int | None, keep_words=KEEP_WORDS) -> dict[str, pd.DataFrame]:
    """The same decoded strings for every model: those in all kept vocabularies and decoded from one id only in
    each; with ``n``, an evenly spaced subset of them (sorted by string) plus the ``keep_words`` variants."""
    strings = None
    for frame in kept.values():
        counts = frame.response.value_counts()
        unique = set(counts.index[counts == 1])
        strings = unique if strings is None else strings & unique
    ordered = sorted(strings or ())
    if not ordered:
        raise RmnbError("the searched models share no decoded strings, so no common sample can be drawn.")
    if n is not None and n < len(ordered):
        picks = np.unique(np.round(np.linspace(0, len(ordered) - 1, n)).astype(int))
        chosen = {ordered[i] for i in picks} | {s for s in ordered if is_variant([s], keep_words)[0]}
    else:
        chosen = set(ordered)
    return {m: f[f.response.isin(chosen)].sort_values("token_id").reset_index(drop=True) for m, f in kept.items()}


# --- the search -------------------------------------------------------------------------------------------------

@dataclass
class SearchResult:
    scores: pd.DataFrame                    # one row per (model, prompt, token), with rank
    plan: pd.DataFrame                      # one row per model: what was searched, how long it took
    prompts: pd.DataFrame                   # prompt_id, text, full (searched over the whole filtered vocabulary)
    folders: dict = field(default_factory=dict)  # model -> list of results-store run folders


def facct_prompts(prompt_set: str = "facct3") -> pd.DataFrame:
    """``facct3`` (greatest, best, worst) or some of its keys (a list, or comma-separated), in the given order."""
    items = prompt_set if isinstance(prompt_set, (list, tuple)) else str(prompt_set).split(",")
    keys = list(FACCT_PROMPTS) if prompt_set == "facct3" else [k.strip() for k in map(str, items) if k.strip()]
    bad = [k for k in keys if k not in FACCT_PROMPTS]
    if bad or not keys:
        raise RmnbError(f"prompt_set must be 'facct3' or comma-separated keys of {', '.join(FACCT_PROMPTS)}; "
                        f"got {prompt_set!r}.")
    return pd.DataFrame({"prompt_id": keys, "text": [FACCT_PROMPTS[k] for k in keys]})


def _full_set(full_prompts, keys, on_gpu: bool = False) -> list[str]:
    """The prompts searched over the whole filtered vocabulary. ``auto``: the first prompt ("greatest" in the
    FAccT set) on a GPU; none on a CPU, where every prompt uses the common sample (a whole-vocabulary search of
    an embedded RM takes several minutes per prompt on two cores, see chapter 00)."""
    if full_prompts == "auto":
        return list(keys[:1]) if on_gpu else []
    if full_prompts in (None, "", "none"):
        return []
    if full_prompts == "all":
        return list(keys)
    items = full_prompts if isinstance(full_prompts, (list, tuple)) else str(full_prompts).split(",")
    chosen = [k.strip() for k in map(str, items) if k.strip()]
    bad = [k for k in chosen if k not in keys]
    if bad:
        raise RmnbError(f"full_prompts names {bad}, which are not in the prompt set ({', '.join(keys)}).")
    return chosen


def search(models, prompt_set: str = "facct3", full_prompts: str = "auto", vocab_filter: str = "auto",
           full_vocab_limit: int = FULL_VOCAB_LIMIT, max_tokens: int | None = 4000, dtype: str = "auto",
           device: str = "auto", progress: bool = False) -> SearchResult:
    """Score the tokens of each reward model in ``models`` as one-token answers to the FAccT prompts.

    Prompts in ``full_prompts`` (keys, ``all``, ``none`` or ``auto``, see :func:`_full_set`) are searched over each
    model's filtered vocabulary (:func:`search_plan`); the others over :func:`common_sample` (the same decoded
    strings for every model, ``max_tokens`` of them).
    """
    models = [str(m) for m in ([models] if isinstance(models, str) else models)]
    if not models:
        raise RmnbError("give at least one reward model to search.")
    if len(set(models)) != len(models):
        raise RmnbError(f"a model is listed twice: {models}.")
    if max_tokens is not None and max_tokens < 1:
        raise RmnbError(f"max_tokens must be a positive number or None, not {max_tokens}.")
    prompts = facct_prompts(prompt_set)
    dtype_used = scoring_dtype(dtype, device)
    on_gpu = resolve_device(device).type == "cuda"
    full = _full_set(full_prompts, list(prompts.prompt_id), on_gpu)
    prompts["full"] = prompts.prompt_id.isin(full)

    for m in models:  # an rmnb-trained RM is built first if it is not yet
        trained.ensure_built(m, device=device)
    vocabs = {m: decoded_vocabulary(loading.load_tokenizer(m)) for m in models}
    plans = search_plan(vocabs, vocab_filter, full_vocab_limit, on_gpu)
    sample = common_sample({m: p.kept for m, p in plans.items()}, max_tokens) if (~prompts.full).any() else {}

    frames, rows, folders = [], [], {}
    for m in models:
        start = time.perf_counter()
        lm = loading.load_model(m, "reward", dtype=dtype_used, device=device)  # an LM gets a seeded random head
        facts = registry.model_facts(m)
        folders[m] = []
        for is_full, group in prompts.groupby("full", sort=False):
            kept = plans[m].kept if is_full else sample[m]
            name = f"vocab-{plans[m].filter}" if is_full else f"sample{len(kept)}"
            resp = vocabulary(lm.tokenizer, kept.token_id, name=name)
            for row in group.index:  # one results-store run per prompt: another chapter asking for the same
                # prompt and tokens (chapter 07: "greatest") reads it from the cache
                folder = score(lm, prompts=group.loc[[row], ["prompt_id", "text"]], responses=resp, kind="reward",
                               device=device, progress=progress, random_head=True)  # the chapters flag random heads
                folders[m].append(folder)
                got = read_results(folder)
                got["searched"] = "filtered vocabulary" if is_full else "common sample"
                frames.append(got.assign(model=facts["label"], family=facts["family"], head=lm.head))
        rate = rows_per_second(folders[m])
        rows.append(dict(model_id=m, model=facts["label"], family=facts["family"], head=lm.head,
                         dtype=lm.dtype_name, vocab_size=plans[m].vocab_size, filter=plans[m].filter,
                         n_filtered=len(plans[m].kept), n_sample=len(sample[m]) if sample else 0,
                         seconds=time.perf_counter() - start, tokens_per_s=rate,
                         full_prompt_minutes=len(plans[m].kept) / rate / 60 if rate else float("nan")))
        del lm
    scores = pd.concat(frames, ignore_index=True)
    scores = scores[["model_id", "model", "family", "head", "dtype", "prompt_id", "searched", "token_id", "token",
                     "response", "score"]]
    scores["rank"] = rank_scores(scores)
    return SearchResult(scores, pd.DataFrame(rows), prompts, folders)


# --- what a run searched, in words ------------------------------------------------------------------------------

def scope_sentence(prompts: pd.DataFrame, plan: pd.DataFrame) -> str:
    """What this run searched, for a summary: the prompts searched over each model's filtered vocabulary (with
    the kept and total token counts) and those searched over the common sample, whose extremes are the sample's."""
    full, sampled = list(prompts.prompt_id[prompts.full]), list(prompts.prompt_id[~prompts.full])
    parts = []
    if full:
        kept = ", ".join(f"{r.n_filtered:,} of {r.vocab_size:,} tokens for {r.model}" for r in plan.itertuples())
        parts.append(f"{_quoted(full)} over each model's filtered vocabulary ({kept})")
    if sampled:
        parts.append(f"{_quoted(sampled)} over a common sample of {int(plan.n_sample.max()):,} strings, so the top and "
                     "the bottom of those rankings are the sample's, not the vocabulary's")
    return "; ".join(parts)


def _quoted(ids) -> str:
    return ", ".join(f"“{p}”" for p in ids)
