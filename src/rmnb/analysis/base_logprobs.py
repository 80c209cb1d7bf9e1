"""Paper §3a: next-token log-probabilities of two language models, where they come from, and the statistics of
Figure 2.

Sources (:func:`logprob_matrix`):

- ``"live"``: computed now with rmnb's scorer (:func:`rmnb.inference.language_model.next_token_logprobs`, one
  forward pass per prompt, log-softmax over the whole vocabulary). The prompt is presented as a chat turn with the
  generation prompt (``fmt="chat"``, the paper's rule for instruct models) or as the raw prompt with default special
  tokens (``fmt="raw"``, its rule for pretrained models).
- ``"released"``: the authors' published tables, Hugging Face dataset ``Oxford-HIPlab/iclr2026-lm-logprobs``
  (one CSV per model, ``<org>--<name>.csv``: ``token_id, token_name, token_decoded`` and the 54 prompt columns),
  downloaded with ``huggingface_hub`` at a pinned revision. Needs network; offline it raises an
  :class:`~rmnb.base.errors.RmnbError` that names the fix.

Statistics (:func:`median_rank_table`, :func:`anova`, :func:`posthoc`): rank the matched nouns within each
(model, prompt) with :func:`rmnb.analysis.stats.rank_within`; take the median rank per (prompt, category, model, valence);
fit the type-II OLS ANOVA ``rank ~ category * valence * model``; compare the two models with Welch tests in the
four category x valence cells, Benjamini-Hochberg corrected.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from rmnb.analysis.claims import p_text
from rmnb.analysis.stats import rank_within, stars
from rmnb.base.errors import RmnbError
from rmnb.data.prompts import framing_of
from rmnb.models.registry import PAPER_LMS

CELLS = (("Agency", "positive"), ("Communion", "positive"), ("Agency", "negative"), ("Communion", "negative"))

# Model pairs (A = the paper's Gemma side, B = its Llama side) per condition, selected by one parameter.
PAIR_PRESETS = {
    "embedded": {"instruct": ("gemma3-270m", "smollm2-135m-instruct"),
                 "pretrained": ("gemma3-270m", "smollm2-135m-instruct")},
    "paper": {"instruct": ("google/gemma-2-2b-it", "meta-llama/Llama-3.2-3B-Instruct"),
              "pretrained": ("google/gemma-2-2b", "meta-llama/Llama-3.2-3B")},
}
# How each condition presents a prompt (the paper's rule: instruct models get the chat template with the
# generation prompt, pretrained models the raw prompt).
CONDITION_FORMAT = {"instruct": "chat", "pretrained": "raw"}


def parse_pair(text: str) -> tuple[str, str]:
    """``[A, B]`` (or ``"A,B"``) -> (A, B); raises with the expected form otherwise."""
    items = text if isinstance(text, (list, tuple)) else str(text).split(",")
    parts = [p.strip() for p in map(str, items) if p.strip()]
    if len(parts) != 2 or parts[0] == parts[1]:
        raise RmnbError(f"A model pair is written 'A,B' with two different model ids (A = the paper's Gemma side), "
                        f"not {text!r}.")
    return parts[0], parts[1]


def resolve_pairs(models: str, instruct_pair: str | None = None, pretrained_pair: str | None = None) -> dict:
    """``{condition: (A, B)}`` from a preset (``"embedded"`` or ``"paper"``) and optional overrides."""
    if models not in PAIR_PRESETS:
        raise RmnbError(f"models must be one of {', '.join(PAIR_PRESETS)}, not {models!r} (or override the pairs "
                        "with instruct_pair / pretrained_pair).")
    pairs = dict(PAIR_PRESETS[models])
    if instruct_pair:
        pairs["instruct"] = parse_pair(instruct_pair)
    if pretrained_pair:
        pairs["pretrained"] = parse_pair(pretrained_pair)
    return pairs


def resolve_source(source: str, model_ids) -> str:
    """``"auto"``: the released tables when every model is one of the paper's 12 LLMs, else live scoring."""
    if source in ("live", "released"):
        return source
    if source != "auto":
        raise RmnbError(f"source must be 'auto', 'live' or 'released', not {source!r}.")
    paper = {s.id for s in PAPER_LMS}
    return "released" if all(m in paper for m in model_ids) else "live"


# --- statistics ------------------------------------------------------------------------------------------

def median_rank_table(word_lp: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """From ``model, prompt_id, term, category, logprob`` rows: (per-word ranks within (model, prompt),
    median rank per (prompt, category, model, valence) with ``n_words``). Valence is the prompt's framing."""
    ranks = word_lp.copy()
    ranks["valence"] = ranks.prompt_id.map(framing_of)
    ranks["rank"] = rank_within(ranks, ["model", "prompt_id"], score="logprob")
    med = (ranks.groupby(["prompt_id", "category", "model", "valence"], sort=False, observed=True)["rank"]
           .agg(rank="median", n_words="size").reset_index())
    return ranks, med


def anova(med: pd.DataFrame) -> pd.DataFrame:
    """Type-II OLS ANOVA ``rank ~ C(category) * C(valence) * C(model)`` (statsmodels), one row per term with
    ``sum_sq, df, F, p`` and the residual df ``df_resid``."""
    import statsmodels.api as sm
    from statsmodels.formula.api import ols

    for col in ("category", "valence", "model"):
        if med[col].nunique() < 2:
            raise RmnbError(f"The ANOVA needs two levels of {col!r}; found {sorted(med[col].unique())}. "
                            "Fix: use prompts of both valences and two distinct models.")
    fit = ols("rank ~ C(category) * C(valence) * C(model)", data=med).fit()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = sm.stats.anova_lm(fit, typ=2)
    table = table.rename(columns={"PR(>F)": "p"}).reset_index().rename(columns={"index": "term"})
    table["term"] = table.term.str.replace(r"C\((\w+)\)", r"\1", regex=True)
    table["df_resid"] = fit.df_resid
    return table


def posthoc(med: pd.DataFrame, model_a: str, model_b: str) -> pd.DataFrame:
    """Welch t-test of model A vs model B median ranks in each category x valence cell (the paper's order:
    Agency+, Communion+, Agency-, Communion-), Benjamini-Hochberg corrected over the cells present.

    ``diff = mean_b - mean_a``: negative = model B ranks the category better (rank 1 is best). A cell where both
    models' values are constant has no defined t; it gets t = 0, p = 1."""
    from scipy.stats import ttest_ind
    from statsmodels.stats.multitest import fdrcorrection

    rows = []
    for category, valence in CELLS:
        cell = med[(med.category == category) & (med.valence == valence)]
        a = cell.loc[cell.model == model_a, "rank"].to_numpy(float)
        b = cell.loc[cell.model == model_b, "rank"].to_numpy(float)
        if len(a) < 2 or len(b) < 2:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t, p = ttest_ind(a, b, equal_var=False)
        if not np.isfinite(p):  # both groups constant: no evidence of a difference can be computed
            t, p = 0.0, 1.0
        rows.append(dict(category=category, valence=valence, n_a=len(a), n_b=len(b), mean_a=a.mean(),
                         mean_b=b.mean(), diff=b.mean() - a.mean(), t=float(t), p=float(p),
                         better=model_a if a.mean() < b.mean() else model_b if b.mean() < a.mean() else "neither"))
    out = pd.DataFrame(rows)
    if len(out):
        p = out.p.fillna(1.0).to_numpy()
        out["p_fdr"] = fdrcorrection(p)[1]
        out["stars"] = out.p_fdr.map(stars)
    return out


def paper_direction(post: pd.DataFrame) -> float:
    """The three-way contrast in the paper's orientation (A = Gemma side, B = Llama side):
    ``[d(Ag,+) - d(Co,+)] - [d(Ag,-) - d(Co,-)]`` with ``d = mean_b - mean_a``. The paper's pattern (Llama ranks
    agency better under positive prompts and communion better under negative ones, Gemma the reverse) makes it
    negative."""
    d = {(r.category, r.valence): r.diff for r in post.itertuples()}
    try:
        return (d[("Agency", "positive")] - d[("Communion", "positive")]) - \
               (d[("Agency", "negative")] - d[("Communion", "negative")])
    except KeyError:
        return float("nan")


# The paper's pattern, cell by cell: which side ranks the category better (A = the Gemma side, B = the Llama side).
# Llama ranks agency better under positive prompts and communion better under negative ones; Gemma the reverse.
PAPER_BETTER = {("Agency", "positive"): "B", ("Communion", "positive"): "A", ("Agency", "negative"): "A",
                ("Communion", "negative"): "B"}


def pair_name(model_a: str, model_b: str, labels: dict | None = None) -> str:
    """The pair as the chapters name it, B (the Llama side) first: ``"SmolLM2-135M-Instruct vs Gemma-3-270M"``
    (``labels``: model id -> display label; ids are used where no label is given)."""
    labels = labels or {}
    return f"{labels.get(model_b, model_b)} vs {labels.get(model_a, model_a)}"


def conditions_note(pairs: dict) -> str:
    """A sentence for wherever the two conditions are compared: when both conditions use the same two models (the
    embedded preset), only the prompt format differs, so the comparison is not one of pretrained against
    instruction-tuned weights. "" when the pairs differ."""
    if pairs.get("instruct") != pairs.get("pretrained"):
        return ""
    return ("Here both conditions use the same two models with the same weights: the \"pretrained\" condition "
            "differs from the \"instruct\" one only in the prompt format (the raw prompt instead of a chat turn), "
            "so a difference between the two conditions is an effect of the prompt format, not of instruction "
            "tuning.")


def cell_agreement(post: pd.DataFrame, model_a: str, model_b: str, alpha: float = 0.05) -> pd.DataFrame:
    """Each cell of :func:`posthoc` against the paper's pattern (:data:`PAPER_BETTER`): ``category, valence,
    better, paper_better`` (model ids), ``agrees`` (the better model is the paper's side; False where neither is
    better) and ``significant`` (``p_fdr < alpha``)."""
    side = {"A": model_a, "B": model_b}
    out = post[["category", "valence", "better", "p_fdr"]].copy()
    out["paper_better"] = [side[PAPER_BETTER[(c, v)]] for c, v in zip(out.category, out.valence)]
    out["agrees"] = out.better == out.paper_better
    out["significant"] = out.p_fdr < alpha
    return out.reset_index(drop=True)


def agreement_text(cells: pd.DataFrame) -> str:
    """Cell-by-cell verdict as text: ``"Agency+ agrees (significant), Communion+ disagrees (not significant),
    ..."`` in the paper's cell order."""
    parts = []
    for r in cells.itertuples(index=False):
        sign = "+" if r.valence == "positive" else "-"
        verdict = "agrees" if r.agrees else "disagrees"
        parts.append(f"{r.category}{sign} {verdict} ({'significant' if r.significant else 'not significant'})")
    return ", ".join(parts) or "no cells"


def positive_prediction(post: pd.DataFrame, model_a: str, model_b: str, condition: str = "instruct") -> dict:
    """Chapter 03's prediction for the reward models built on these two bases (chapter 06 reads it): per category,
    the model whose median rank of its nouns is better (lower) under **positive** prompts in :func:`posthoc`'s
    table, with the cell's BH-corrected p: ``{"condition", "models": [a, b], "Agency": id, "Communion": id,
    "p_fdr": {"Agency": p, "Communion": p}}`` (``"neither"`` for a tie; a missing cell gives ``None`` and NaN)."""
    cells = post[post.valence == "positive"].set_index("category") if len(post) else pd.DataFrame()
    out = {"condition": condition, "models": [model_a, model_b], "p_fdr": {}}
    for category in ("Agency", "Communion"):
        hit = category in cells.index
        out[category] = cells.loc[category, "better"] if hit else None
        out["p_fdr"][category] = float(cells.loc[category, "p_fdr"]) if hit else float("nan")
    return out


# --- glue ------------------------------------------------------------------------------------------------

TERM_KEYS = {"category": "category", "valence": "valence", "model": "model", "category:valence": "cat_val",
             "category:model": "cat_model", "valence:model": "val_model",
             "category:valence:model": "three_way"}


def glue_anova(results, prefix: str, table: pd.DataFrame) -> None:
    """Glue ``<prefix>_<term>_{F,df,p}`` for every ANOVA term (``df`` as ``"1,208"``), plus the whole table in
    the results JSON as ``<prefix>_anova``."""
    resid = int(round(float(table.df_resid.iloc[0])))
    for row in table.itertuples(index=False):
        key = TERM_KEYS.get(row.term)
        if key is None:
            continue
        results.glue(f"{prefix}_{key}_F", float(row.F))
        results.glue(f"{prefix}_{key}_df", f"{int(round(row.df))},{resid}")
        results.glue(f"{prefix}_{key}_p", float(row.p))
    results.glue(f"{prefix}_three_way_sig", "significant" if _p(table, "category:valence:model") < 0.05
                 else "not significant")
    results.record(f"{prefix}_anova", table.to_dict(orient="records"))


def _p(table: pd.DataFrame, term: str) -> float:
    hit = table.loc[table.term == term, "p"]
    return float(hit.iloc[0]) if len(hit) else float("nan")


def glue_posthoc(results, prefix: str, post: pd.DataFrame, labels: dict, pair: tuple[str, str] | None = None) -> None:
    """Glue ``<prefix>_<category>_<valence>_{p,p_fdr,p_fdr_text,stars,diff,better}`` per cell (``better`` is the
    display label of the model whose mean median rank is lower, ``p_fdr_text`` the corrected p in prose), and the
    paper-direction sentence. With ``pair`` (model A, model B) also the cell-by-cell agreement with the paper's
    pattern: ``<prefix>_pair_name``, ``<prefix>_n_agree``, ``<prefix>_n_agree_sig``, ``<prefix>_n_cells``,
    ``<prefix>_agreement`` (text) and the table ``<prefix>_agreement_cells`` in the results JSON."""
    for row in post.itertuples(index=False):
        key = f"{prefix}_{row.category.lower()}_{row.valence}"
        results.glue(f"{key}_p", row.p)
        results.glue(f"{key}_p_fdr", row.p_fdr)
        results.glue(f"{key}_p_fdr_text", p_text(row.p_fdr))
        results.glue(f"{key}_stars", row.stars)
        results.glue(f"{key}_diff", row.diff)
        results.glue(f"{key}_better", labels.get(row.better, row.better))
    contrast = paper_direction(post)
    results.glue(f"{prefix}_contrast", contrast)
    results.glue(f"{prefix}_direction", "the same direction as" if contrast < 0 else
                 "the opposite direction to" if contrast > 0 else "no clear direction relative to")
    results.record(f"{prefix}_posthoc", post.to_dict(orient="records"))
    if pair is not None and len(post):
        cells = cell_agreement(post, *pair)
        results.glue(f"{prefix}_pair_name", pair_name(*pair, labels))
        results.glue(f"{prefix}_n_agree", int(cells.agrees.sum()))
        results.glue(f"{prefix}_n_agree_sig", int((cells.agrees & cells.significant).sum()))
        results.glue(f"{prefix}_n_disagree_sig", int((~cells.agrees & cells.significant).sum()))
        results.glue(f"{prefix}_n_cells", len(cells))
        results.glue(f"{prefix}_agreement", agreement_text(cells))
        results.record(f"{prefix}_agreement_cells", cells.to_dict(orient="records"))


# --- verdicts the chapter states -------------------------------------------------------------------------------

THREE_WAY = "category:valence:model"


def three_way_text(table: pd.DataFrame) -> str:
    """The three-way term of an :func:`anova` table as ``"F(1,208) = 4.2, p = 0.04"`` (``p < 0.001`` below it)."""
    row = table.set_index("term").loc[THREE_WAY]
    return f"F({int(row.df)},{int(row.df_resid)}) = {row.F:.1f}, {p_text(row.p)}"


def paper_checks(table: pd.DataFrame, post: pd.DataFrame, alpha: float = 0.05) -> dict:
    """Figure 2's claim for one pair, as checks for ``findings.verdict``: ``same_direction`` (the contrast of
    :func:`paper_direction` on :func:`posthoc`'s ``post`` is negative, the paper's pattern) and
    ``significant_same_direction`` (that, and the three-way interaction of :func:`anova`'s ``table`` has
    p < ``alpha``, as the paper's does). So the paper's direction without significance is partly reproduced, and a
    significant interaction the other way is not reproduced. Both are ``None`` when a cell is missing and the
    direction cannot be read."""
    contrast = paper_direction(post) if len(post) else float("nan")
    if not np.isfinite(contrast):
        return {"same_direction": None, "significant_same_direction": None}
    same = bool(contrast < 0)
    return {"same_direction": same, "significant_same_direction": same and bool(_p(table, THREE_WAY) < alpha)}


def robustness_verdict(strict_p: float, broad_p: float, alpha: float = 0.05) -> str:
    """What the broader matching does to the three-way interaction, from both p-values: ``"survives"``,
    ``"does not survive"``, ``"stays absent under"`` or ``"appears only with"`` (read before "the broader
    matching")."""
    strict_sig = strict_p < alpha
    if strict_sig:
        return "survives" if broad_p < alpha else "does not survive"
    return "stays absent under" if broad_p >= alpha else "appears only with"


def compare_matching(strict: dict, broad: dict) -> dict:
    """Strict against broad matching for one pair, from two analyses (each with ``aov`` from :func:`anova` and
    ``post`` from :func:`posthoc`): the three-way ``F_strict``, ``F_broad``, ``p_broad``, the cells whose better
    model is the same under both rules (``same_winner`` of ``n_cells``) and :func:`robustness_verdict`."""
    strict_aov, broad_aov = strict["aov"].set_index("term"), broad["aov"].set_index("term")
    strict_post = strict["post"].set_index(["category", "valence"])
    broad_post = broad["post"].set_index(["category", "valence"])
    same = int((strict_post.better == broad_post.better.reindex(strict_post.index)).sum())
    return {"F_strict": strict_aov.F[THREE_WAY], "F_broad": broad_aov.F[THREE_WAY], "p_broad": broad_aov.p[THREE_WAY],
            "same_winner": same, "n_cells": len(strict_post),
            "verdict": robustness_verdict(strict_aov.p[THREE_WAY], broad_aov.p[THREE_WAY])}
