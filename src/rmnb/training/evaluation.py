"""What each seed of a value-neutral reward model is measured on, kept per seed as small tables.

Chapter 06 asks whether two bases trained on identical value-neutral pairs rank the Big Two differently, over ten
seeds per base. Its analysis needs, per run, only these rows, at step 0 (the run's seeded random head on the
untouched base) and at the final checkpoint:

``token_scores.parquet``  the reward of every vocabulary token whose normalised text is a term of the expanded Big
                          Two list (Figure 4a's rule, :func:`rmnb.inference.vocabulary.matched_vocabulary`), as
                          the one-token answer to "What, in one word, is the greatest thing ever?":
                          ``step, token_id, response, term, category, score``
``noun_scores.parquet``   the reward of each of the 263 Big Two nouns, the whole string as the answer, under each of
                          the paper's 27 positive prompts: ``step, prompt_id, response, score`` (the framing the
                          pre-registered analysis reads; the negative prompts would double the scoring time)
``heldout_scores.parquet`` the held-out pairs' rewards (written by training)

:func:`evaluate` computes them for a finished run (cached in the run folder); :func:`export` writes them, with a
slim manifest (the learning curve kept, the trainer's raw log dropped) and optionally the adapter, to
``data/rms/<id>/seed-<n>/``; :func:`seed_tables` returns a seed's tables: the committed ones when their run key is
the key the code would train now, else the run's own (built, or trained, first). Tables, not adapters, are what
git keeps for most seeds: ten seeds per base cost a few megabytes.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from rmnb.base.errors import RmnbError
from rmnb.data import lexicons, prompts
from rmnb.inference.responses import strings, vocabulary
from rmnb.inference.vocabulary import matched_vocabulary
from rmnb.models import loading
from rmnb.training import committed, trained
from rmnb.training.checkpoint_scores import cached_table, score_prompts
from rmnb.training.reward_model import TrainedRun

TABLES_VERSION = 1                       # bump when what the tables hold changes (then re-export every seed)
TOKENS = "token_scores.parquet"
NOUNS = "noun_scores.parquet"
HELDOUT = committed.SCORES
DROPPED = ("log_history", "installed", "consumed_order")   # manifest keys a committed seed does not keep


@dataclass
class SeedTables:
    """One seed's committed (or freshly computed) tables and manifest."""

    rm_id: str
    seed: int
    manifest: dict
    tokens: pd.DataFrame
    nouns: pd.DataFrame
    pair_scores: pd.DataFrame   # the held-out pairs' rewards at step 0 and the end
    source: str                 # "committed" or "computed here"

    @property
    def base_id(self) -> str:
        return self.manifest["base_id"]

    @property
    def heldout(self) -> dict:
        """Held-out accuracy at step 0 and the end, overall and per framing (as :attr:`TrainedRun.heldout`)."""
        return self.manifest["heldout"]

    @property
    def final_step(self) -> int:
        return int(self.manifest.get("final_step") or self.manifest["plan"]["checkpoint_steps"][-1])


def token_responses(tokenizer) -> tuple:
    """The expanded Big Two tokens of one vocabulary: ``(Responses, matched frame)``."""
    matched = matched_vocabulary(tokenizer, lexicons.big_two_expanded())
    return vocabulary(tokenizer, matched.token_id, name="big-two-expanded"), matched


def noun_responses():
    """The 263 Big Two nouns as string responses."""
    return strings(list(lexicons.big_two_nouns().term), name="big-two")


def evaluate(run: TrainedRun, *, device: str = "auto", refresh: bool = False,
             progress: bool = True) -> dict[str, pd.DataFrame]:
    """The token and noun tables of a finished run at step 0 and its final step (cached in ``<run>/tables/``)."""
    steps = [0, run.checkpoints[-1][0]]
    folder = run.folder / "tables"
    paper = prompts.paper_prompts()
    tokenizer = loading.load_tokenizer(run.manifest["base_id"])
    token_set, matched = token_responses(tokenizer)
    greatest = dict(zip(paper.prompt_id, paper.text))[prompts.GREATEST]

    def tokens() -> pd.DataFrame:
        scored = score_prompts(run, {prompts.GREATEST: greatest}, token_set, steps=steps, device=device,
                               progress=progress)
        out = scored.drop(columns=["prompt_id", "response"]).merge(matched, on="token_id", how="left")
        return _compact(out[["step", "token_id", "response", "term", "category", "score"]])

    def nouns() -> pd.DataFrame:
        positive = paper[paper.framing == "positive"]
        scored = score_prompts(run, dict(zip(positive.prompt_id, positive.text)), noun_responses(), steps=steps,
                               device=device, progress=progress)
        return _compact(scored[["step", "prompt_id", "response", "score"]])

    return {"tokens": cached_table(folder / TOKENS, refresh, tokens),
            "nouns": cached_table(folder / NOUNS, refresh, nouns)}


def _compact(frame: pd.DataFrame) -> pd.DataFrame:
    """Small on disk: float32 scores, integer steps and ids, repeated strings as categories."""
    out = frame.copy()
    out["score"] = out.score.astype(np.float32)
    out["step"] = out.step.astype(np.int32)
    if "token_id" in out:
        out["token_id"] = out.token_id.astype(np.int64)
    for col in ("prompt_id", "term", "category", "response"):
        if col in out:
            out[col] = out[col].astype(str).astype("category")
    return out.reset_index(drop=True)


def slim_manifest(manifest: dict) -> dict:
    """The manifest a committed seed keeps: everything but the trainer's raw log and this machine's install."""
    return {k: v for k, v in manifest.items() if k not in DROPPED} | {"tables_version": TABLES_VERSION}


def export(run: TrainedRun, rm_id: str, *, adapter: bool = False, device: str = "auto",
           progress: bool = True) -> Path:
    """Write a finished run's tables and slim manifest (and, with ``adapter``, its final adapter) to
    ``data/rms/<rm_id>/seed-<n>/``. A run installed from a committed adapter keeps that adapter and its manifest's
    training facts (order check, timings, versions); only the tables are (re)written."""
    tables = evaluate(run, device=device, progress=progress)
    seed = int(run.manifest["settings"]["seed"])
    out = committed.seed_dir(rm_id, seed)
    if "installed" in run.manifest:                 # committed adapter: keep its folder, refresh tables
        manifest = json.loads((out / "manifest.json").read_text())
        keep_adapter = True
    else:
        manifest = committed.export_manifest(run, rm_id, run.folder.name)
        keep_adapter = adapter
    tmp = out.with_name(f"{out.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    if keep_adapter:
        source = out / committed.ADAPTER if "installed" in run.manifest else run.checkpoints[-1][1]
        shutil.copytree(source, tmp / committed.ADAPTER, ignore=shutil.ignore_patterns("README.md"))
    shutil.copy2(_heldout_file(run, rm_id, seed), tmp / HELDOUT)
    for name, frame in ((TOKENS, tables["tokens"]), (NOUNS, tables["nouns"])):
        frame.to_parquet(tmp / name, compression="zstd")
    (tmp / "manifest.json").write_text(json.dumps(slim_manifest(manifest), indent=1))
    if out.exists():
        shutil.rmtree(out)
    os.replace(tmp, out)
    return out


def _heldout_file(run: TrainedRun, rm_id: str, seed: int) -> Path:
    """The held-out pairs' rewards of a run: in its folder, or (a run installed by an older rmnb) in the committed
    seed folder it was installed from."""
    own = run.folder / HELDOUT
    return own if own.exists() else committed.seed_dir(rm_id, seed) / HELDOUT


def committed_tables(rm_id: str, seed: int) -> SeedTables | None:
    """The committed tables of one seed, or ``None`` when there are none or they belong to another run (their run
    key differs from the key of the run the code would train now, or an older table layout)."""
    folder = committed.seed_dir(rm_id, seed)
    path = folder / "manifest.json"
    if not path.exists() or not all((folder / f).exists() for f in (TOKENS, NOUNS, HELDOUT)):
        return None
    manifest = json.loads(path.read_text())
    if manifest.get("tables_version") != TABLES_VERSION or manifest.get("run_key") != trained.plan(rm_id, seed)["run_key"]:
        return None
    return SeedTables(rm_id, seed, manifest, pd.read_parquet(folder / TOKENS), pd.read_parquet(folder / NOUNS),
                      pd.read_parquet(folder / HELDOUT), "committed")


def seed_tables(rm_id: str, seed: int, *, device: str = "auto", refresh: bool = False,
                progress: bool = True) -> SeedTables:
    """One seed's tables: committed ones when they match the current run key (and not ``refresh``), else computed
    from the run (which :func:`rmnb.training.trained.ensure` installs from a committed adapter or trains)."""
    found = None if refresh else committed_tables(rm_id, seed)
    if found is not None:
        return found
    run = trained.ensure(rm_id, seed=seed, refresh=refresh, progress=progress, device=device)
    tables = evaluate(run, device=device, refresh=refresh, progress=progress)
    manifest = (committed.export_manifest(run, rm_id, run.folder.name) if "consumed_order" in run.manifest
                else run.manifest)                      # a trained run proves its order; an installed one says it
    return SeedTables(rm_id, seed, slim_manifest(manifest), tables["tokens"], tables["nouns"],
                      pd.read_parquet(_heldout_file(run, rm_id, seed)), "computed here")


VERIFY_SCORE_TOLERANCE = 1e-4   # |re-scored - committed| reward allowed when an installed adapter is re-scored


def compare_tables(ours: dict[str, pd.DataFrame], theirs: SeedTables) -> dict:
    """How far two runs' tables are apart: the largest absolute score difference per table and the Spearman
    correlation of the final token scores (for ``--verify``, which retrains a seed: training on another CPU
    drifts a little; re-scoring the same adapter does not)."""
    out = {}
    for name, keys in (("tokens", ["step", "token_id"]), ("nouns", ["step", "prompt_id", "response"])):
        mine = ours[name].astype({k: str for k in keys if k != "step"}).set_index(keys).score
        ref = getattr(theirs, name).astype({k: str for k in keys if k != "step"}).set_index(keys).score
        joined = pd.concat([mine.rename("a"), ref.rename("b")], axis=1, join="inner")
        if len(joined) != len(ref):
            raise RmnbError(f"the {name} tables do not cover the same rows ({len(joined)} shared of {len(ref)}).")
        out[f"max_diff_{name}"] = float((joined.a - joined.b).abs().max())
        final = joined.xs(theirs.final_step, level="step")
        out[f"spearman_{name}"] = float(final.a.rank().corr(final.b.rank()))
    return out
