"""What the FAccT authors' double BOS changes.

The authors' scorer renders the conversation with the chat template as text, which already begins with the BOS
token, then tokenizes that text with the tokenizer's default ``add_special_tokens=True``: Gemma and Llama 3
tokenizers then read two BOS tokens. rmnb reads one (``bos="single"``) unless asked to follow the authors
(``bos="authors"``, :class:`rmnb.inference.responses.Conversation`). The released §2 scores were probably made the
authors' way; that is an inference, since their §2 scoring code is not released.

:func:`score_both` scores one prompt's Big Two nouns with each model under both paths; :func:`compare_paths` says how
far the two rankings agree (Spearman's rho, the largest score difference) and what each path makes of the Big Two
(the median rank of the agency and of the communion nouns).
"""

from __future__ import annotations

import pandas as pd
from scipy import stats as sps

from rmnb.analysis.stats import rank_within
from rmnb.data.store import read_results
from rmnb.inference.job import score
from rmnb.training import trained

PATHS = ("single", "authors")


def score_both(models, prompt: pd.DataFrame, responses="big-two", *, device: str = "auto",
               progress: bool = False) -> pd.DataFrame:
    """``model_id, bos, response, score`` for every model under both BOS paths (cached in the results store).
    ``prompt``: one row with ``prompt_id, text``. rmnb-trained reward models are built first if absent; a language
    model gets a seeded random score head, as in the token search (:func:`rmnb.analysis.token_search.search`)."""
    frames = []
    for model in models:
        trained.ensure_built(model, device=device, progress=progress)
        for bos in PATHS:
            folder = score(model, prompts=prompt[["prompt_id", "text"]], responses=responses, kind="reward",
                           device=device, bos=bos, random_head=True, progress=progress)
            frames.append(read_results(folder)[["model_id", "response", "score"]].assign(bos=bos))
    return pd.concat(frames, ignore_index=True)


def compare_paths(scores: pd.DataFrame, lexicon: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """From :func:`score_both`'s frame and a lexicon (``term, category``): per model, Spearman's rho between the
    single- and double-BOS scores and the largest absolute difference (``rho, max_abs_diff, n``); and per model,
    path and category, the median rank of the lexicon's words (1 = the highest score)."""
    wide = scores.pivot_table(index=["model_id", "response"], columns="bos", values="score").reset_index()
    agreement = []
    for model, group in wide.groupby("model_id", sort=False):
        rho = sps.spearmanr(group["single"], group["authors"]).statistic
        agreement.append({"model_id": model, "rho": float(rho), "n": len(group),
                          "max_abs_diff": float((group["single"] - group["authors"]).abs().max())})
    ranked = scores.merge(lexicon.rename(columns={"term": "response"})[["response", "category"]], on="response")
    ranked["rank"] = rank_within(ranked, ["model_id", "bos"])
    medians = (ranked.groupby(["model_id", "bos", "category"], sort=False)["rank"].median()
               .rename("median_rank").reset_index())
    return pd.DataFrame(agreement), medians


def preferred(medians: pd.DataFrame, model: str, bos: str) -> str:
    """The Big Two category a model ranks higher under one path (lower median rank), or ``"neither"``."""
    row = medians[(medians.model_id == model) & (medians.bos == bos)].set_index("category").median_rank
    if row.get("Agency") == row.get("Communion"):
        return "neither"
    return "agency" if row.get("Agency") < row.get("Communion") else "communion"


def summary_sentence(agreement: pd.DataFrame, medians: pd.DataFrame, labels: dict | None = None) -> str:
    """One clause per model: rho between the paths and the preferred Big Two category under each path."""
    parts = []
    for row in agreement.itertuples():
        single, authors = preferred(medians, row.model_id, "single"), preferred(medians, row.model_id, "authors")
        pref = (f"ranks {single} higher under both paths" if single == authors
                else f"ranks {single} higher with one BOS but {authors} with two")
        parts.append(f"{(labels or {}).get(row.model_id, row.model_id)}: Spearman's ρ = {row.rho:.3f} between the "
                     f"paths (largest score difference {row.max_abs_diff:.3g}), and it {pref}")
    return "; ".join(parts)


def path_table(agreement: pd.DataFrame, medians: pd.DataFrame) -> pd.DataFrame:
    """One row per model: the median rank of each category under each path (``<path> <category>`` columns), then
    ``rho`` and ``max_abs_diff``."""
    wide = medians.pivot_table(index="model_id", columns=["bos", "category"], values="median_rank", sort=False)
    wide.columns = [f"{path} {category}" for path, category in wide.columns]
    return wide.join(agreement.set_index("model_id")[["rho", "max_abs_diff"]]).reset_index()
