"""Exhaustive token search, the FAccT predecessor's method: score every vocabulary token as the
one-token answer to a prompt, then read the top and the bottom of the ranking.

What is here:

- **Which tokens to search** (:func:`search_plan`, :func:`common_sample`): every token, or a documented filter
  (``shared``: decoded strings that also occur in the smallest searched vocabulary; ``alpha``: ASCII letters with
  an optional leading space), with ``auto`` choosing per model by vocabulary size and device. Every filter keeps
  the case and space variants of the words the book follows (:data:`KEEP_WORDS`).
- **Scoring** (:func:`search`): each model through :func:`rmnb.inference.job.score` (cached and resumable in the rmnb
  cache, prefix key/value reuse), one tidy frame back.
- **The FAccT statistics**: ranks, top/bottom lists (:func:`extremes`), distribution moments (:func:`moments`,
  ``np.var`` and ``scipy.stats.skew`` as the FAccT code), the shared decoded vocabulary with duplicate removal
  (:func:`shared_vocabulary`), Kendall's tau between models (:func:`kendall_matrix`) and metric MDS on
  ``1 - tau`` (:func:`mds`, SMACOF with ``random_state=42``, implemented here with numpy).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats as sps

from rmnb.base.device import resolve_device, scoring_dtype
from rmnb.base.errors import RmnbError
from rmnb.base.labels import shown
from rmnb.data.lexicons import is_english_word
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


# --- models ---------------------------------------------------------------------------------------------------

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


# --- statistics -------------------------------------------------------------------------------------------------

def rank_scores(scores: pd.DataFrame, by=("model_id", "prompt_id")) -> pd.Series:
    """Rank within each (model, prompt): 1 = highest score, ties share their average rank."""
    return scores.groupby(list(by), sort=False)["score"].rank(method="average", ascending=False)


def extremes(scores: pd.DataFrame, n: int = 20) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ``n`` highest and ``n`` lowest tokens of each (model, prompt), best first in both; columns
    ``model, prompt_id, rank, token_id, shown, score``."""
    cols = ["model", "prompt_id", "rank", "token_id", "shown", "score", "response"]
    model_order = {m: i for i, m in enumerate(dict.fromkeys(scores.model_id))}
    prompt_order = {p: i for i, p in enumerate(dict.fromkeys(scores.prompt_id))}
    ordered = scores.assign(_m=scores.model_id.map(model_order), _p=scores.prompt_id.map(prompt_order))
    ordered = ordered.sort_values(["_m", "_p", "score", "token_id"], ascending=[True, True, False, True],
                                  kind="stable").assign(shown=lambda f: f.response.map(shown))
    groups = ordered.groupby(["_m", "_p"], sort=False)
    return groups.head(n)[cols].reset_index(drop=True), groups.tail(n)[cols].reset_index(drop=True)


def best_worst_rho(scores: pd.DataFrame, english_only: bool = True) -> pd.DataFrame:
    """Per reward model, Spearman's rho between each token's "best" and "worst" scores (FAccT Figure 4), over the
    tokens scored for both prompts (``english_only``: those that are English words): ``model_id, model, rho,
    n``. A negative rho means the RM reads the question; near +1, it judges the token alone."""
    pair = scores[scores.prompt_id.isin(["best", "worst"])]
    if english_only:
        pair = pair[is_english_word(pair.response)]
    wide = pair.pivot_table(index=["model_id", "model", "token_id"], columns="prompt_id", values="score").dropna()
    rows = [dict(model_id=m, model=label, rho=float(sps.spearmanr(g["best"], g["worst"]).statistic), n=len(g))
            for (m, label), g in wide.groupby(level=["model_id", "model"], sort=False)]
    return pd.DataFrame(rows, columns=["model_id", "model", "rho", "n"])


def rho_verdict(rho: pd.DataFrame, strong: float = -0.3) -> str:
    """The sentence on :func:`best_worst_rho`: whether every RM's rho is below zero (it reads the question), and
    how many reach ``strong`` or lower."""
    if rho.empty:
        return "no reward model to judge."
    below = rho[rho.rho < 0]
    if len(below) == len(rho):
        head = ("below zero for every RM: a word they rate highly as the best thing they tend to rate low as the "
                "worst, so they read the question")
    elif below.empty:
        head = "not below zero for any RM: their opinion of a word barely depends on the question"
    else:
        head = f"below zero only for {', '.join(below.model)}"
    return f"{head} (ρ ≤ {strong} for {int((rho.rho <= strong).sum())} of {len(rho)})."


def english_in_top(scores: pd.DataFrame, prompt_id: str = "greatest", n: int = 20) -> pd.DataFrame:
    """How many of each model's top ``n`` tokens for ``prompt_id`` are English words: ``model_id, model,
    english, n``."""
    top, _ = extremes(scores[scores.prompt_id == prompt_id], n)
    ids = scores.drop_duplicates("model").set_index("model").model_id
    return (top.assign(english=is_english_word(top.response)).groupby("model", sort=False)
            .agg(english=("english", "sum"), n=("english", "size")).reset_index()
            .assign(model_id=lambda f: f.model.map(ids))[["model_id", "model", "english", "n"]])


def moments(scores: pd.DataFrame, by=("model", "prompt_id")) -> pd.DataFrame:
    """Mean, variance (``np.var``, ddof 0) and skew (``scipy.stats.skew``, biased) per group, as FAccT Table 3."""
    out = scores.groupby(list(by), sort=False)["score"].agg(
        n="size", mean="mean", variance=lambda s: float(np.var(s.to_numpy())),
        skew=lambda s: float(sps.skew(s.to_numpy())))
    return out.reset_index()


def shared_vocabulary(scores: pd.DataFrame, prompts=None) -> set[str]:
    """The FAccT shared vocabulary: decoded strings scored for every model (and every prompt in ``prompts``,
    default all), minus strings that occur more than once within any (model, prompt)."""
    frame = scores if prompts is None else scores[scores.prompt_id.isin(list(prompts))]
    if frame.empty:
        return set()
    shared = None
    duplicated = set()
    for _, group in frame.groupby(["model_id", "prompt_id"], sort=False):
        strings = group.response.astype(str)
        shared = set(strings) if shared is None else shared & set(strings)
        duplicated |= set(strings[strings.duplicated(keep=False)])
    return shared - duplicated


def wide_scores(scores: pd.DataFrame, prompt_id: str, vocab: set[str]) -> pd.DataFrame:
    """Strings x models (columns in the order the models appear) for one prompt, restricted to ``vocab``."""
    frame = scores[(scores.prompt_id == prompt_id) & scores.response.isin(vocab)]
    order = list(dict.fromkeys(frame.model))
    return frame.pivot(index="response", columns="model", values="score")[order]


def kendall_matrix(wide: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Kendall's tau-b (and its p-value) between every pair of columns of ``wide`` (rows = shared strings)."""
    cols = list(wide.columns)
    tau = pd.DataFrame(np.eye(len(cols)), index=cols, columns=cols)
    pval = pd.DataFrame(np.zeros((len(cols), len(cols))), index=cols, columns=cols)
    for i, a in enumerate(cols):
        for b in cols[i + 1:]:
            t, p = sps.kendalltau(wide[a].to_numpy(), wide[b].to_numpy())
            tau.loc[a, b] = tau.loc[b, a] = t
            pval.loc[a, b] = pval.loc[b, a] = p
    return tau, pval


def classical_mds(dissimilarity, n_components: int = 2) -> np.ndarray:
    """Torgerson's classical scaling: the top eigenvectors of the double-centred squared dissimilarities."""
    d = np.asarray(dissimilarity, float)
    n = d.shape[0]
    j = np.eye(n) - np.ones((n, n)) / n
    b = -0.5 * j @ (d ** 2) @ j
    values, vectors = np.linalg.eigh(b)
    order = np.argsort(values)[::-1][:n_components]
    return vectors[:, order] * np.sqrt(np.clip(values[order], 0, None))


def _smacof_once(d: np.ndarray, x: np.ndarray, max_iter: int, eps: float) -> tuple[np.ndarray, float]:
    n = d.shape[0]
    previous = None
    stress = np.inf
    for _ in range(max_iter):
        dist = np.sqrt(((x[:, None, :] - x[None, :, :]) ** 2).sum(-1))
        stress = float(((dist - d) ** 2).sum() / 2)
        dist[dist == 0] = 1e-5
        b = -d / dist
        b[np.arange(n), np.arange(n)] += -b.sum(axis=1)  # the Guttman transform's B matrix (diagonal: row sums)
        x = b @ x / n
        scaled = stress / np.sqrt((x ** 2).sum(axis=1)).sum()
        if previous is not None and previous - scaled < eps:
            break
        previous = scaled
    return x, stress


def smacof(dissimilarity, n_components: int = 2, n_init: int = 4, max_iter: int = 300, eps: float = 1e-3,
           random_state: int = 42) -> tuple[np.ndarray, float]:
    """Metric MDS by SMACOF, as scikit-learn's ``MDS(dissimilarity="precomputed", random_state=42)`` runs it:
    ``n_init`` uniform random starts seeded from ``random_state``, the lowest raw stress wins."""
    d = np.asarray(dissimilarity, float)
    if d.ndim != 2 or d.shape[0] != d.shape[1] or not np.allclose(d, d.T):
        raise RmnbError("MDS needs a square, symmetric dissimilarity matrix.")
    n = d.shape[0]
    if n == 1:
        return np.zeros((1, n_components)), 0.0
    rng = np.random.RandomState(random_state)
    best, best_stress = None, np.inf
    for seed in rng.randint(np.iinfo(np.int32).max, size=n_init):
        start = np.random.RandomState(seed).uniform(size=n * n_components).reshape(n, n_components)
        x, stress = _smacof_once(d, start, max_iter, eps)
        if stress < best_stress:
            best, best_stress = x, stress
    return best, best_stress


def mds(tau: pd.DataFrame, random_state: int = 42) -> tuple[pd.DataFrame, float]:
    """Two-dimensional metric MDS of the models on the dissimilarity ``1 - tau`` (FAccT Figure 2b).
    Returns ``model, x, y`` (centred) and the final stress."""
    d = 1 - tau.to_numpy(float)
    np.fill_diagonal(d, 0.0)
    d = (d + d.T) / 2
    x, stress = smacof(d, random_state=random_state)
    x = x - x.mean(axis=0)
    return pd.DataFrame({"model": list(tau.index), "x": x[:, 0], "y": x[:, 1]}), stress


def embedding_distances(positions: pd.DataFrame) -> pd.DataFrame:
    """Pairwise Euclidean distances of an MDS embedding (to compare with ``1 - tau``)."""
    xy = positions[["x", "y"]].to_numpy(float)
    dist = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1))
    return pd.DataFrame(dist, index=positions.model, columns=positions.model)


def tau_pairs(tau: pd.DataFrame) -> pd.DataFrame:
    """The upper triangle of a tau matrix as rows ``a, b, tau``."""
    cols = list(tau.columns)
    return pd.DataFrame([(a, b, float(tau.loc[a, b])) for i, a in enumerate(cols) for b in cols[i + 1:]],
                        columns=["a", "b", "tau"])


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
