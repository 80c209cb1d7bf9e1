"""The authors' released training ablations: ``data/reward_model_training/rank_results_*.csv`` (paper §4).

Each file holds the median rank (``sum_value``) of the Agency and Communion token sets per training run and
checkpoint, for the prompt "What, in one word, is the greatest thing ever?". This module reads them exactly as
released and makes their quirks explicit:

- **one run-name table** (:data:`RUNS`): the files name runs differently (``google--gemma-2b-it``,
  ``gemma2b_unified27k_lora``, ``google--gemma-2b-it-Unified``, ``Qwen2.5-3B-Instruct`` ...); every name maps to a
  base family and the instruct model the run started from;
- **repeated rows** (``rank_results_uf_100.csv``: 60,956 rows for 84 groups) are dropped after checking that the
  copies agree; a group whose copies disagree is an error;
- **the empty base column** (Qwen's ``base_model`` is missing in the UF 54/100 files) is filled from the run name;
- **identical files** (``uf_13`` and ``uf_27`` have the same sha256) are both kept, as the authors plotted them,
  and flagged in ``same_file_as``;
- **the GRM file**'s in-file ``data_size`` (85) and ``data_source`` are overridden by the manifest (:data:`FILES`),
  and its all-missing first column ``X`` is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from rmnb.base.errors import RmnbError
from rmnb.data.fetch import fetch, registry

FOLDER = "data/reward_model_training/"
CATEGORIES = ("Agency", "Communion")
BASES = ("Gemma", "Llama", "Qwen")

# The ablation manifest of the authors' figure code: file stem -> label, data, method, final step.
FILES = pd.DataFrame([
    # stem,   pairs_k, plotted, label,   source,        method, final_step
    ("uf_13",   13,   13,  "13k",  "uf",          "BT",  3314),
    ("uf_27",   27,   27,  "27k",  "uf",          "BT",  3314),
    ("uf_54",   53,   53,  "53k",  "uf",          "BT",  6628),
    ("sky_80k", 77,   77,  "77k",  "skywork",     "BT",  9578),
    ("uf_100", 106,  106,  "106k", "uf",          "BT", 13258),
    ("grm_80k", 550, 632,  "632k", "uf+skywork",  "GRM",   1),
], columns=["file", "pairs_k", "plotted_k", "label", "source", "method", "final_step"])

# Every run name in the released files -> base family and the model the run was initialised from.
RUNS = pd.DataFrame([
    ("google--gemma-2b-it",               "Gemma", "google/gemma-2-2b-it"),
    ("meta-llama--Llama-3.2-3B",          "Llama", "meta-llama/Llama-3.2-3B-Instruct"),
    ("qwen--qwen2.5-3B-instruct",         "Qwen",  "Qwen/Qwen2.5-3B-Instruct"),
    ("gemma2b_unified27k_lora",           "Gemma", "google/gemma-2-2b-it"),
    ("llama3b_unified27k_lora",           "Llama", "meta-llama/Llama-3.2-3B-Instruct"),
    ("qwen3b_unified27k_lora",            "Qwen",  "Qwen/Qwen2.5-3B-Instruct"),
    ("google--gemma-2b-it-Unified",       "Gemma", "google/gemma-2-2b-it"),
    ("meta-llama--Llama-3.2-3B-Unified",  "Llama", "meta-llama/Llama-3.2-3B-Instruct"),
    ("Qwen2.5-3B-Instruct",               "Qwen",  "Qwen/Qwen2.5-3B-Instruct"),
    ("R-Gem-2B",                          "Gemma", "Ray2333/GRM-gemma2-2B-rewardmodel-ft"),
    ("R-Lla-3B",                          "Llama", "Ray2333/GRM-Llama3.2-3B-rewardmodel-ft"),
], columns=["run", "base", "base_model_id"])


def path_of(stem: str) -> str:
    return f"{FOLDER}rank_results_{stem}.csv"


@dataclass
class Released:
    """The released ablations, tidy, plus a record of every quirk handled."""

    runs: pd.DataFrame                   # one row per (file, run, category, checkpoint)
    raw_rows: dict[str, int]             # rows per file as released
    duplicates_dropped: dict[str, int]   # repeated rows removed per file
    base_filled: dict[str, int]          # rows whose empty base column was filled from the run name
    same_file_as: dict[str, str]         # file -> earlier file with the same sha256
    sha256: dict[str, str]
    notes: list[str] = field(default_factory=list)


def read_file(stem: str) -> pd.DataFrame:
    """One released CSV exactly as published (pandas defaults; the unnamed index column kept)."""
    if stem not in set(FILES.file):
        raise RmnbError(f"unknown ablation file {stem!r}; known: {', '.join(FILES.file)}")
    return pd.read_csv(fetch("iclr2026", path_of(stem)))


def load_released(stems=None) -> Released:
    """All (or the named) ablation files as one tidy table with the manifest's labels joined in.

    Columns: ``file, pairs_k, plotted_k, label, source, method, final_step, run, base, base_model_id, category,
    checkpoint, sum_value, base_in_file`` (the file's own base column, missing for Qwen in UF 54/100).
    """
    stems = list(stems or FILES.file)
    frames, raw_rows, dropped, filled, same, shas = [], {}, {}, {}, {}, {}
    seen_sha: dict[str, str] = {}
    for stem in stems:
        sha = registry()[("iclr2026", path_of(stem))]
        shas[stem] = sha
        if sha in seen_sha:
            same[stem] = seen_sha[sha]
        seen_sha.setdefault(sha, stem)
        raw = read_file(stem)
        raw_rows[stem] = len(raw)
        frame = raw.rename(columns={"model_id": "run", "Category": "category", "base_model": "base_in_file"})
        frame = frame[["run", "category", "checkpoint", "base_in_file", "sum_value"]]
        unknown = sorted(set(frame.run) - set(RUNS.run))
        if unknown:
            raise RmnbError(f"{stem}: run names {unknown} are not in rmnb.analysis.ablations.RUNS; add them there.")
        keys = ["run", "category", "checkpoint"]
        spread = frame.groupby(keys).sum_value.nunique()
        if (spread > 1).any():
            bad = spread[spread > 1].index[:3].tolist()
            raise RmnbError(f"{stem}: repeated rows disagree on sum_value for {bad}; cannot deduplicate.")
        deduped = frame.drop_duplicates(keys).reset_index(drop=True)
        dropped[stem] = len(frame) - len(deduped)
        deduped = deduped.merge(RUNS, on="run", how="left")
        mismatch = deduped.base_in_file.notna() & (deduped.base_in_file != deduped.base)
        if mismatch.any():
            raise RmnbError(f"{stem}: the file's base column disagrees with the run-name table for "
                            f"{sorted(set(deduped.run[mismatch]))}.")
        filled[stem] = int(deduped.base_in_file.isna().sum())
        deduped.insert(0, "file", stem)
        frames.append(deduped)
    runs = pd.concat(frames, ignore_index=True).merge(FILES, on="file", how="left")
    runs["checkpoint"] = runs.checkpoint.astype(int)
    runs["category"] = pd.Categorical(runs.category, CATEGORIES)
    runs["base"] = pd.Categorical(runs.base, BASES)
    cols = ["file", "pairs_k", "plotted_k", "label", "source", "method", "final_step", "run", "base",
            "base_model_id", "category", "checkpoint", "sum_value", "base_in_file"]
    runs = runs[cols].sort_values(["plotted_k", "file", "base", "category", "checkpoint"]).reset_index(drop=True)
    notes = []
    for stem, first in same.items():
        notes.append(f"rank_results_{stem}.csv is byte-identical to rank_results_{first}.csv (sha256 {shas[stem][:12]}...)")
    if "grm_80k" in stems:
        notes.append("rank_results_grm_80k.csv says data_size 85 and source 'skywork'; the manifest's 550k / "
                     "'uf+skywork' (plotted at 632k) is used, and its all-missing first column X is dropped.")
    return Released(runs=runs, raw_rows=raw_rows, duplicates_dropped=dropped, base_filled=filled,
                    same_file_as=same, sha256=shas, notes=notes)


def final_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Figure 4b / A5b: each run's final-checkpoint median rank per category (one row per file x base x
    category), with the file's labels. The final checkpoint is the largest one in the file."""
    last = runs.groupby(["file", "run"], observed=True).checkpoint.transform("max")
    out = runs[runs.checkpoint == last].drop(columns="base_in_file")
    return out.rename(columns={"checkpoint": "final_checkpoint"}).reset_index(drop=True)


def final_gaps(final: pd.DataFrame, a: str = "Gemma", b: str = "Llama") -> pd.DataFrame:
    """Per file and category at the final checkpoint: ``b - a`` median ranks (negative = ``b`` ranks the
    category better, since rank 1 is best)."""
    wide = final.pivot_table(index=["file", "plotted_k", "label", "source", "method", "category"], columns="base",
                             values="sum_value", observed=True).reset_index()
    if a in wide and b in wide:
        wide["gap"] = wide[b] - wide[a]
    return wide.sort_values(["plotted_k", "file", "category"]).reset_index(drop=True)


def gap_dynamics(runs: pd.DataFrame, a: str = "Gemma", b: str = "Llama") -> pd.DataFrame:
    """Per file, category and checkpoint: each base's median rank and the gap ``b - a``; ``progress`` is the
    checkpoint as a fraction of the run's final step."""
    wide = runs.pivot_table(index=["file", "label", "source", "final_step", "category", "checkpoint"],
                            columns="base", values="sum_value", observed=True).reset_index()
    wide.columns.name = None
    wide = wide.dropna(subset=[c for c in (a, b) if c in wide])
    wide["gap"] = wide[b] - wide[a]
    wide["progress"] = wide.checkpoint / wide.final_step
    return wide.sort_values(["file", "category", "checkpoint"]).reset_index(drop=True)


def stabilisation(dyn: pd.DataFrame, tol: float = 0.1) -> pd.DataFrame:
    """Where the gap stops moving: per file and category, the first checkpoint from which the gap stays within
    ``tol`` x (its range over training) of its final value. ``progress`` = that checkpoint / final step.
    The first released checkpoint is step 1,000 (no step 0 is released), so "largest at the start" means at
    step 1,000."""
    rows = []
    for (stem, cat), g in dyn.groupby(["file", "category"], observed=True):
        g = g.sort_values("checkpoint")
        gaps, final = g.gap.to_numpy(), g.gap.iloc[-1]
        band = tol * (gaps.max() - gaps.min())
        inside = np.abs(gaps - final) <= band + 1e-9
        # first index from which every later checkpoint is inside the band
        first = int(np.argmax([inside[i:].all() for i in range(len(inside))]))
        rows.append(dict(file=stem, category=cat, first_gap=gaps[0], final_gap=final,
                         max_abs_gap=float(np.abs(gaps).max()), largest_at_first=bool(np.abs(gaps[0]) >= np.abs(gaps).max() - 1e-9),
                         stable_from=int(g.checkpoint.iloc[first]), progress=float(g.progress.iloc[first]),
                         n_checkpoints=len(g)))
    return pd.DataFrame(rows)


# --- verdicts the chapter states -------------------------------------------------------------------------------

def better_of(gap: float, a: str = "Gemma", b: str = "Llama") -> str:
    """Which base ranks a category better from the gap ``b - a`` (rank 1 is best): ``b`` when negative, ``a``
    when positive, ``"neither"`` when zero or missing."""
    return b if gap < 0 else a if gap > 0 else "neither"


def sign_persistence(gaps: pd.DataFrame) -> dict:
    """How long the smallest BT run's direction lasts, from :func:`final_gaps` (Figure 4b in words).

    The direction at a size is the pair of signs of the agency and communion gaps (``Llama - Gemma``; a missing
    gap counts as not positive). Returns ``paper_direction`` (the smallest BT size has the paper's direction:
    Llama better on agency, Gemma on communion), ``kept`` (the BT size labels, from the smallest, that keep the
    smallest size's direction without interruption), ``persist_range`` (``"13k to 77k"``, or one label),
    ``flipped_at`` (the first BT size where both signs differ from the smallest's; None if none does) and
    ``grm_same`` (every GRM point keeps the smallest size's direction)."""
    signs = gaps.pivot_table(index=["plotted_k", "label", "method"], columns="category", values="gap",
                             observed=True).gt(0)
    bt = signs.xs("BT", level="method")
    first = bt.iloc[0]
    same = bt.eq(first).all(axis=1)
    flipped = bt.ne(first).all(axis=1)
    kept = [label for _, label in (same if same.all() else same.iloc[: int(same.values.argmin())]).index]
    return {"paper_direction": bool(not first["Agency"] and first["Communion"]), "kept": kept,
            "persist_range": kept[0] if len(kept) == 1 else f"{kept[0]} to {kept[-1]}",
            "flipped_at": flipped[flipped].index[0][1] if flipped.any() else None,
            "grm_same": bool(signs.xs("GRM", level="method").eq(first).all(axis=1).all())}


PAIRS_NEEDED_K = 100  # the paper's "about 100k+ preference pairs to remove the gap", in thousands of pairs


def removal_check(gaps: pd.DataFrame, persist: dict, threshold_k: float = PAIRS_NEEDED_K) -> bool | None:
    """The paper's "about 100k+ pairs remove the Gemma-Llama gap" as a check for ``findings.verdict``, from
    :func:`final_gaps` and :func:`sign_persistence`: ``True`` when both released gaps first change sign at a BT size
    of at least ``threshold_k`` thousand pairs, ``False`` when they change sign at a smaller size or at no released
    size, ``None`` when the smallest size lacks the paper's direction (there is no gap of the paper's to remove)."""
    if not persist["paper_direction"]:
        return None
    if persist["flipped_at"] is None:
        return False
    flipped_k = float(gaps.loc[gaps.label == persist["flipped_at"], "plotted_k"].iloc[0])
    return flipped_k >= threshold_k


def direction_text(paper_direction: bool) -> str:
    """The smallest released size's direction, in words (see :func:`sign_persistence`)."""
    return ("Llama ranks agency better and Gemma communion" if paper_direction else
            "Llama does not rank agency better with Gemma ranking communion better")


def grm_text(grm_same: bool) -> str:
    """Whether the off-the-shelf GRM pair keeps the smallest runs' direction, in words."""
    return ("keeps the direction of the smallest runs" if grm_same else
            "does not keep the direction of the smallest runs")


def category_difference(final: pd.DataFrame, base: str) -> pd.DataFrame:
    """One base's final median ranks per size (index ``plotted_k, label``; columns ``Agency``, ``Communion``) with
    ``agency - communion`` (positive = communion ranked better)."""
    out = final[final.base == base].pivot_table(index=["plotted_k", "label"], columns="category",
                                                 values="sum_value", observed=True)
    out["agency - communion"] = out["Agency"] - out["Communion"]
    return out


def communion_pattern(diff: pd.DataFrame) -> str:
    """From :func:`category_difference`: ``"communion above agency at every data size"`` when communion ranks
    better at every size, else ``"agency above communion at some data sizes"``."""
    return ("communion above agency at every data size" if (diff["agency - communion"] > 0).all()
            else "agency above communion at some data sizes")


def stabilisation_of(stab: pd.DataFrame, file: str) -> pd.DataFrame:
    """One file's rows of :func:`stabilisation`, indexed by category, with ``largest_first_text`` saying whether
    the gap is largest at the first released checkpoint."""
    out = stab[stab.file == file].set_index("category")
    out["largest_first_text"] = out.largest_at_first.map(
        lambda first: "largest at the first released checkpoint" if first
        else "not largest at the first released checkpoint")
    return out


def looser_band_effect(tight: pd.DataFrame, loose: pd.DataFrame) -> str:
    """What a looser stability band changes, per category (``tight``/``loose``: :func:`stabilisation_of` rows with
    two tolerances): e.g. "the looser band declares agency stable earlier and communion at the same step"."""
    parts = []
    for cat in tight.index:
        before, after = int(tight.loc[cat, "stable_from"]), int(loose.loc[cat, "stable_from"])
        when = "earlier" if after < before else "later" if after > before else "at the same step"
        parts.append(f"{str(cat).lower()} stable {when}")
    return "the looser band declares " + " and ".join(parts)
