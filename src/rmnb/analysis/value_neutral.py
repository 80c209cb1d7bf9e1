"""Chapter 06's controlled experiment: reward models trained on value-neutral pairs (:mod:`rmnb.data.valence`),
several seeds per base. Held-out accuracy per framing against a floor, learning curves, and the between-base
Big Two gap per category with a seed-level interval, beside the same statistic for the random head at step 0.

**The gap.** For a seed and a checkpoint, each base's RM ranks the matched Big Two tokens (median rank per category,
:func:`rmnb.analysis.checkpoints.checkpoint_median_ranks`); the gap of a category is the median rank under the first
base minus the median rank under the second, so a positive gap means the *second* base's RM ranks the category
better (rank 1 = best). Over seeds: the mean and a two-sided t interval (:func:`seed_interval`).

**The paper's direction.** The paper's Gemma RMs rank communion better and its Llama RMs agency
(:data:`PAPER_FAVOURS`). With one base of the Gemma family, the paper's direction for a category is the sign of the
gap that puts the Gemma base on communion's side and the other on agency's (:func:`paper_sign`).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats as sps

from rmnb.base.errors import RmnbError

# The floor and goal of a trained value-neutral RM (design constants: below the floor the book does not call an RM
# trained). Held-out pairs = new prompts x new words.
FLOOR = {"overall": 0.80, "framing": 0.70, "p": 1e-6}
GOAL = {"overall": 0.85, "rho": -0.3}
PAPER_FAVOURS = {"Gemma": "Communion", "Llama": "Agency"}
CATEGORIES = ("Agency", "Communion")
LEVEL = 0.95


def accuracy_rows(runs: dict, labels: dict) -> pd.DataFrame:
    """Held-out accuracy of every run, overall and per framing, at step 0 and at the end: ``base, base_label,
    seed, when, framing, accuracy, ci_low, ci_high, p_vs_chance, n``. ``runs``: ``{(base, seed): TrainedRun}``."""
    rows = []
    for (base, seed), run in runs.items():
        held = run.heldout
        for when in ("step0", "final"):
            parts = {"all": held[when], **held.get("by_framing", {}).get(when, {})}
            for framing, s in parts.items():
                rows.append(dict(base=base, base_label=labels.get(base, base), seed=seed, when=when,
                                 framing=framing, accuracy=s["accuracy"], ci_low=s["ci_low"], ci_high=s["ci_high"],
                                 p_vs_chance=s["p_vs_chance"], n=s["n"]))
    return pd.DataFrame(rows)


def floor_check(rows: pd.DataFrame, floor: dict = FLOOR) -> dict:
    """Whether one run's final held-out accuracy (``rows`` of :func:`accuracy_rows` for one base and seed) meets
    the floor: overall >= floor, each framing >= its floor, binomial p < floor p. Returns the values, ``passed``
    and a sentence."""
    final = rows[rows.when == "final"].set_index("framing")
    overall = final.loc["all"]
    framings = {f: float(final.loc[f, "accuracy"]) for f in final.index if f != "all"}
    checks = {"overall": overall.accuracy >= floor["overall"], "p": overall.p_vs_chance < floor["p"],
              **{f: a >= floor["framing"] for f, a in framings.items()}}
    passed = bool(all(checks.values())) and bool(framings)
    shown = ", ".join(f"{f} {a:.2f}" for f, a in framings.items())
    sentence = (f"{'trained' if passed else 'NOT trained (below the floor)'}: held-out accuracy "
                f"{overall.accuracy:.2f} overall ({shown}; binomial p = {overall.p_vs_chance:.1g}); the floor is "
                f"{floor['overall']:.2f} overall, {floor['framing']:.2f} per framing, p < {floor['p']:.0e}")
    return dict(passed=passed, overall=float(overall.accuracy), p=float(overall.p_vs_chance), **framings,
                checks={k: bool(v) for k, v in checks.items()}, sentence=sentence)


def curves(runs: dict, labels: dict) -> pd.DataFrame:
    """The learning curves recorded during training, long: ``base, base_label, seed, step, pairs_seen,
    training_words_seen, framing, accuracy`` (framing ``all``, ``positive``, ``negative``)."""
    frames = []
    for (base, seed), run in runs.items():
        curve = pd.DataFrame(run.manifest.get("curve") or [])
        if curve.empty:
            continue
        cols = {c: c.removeprefix("accuracy_") or "all" for c in curve if c.startswith("accuracy")}
        cols["accuracy"] = "all"
        ids = [c for c in ("step", "pairs_seen", "training_words_seen") if c in curve]
        long = curve.rename(columns=cols).melt(id_vars=ids, value_vars=list(dict.fromkeys(cols.values())),
                                               var_name="framing", value_name="accuracy")
        frames.append(long.assign(base=base, base_label=labels.get(base, base), seed=seed))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def live_verdict(live_rows: pd.DataFrame, curve: pd.DataFrame, base: str, steps: int, alpha: float = 0.05) -> str:
    """A verdict on a short live run of ``steps`` steps (``live_rows``: :func:`accuracy_rows` of that run): above
    chance at its end (binomial p < ``alpha`` and better than at step 0) or not; if not, when the committed runs of
    the same base (``curve``, :func:`curves`) first reached the floor, so the reader sees how far short it stops."""
    final = live_rows[(live_rows.when == "final") & (live_rows.framing == "all")].iloc[0]
    start = live_rows[(live_rows.when == "step0") & (live_rows.framing == "all")].iloc[0]
    if final.p_vs_chance < alpha and final.accuracy > max(0.5, start.accuracy):
        return f"above chance (binomial p = {final.p_vs_chance:.1g})"
    sentence = f"not above chance (binomial p = {final.p_vs_chance:.2f})"
    if curve.empty:
        return sentence
    own = curve[(curve.base == base) & (curve.framing == "all")]
    reached = own[own.accuracy >= FLOOR["overall"]].groupby("seed").step.min()
    if reached.empty:
        return sentence
    span = (f"step {reached.min()}" if reached.min() == reached.max()
            else f"steps {reached.min()}-{reached.max()}")
    return (f"{sentence}; {steps} steps do not move held-out accuracy: the committed runs of this base first "
            f"reach the floor's {FLOOR['overall']:.2f} on the curve sample at {span}")


def seed_interval(values, level: float = LEVEL) -> dict:
    """Mean over seeds with a two-sided t interval (``n - 1`` degrees of freedom): ``mean, low, high, n, sd``.
    One seed gives no interval (``low`` and ``high`` are NaN)."""
    x = np.asarray(list(values), dtype=float)
    if x.size == 0 or not np.isfinite(x).all():
        raise RmnbError(f"seed_interval needs finite values from at least one seed; got {list(x)}.")
    n, mean = x.size, float(x.mean())
    if n == 1:
        return dict(mean=mean, low=math.nan, high=math.nan, n=1, sd=math.nan)
    sd = float(x.std(ddof=1))
    half = float(sps.t.ppf(0.5 + level / 2, n - 1)) * sd / math.sqrt(n)
    return dict(mean=mean, low=mean - half, high=mean + half, n=n, sd=sd)


def seed_gaps(med: pd.DataFrame, base_ids) -> pd.DataFrame:
    """Per seed, checkpoint (``when``) and category: the median rank under each base and the gap (first minus
    second). ``med``: median ranks with ``base, seed, when, category, median_rank``."""
    b1, b2 = base_ids
    wide = med.pivot_table(index=["seed", "when", "category"], columns="base", values="median_rank",
                           observed=True).reset_index()
    wide["gap"] = wide[b1] - wide[b2]
    return wide.rename(columns={b1: "rank_first", b2: "rank_second"})


def paper_sign(category: str, families: tuple[str, str]) -> int | None:
    """The sign the paper's finding predicts for the gap (first minus second base) of ``category``: +1 when the
    second base's RM should rank it better. ``None`` unless exactly one of the two bases is of the Gemma family."""
    gemma = [f == "Gemma" for f in families]
    if sum(gemma) != 1:
        return None
    second_is_gemma = gemma[1]
    favours_gemma = PAPER_FAVOURS["Gemma"] == category
    return 1 if favours_gemma == second_is_gemma else -1


def gap_verdict(low: float, high: float, sign: int | None) -> str:
    """"same direction as the paper" / "opposite to the paper" when the seed interval excludes zero,
    "within seed noise" when it contains zero, "one seed: no interval" without one, "no paper direction" when
    :func:`paper_sign` gives none."""
    if sign is None:
        return "no paper direction (the pair is not one Gemma base and one other)"
    if math.isnan(low) or math.isnan(high):
        return "one seed: no interval"
    if low <= 0 <= high:
        return "within seed noise"
    return "same direction as the paper" if (low > 0) == (sign > 0) else "opposite to the paper"


def gap_summary(gaps: pd.DataFrame, families: tuple[str, str], level: float = LEVEL) -> pd.DataFrame:
    """Per ``when`` (step0, final) and category: the seed mean of the gap, its interval, the seeds' gaps and the
    verdict against the paper's direction."""
    rows = []
    for (when, cat), g in gaps.groupby(["when", "category"], observed=True, sort=True):
        iv = seed_interval(g.gap, level)
        sign = paper_sign(str(cat), families)
        rows.append(dict(when=when, category=str(cat), mean_gap=iv["mean"], low=iv["low"], high=iv["high"],
                         n_seeds=iv["n"], seed_gaps=", ".join(f"{v:+.0f}" for v in g.sort_values("seed").gap),
                         paper_sign=sign, verdict=gap_verdict(iv["low"], iv["high"], sign)))
    return pd.DataFrame(rows)


def trained_pair(rms) -> list[tuple[str, str]]:
    """``[(rm id, base id), ...]`` for a pair of rmnb-trained reward models (a list of two ids, or one
    comma-separated string); an error naming the fix for anything else."""
    from rmnb.models import registry

    ids = [r.strip() for r in (rms.split(",") if isinstance(rms, str) else rms) if str(r).strip()]
    if len(ids) != 2 or ids[0] == ids[1]:
        raise RmnbError(f"rms={rms!r}: give exactly two different reward models rmnb trains. Fix: "
                        "`-p \"rms=[smollm2-135m-valence-rm, gemma3-270m-valence-rm]\"`.")
    unknown = [r for r in ids if registry.trained_recipe(r) is None]
    if unknown:
        raise RmnbError(f"{unknown} are not reward models rmnb trains (known: {', '.join(registry.TRAINED_RMS)}). "
                        "Fix: pick two of those, or register your own with rmnb.models.registry.register_trained.")
    return [(r, registry.trained_recipe(r).base_id) for r in ids]


def identical_checks(first: dict, second: dict) -> dict[str, bool]:
    """Whether two runs' manifests record the same settings, data (fingerprints of all, training and held-out
    pairs) and training plan (steps, batch, seed, the training data's fingerprint), and whether each consumed the
    pairs in the planned order."""
    def plan(m):
        return {k: v for k, v in m["plan"].items() if k not in ("order", "checkpoint_steps")}

    def in_order(m):
        return m.get("order_matches_plan", m.get("consumed_order") == m["plan"].get("order"))

    return {"settings": first["settings"] == second["settings"], "data": first["data"] == second["data"],
            "plan": plan(first) == plan(second), "consumed in the planned order": in_order(first) and in_order(second)}


def run_source(run) -> str:
    """How a run got into the cache: installed from a committed adapter (and how it was verified) or trained."""
    installed = run.manifest.get("installed")
    if not installed:
        return "trained on this machine"
    if "max_margin_diff" in installed:
        return (f"committed adapter, verified: {installed['pairs']} held-out margins reproduced (largest difference "
                f"{installed['max_margin_diff']:.1e})")
    return (f"committed adapter, verified: held-out accuracy {installed['accuracy']:.3f} vs "
            f"{installed['committed_accuracy']:.3f}")


def trained_status(model_ids, labels: dict | None = None) -> str:
    """One sentence on the rmnb-trained reward models among ``model_ids``: for each value-neutral RM whether it
    meets the floor on its held-out pairs (from its run's manifest), for other trained RMs their held-out accuracy;
    models rmnb does not train are skipped. Builds nothing new (the search has already built them)."""
    from rmnb.models import registry
    from rmnb.training import trained

    parts = []
    for model_id in model_ids:
        if registry.trained_recipe(model_id) is None:
            continue
        run = trained.ensure(model_id, progress=False)
        name = (labels or {}).get(model_id, model_id)
        rows = accuracy_rows({(model_id, run.settings.seed): run}, {})
        if set(rows.framing) >= {"positive", "negative"}:
            parts.append(f"{name} is {floor_check(rows[rows.base == model_id])['sentence']}")
        else:
            final = run.heldout["final"]
            parts.append(f"{name} reaches held-out accuracy {final['accuracy']:.2f} (95% CI {final['ci_low']:.2f} to "
                         f"{final['ci_high']:.2f}) on its own data")
    return "; ".join(parts) + "." if parts else "No searched model is a reward model rmnb trains."


def floor_rows(acc: pd.DataFrame, labels: dict) -> pd.DataFrame:
    """One row per run: ``base, base_label, seed, overall, positive, negative, p, passed`` (:func:`floor_check` of
    each run's final held-out accuracy)."""
    rows = []
    for (base, seed), g in acc.groupby(["base", "seed"], sort=True):
        check = floor_check(g)
        rows.append(dict(base=base, base_label=labels.get(base, base), seed=seed, overall=check["overall"],
                         positive=check.get("positive", math.nan), negative=check.get("negative", math.nan),
                         p=check["p"], passed=check["passed"]))
    return pd.DataFrame(rows)


def floor_summary(rows: pd.DataFrame) -> str:
    """"all 20 RMs pass the floor" or "18 of 20 RMs pass the floor; below it: SmolLM2 seed 7 (0.78), ..."
    (failures are reported, never dropped)."""
    failed = rows[~rows.passed]
    if failed.empty:
        return f"all {len(rows)} RMs pass the held-out floor"
    named = ", ".join(f"{r.base_label} seed {r.seed} ({r.overall:.2f})" for r in failed.itertuples())
    return f"{len(rows) - len(failed)} of {len(rows)} RMs pass the held-out floor; below it: {named}"


def floor_by_base(rows: pd.DataFrame) -> pd.DataFrame:
    """:func:`floor_rows` per base, for readers: ``base, seeds, above the floor`` ("10 of 10"), the lowest, median
    and highest overall held-out accuracy over the seeds."""
    out = []
    for label, g in rows.groupby("base_label", sort=False):
        out.append({"base": label, "seeds": len(g), "above the floor": f"{int(g.passed.sum())} of {len(g)}",
                    "lowest": g.overall.min(), "median": g.overall.median(), "highest": g.overall.max()})
    return pd.DataFrame(out)


def table_median_ranks(tables: dict, keep: set | None = None, max_tokens: int | None = None) -> pd.DataFrame:
    """Figure 4a's median ranks from per-seed token tables (``{(base, seed): SeedTables}``, step 0 and the end),
    over the tokens whose decoded text is in ``keep`` (``None``: all; the pair's shared strings by default in
    chapter 06) and, with ``max_tokens``, an evenly spaced subset (smoke runs): ``base, seed, when, step,
    category, median_rank, n_tokens``."""
    from rmnb.analysis.checkpoints import checkpoint_median_ranks
    from rmnb.inference.vocabulary import spaced_subset

    frames = []
    for (base, seed), t in tables.items():
        tokens = t.tokens.astype({"response": str, "category": str})
        matched = tokens[tokens.step == 0][["token_id", "response", "term", "category"]]
        if keep is not None:
            matched = matched[matched.response.isin(keep)]
        matched = spaced_subset(matched, max_tokens)
        med = checkpoint_median_ranks(tokens[["step", "token_id", "score"]], matched)
        frames.append(med.assign(base=base, seed=seed, when=med.step.map({0: "step0", t.final_step: "final"})))
    return pd.concat(frames, ignore_index=True)


LIVE_LR_FACTOR = 4      # design constant: the live run's learning rates are this multiple of the recipe's peak rates
LIVE_HELDOUT = 128      # held-out pairs the live run is tested on
LIVE_CURVE_PAIRS = 64   # of which the live run's learning curve reads this many at each checkpoint


def live_run(rm_id: str, steps: int, *, refresh: bool = False, device: str = "auto"):
    """The chapter's short live run of ``rm_id``'s recipe: the same data, ``steps`` optimizer steps at
    :data:`LIVE_LR_FACTOR` times the recipe's peak learning rates, held constant (so that a dozen steps move the
    weights at all), a checkpoint every quarter of the run, :data:`LIVE_HELDOUT` held-out pairs. Cached as
    ``<rm_id>-live``. Returns ``(run, seconds, sentence)``: the sentence says whether it trained here or was read
    from the cache."""
    import time

    from rmnb.data import valence
    from rmnb.models import registry
    from rmnb.training import trained

    vs = trained.recipe_settings(rm_id)
    settings = vs.with_overrides(n_train=steps * vs.effective_batch, epochs=1, heldout=LIVE_HELDOUT,
                                 checkpoint_every=max(1, steps // 4), learning_rate=vs.learning_rate * LIVE_LR_FACTOR,
                                 head_lr=(vs.head_lr or vs.learning_rate) * LIVE_LR_FACTOR, lr_scheduler="constant",
                                 warmup_ratio=0.0)
    t0 = time.time()
    run = trained.train_or_load(registry.trained_recipe(rm_id).base_id, settings,
                                data=trained.data_for(vs, valence.SOURCE_NAME),
                                heldout=trained.heldout_for(valence.SOURCE_NAME), refresh=refresh, device=device,
                                name=f"{rm_id}-live", curve_pairs=LIVE_CURVE_PAIRS, progress=False)
    wall = time.time() - t0
    trained_s = run.manifest["timings_s"]["total"]
    sentence = (f"took {wall:.0f} s here" if wall > trained_s / 2 else
                f"was read from the cache here ({wall:.1f} s; it trained in {trained_s:.0f} s)")
    return run, wall, sentence


def install_sentence(runs: dict, labels: dict) -> str:
    """How the embedded RMs got into the cache, one clause each (:func:`run_source`)."""
    return "; ".join(f"{labels.get(b, b)}: {run_source(r)}" for b, r in runs.items())


def live_accuracy_sentence(live_rows: pd.DataFrame, curve: pd.DataFrame, base: str, steps: int) -> str:
    """The live run's held-out accuracy at step 0 and at its end, with :func:`live_verdict`."""
    shown = live_rows[live_rows.framing == "all"].set_index("when").accuracy
    return (f"{shown['step0']:.2f} at step 0 and {shown['final']:.2f} after {steps} steps, "
            f"{live_verdict(live_rows, curve, base, steps)}")


def movers_sentence(changes: dict, labels: dict) -> str:
    """Figure 5 in one sentence per base: the biggest climbers and fallers, and how many climbers are agency
    nouns (:func:`rmnb.analysis.checkpoints.mover_summary`)."""
    from rmnb.analysis.checkpoints import mover_summary

    parts = []
    for base, ch in changes.items():
        m = mover_summary(ch)
        parts.append(f"under the {labels.get(base, base)} RM ({m['n_nouns']} nouns ranked) the biggest climbers are "
                     f"{m['top_up']} ({m['up_agency']} agency nouns among its top {m['n_up']}) and the biggest "
                     f"fallers {m['top_down']}")
    text = "; ".join(parts)
    return text[0].upper() + text[1:] + "."


def hh_section(bases, preset: str, data_source: str, data_step, n_train, n_heldout, checkpoint_every, seed, *,
               refresh: bool = False, device: str = "auto"):
    """The optional dialogue-data run: two bases trained on the same HH-RLHF (or other) pairs with ``preset``.
    Returns ``(runs, accuracy table, Markdown summary)``."""
    from rmnb.analysis.checkpoints import chance_verdict, heldout_table, identical_word, manifest_checks
    from rmnb.models import registry
    from rmnb.training import recipe, trained

    ids = [b.strip() for b in (bases.split(",") if isinstance(bases, str) else bases) if b.strip()]
    labels = {b: registry.REGISTRY[b].label if b in registry.REGISTRY else b for b in ids}
    settings = recipe.preset(preset, n_train=n_train, heldout=n_heldout, checkpoint_every=checkpoint_every,
                             seed=seed)
    data = trained.data_for(settings, data_source, step=data_step)
    runs = {b: trained.train_or_load(b, settings, data=data, refresh=refresh, device=device, progress=False)
            for b in ids}
    acc = heldout_table(runs, labels).assign(family=lambda f: f.base.map(registry.family_of))
    checks = manifest_checks(*(runs[b].manifest for b in ids))
    lines = [f"- {labels[b]}: held-out accuracy {r.heldout['step0']['accuracy']:.2f} at step 0, "
             f"{r.heldout['final']['accuracy']:.2f} at the end (95% CI {r.heldout['final']['ci_low']:.2f} to "
             f"{r.heldout['final']['ci_high']:.2f}: "
             f"{chance_verdict(r.heldout['final']['ci_low'], r.heldout['final']['ci_high'])})"
             for b, r in runs.items()]
    text = (f"On {len(data)} {data.name} pairs, plan, order, settings and data are {identical_word(checks)} for the "
            "two bases.\n\n" + "\n".join(lines))
    return runs, acc, text


def noun_rank_changes(tables, nouns: pd.DataFrame) -> pd.DataFrame:
    """Figure 5's rank changes of one seed's RM, from step 0 to its final step, read from its token table
    (:func:`rmnb.analysis.checkpoints.noun_ranks` and :func:`~rmnb.analysis.checkpoints.rank_changes`)."""
    from rmnb.analysis.checkpoints import noun_ranks, rank_changes

    scores = tables.tokens[["step", "token_id", "response", "score"]].astype({"response": str})
    return rank_changes(noun_ranks(scores, nouns), 0, tables.final_step)
