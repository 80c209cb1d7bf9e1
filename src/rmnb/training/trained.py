"""Building the reward models rmnb trains (registry entries with a :class:`~rmnb.models.registry.TrainingRecipe`),
such as the embedded RMs:

===========================  ==========================  =====================================================
registry id                  base                        what it is
===========================  ==========================  =====================================================
``smollm2-135m-valence-rm``  ``smollm2-135m-instruct``   the embedded RM: value-neutral AFINN pairs, ``valence``
``gemma3-270m-valence-rm``   ``gemma3-270m``             preset; committed adapters under ``data/rms/``
``smollm2-135m-hh-rm``       ``smollm2-135m-instruct``   HH-RLHF harmless-base pairs, ``cpu`` preset
``gemma3-270m-hh-rm``        ``gemma3-270m``             (chapter 06's optional dialogue-data run)
===========================  ==========================  =====================================================

The two RMs of a pair are trained by :func:`rmnb.training.reward_model.train` with the same preset on the same
pairs (same split, same order, same seed), so they differ only in the base model. Each is built on first use into
the user cache, under a key that hashes the base and its revision, the settings, the data and the training-code
version: ``<cache>/rms/<id>/<key>/`` with ``model/`` (a plain sequence classifier), ``checkpoints/`` and
``manifest.json``. When ``data/rms/<id>/seed-<n>/`` holds a committed adapter with the same key, building means
installing and verifying it (:mod:`rmnb.training.committed`, seconds), else training (minutes). :func:`ensure`
also records the run in ``<cache>/rms/<id>/built.json``, which is all :mod:`rmnb.models.loading` reads to load the
id: loading never trains. The layers that need a trained RM call :func:`ensure` (or :func:`ensure_built`) first.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from rmnb.base.errors import RmnbError
from rmnb.base.paths import cache_dir
from rmnb.base.provenance import slug
from rmnb.data import preferences, valence
from rmnb.data.store import write_json_atomic
from rmnb.models import loading, registry
from rmnb.training import committed, recipe, reward_model

CURVE_PAIRS = 128   # held-out pairs scored at every checkpoint for the learning curve (valence runs)


def settings_for(preset: str = "cpu", **overrides) -> recipe.TrainSettings:
    """Training settings: a preset of :mod:`rmnb.training.recipe` with overrides (``None`` = keep the
    preset's)."""
    return recipe.preset(preset, **overrides)


SOURCES = ("hh-rlhf", "skywork", "unified-feedback", valence.SOURCE_NAME)


def data_for(settings, source="hh-rlhf", step: int | None = None) -> preferences.PreferenceData:
    """The preference pairs a run trains on, limited to ``settings.max_chars`` characters (a length limit on the
    data, not on tokens, so every base gets the same pairs). ``source``: ``"hh-rlhf"`` (offline default),
    ``"afinn-valence"`` (the value-neutral training pairs of :mod:`rmnb.data.valence`, seed 1, offline),
    ``"skywork"``, ``"unified-feedback"`` or a Hub dataset id ``owner/name`` (these need the Hub; ``step`` keeps
    every k-th row), or the pairs themselves. Any other name is an error listing the valid ones."""
    if isinstance(source, preferences.PreferenceData):
        return preferences.limit_chars(source, settings.max_chars)
    if not isinstance(source, str):
        raise RmnbError(f"data source {source!r} is neither a name nor PreferenceData. Fix: use one of "
                        f"{', '.join(SOURCES)}, a Hub dataset id 'owner/name', or a PreferenceData.")
    if source in ("hh-rlhf", "hh_rlhf"):
        return preferences.hh_rlhf(max_chars=settings.max_chars)
    if source == valence.SOURCE_NAME:
        return preferences.limit_chars(valence.valence_preferences(), settings.max_chars)
    return preferences.limit_chars(preferences.load(source, step=step), settings.max_chars)


def heldout_for(source) -> preferences.PreferenceData | None:
    """The separate held-out pairs of a data source that has them (the valence pairs: new prompts x new words);
    ``None`` for the others, whose held-out pairs are a split of the data (:func:`~rmnb.training.recipe.split_for`)."""
    return valence.valence_preferences(part="heldout") if source == valence.SOURCE_NAME else None


def run_key(base_id: str, settings, data) -> str:
    """The content key of a run: base and its revision, settings (incl. training-code version), data."""
    payload = json.dumps({"base": base_id, "revision": loading.static_revision(base_id),
                          "settings": settings.key(), "data": data.fingerprint(),
                          "training_version": recipe.TRAINING_VERSION}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def _name(base_id: str, preset: str) -> str:
    """The cache folder of an unnamed run: the registered RM with this base and preset, else ``<base>-rm``."""
    for rm in registry.TRAINED_RMS.values():
        if rm.base_id == base_id and rm.preset == preset:
            return rm.id
    return slug(Path(base_id).name) + "-rm"


def run_dir(base_id: str, settings, data, name: str | None = None) -> Path:
    return cache_dir("rms", name or _name(base_id, settings.preset)) / run_key(base_id, settings, data)


def train_or_load(base_id: str, settings=None, *, data=None, heldout=None, refresh: bool = False,
                  progress: bool = True, device: str = "auto", name: str | None = None,
                  curve_pairs: int = CURVE_PAIRS) -> reward_model.TrainedRun:
    """The finished run for (base, settings, data): read from the cache, installed from a committed adapter
    (:mod:`rmnb.training.committed`, when one matches the run key), or trained now and cached.

    Same settings and data for two bases give the same split, pair order and seeds (see
    :mod:`rmnb.training.reward_model`). ``heldout``: a separate held-out set (:func:`heldout_for`).
    """
    settings = settings or settings_for("cpu")
    data = data if data is not None else data_for(settings)
    folder = run_dir(base_id, settings, data, name)
    if (folder / "manifest.json").exists() and not refresh:
        return reward_model.TrainedRun.load(folder)
    source = committed.find(name, folder.name) if name and not refresh else None  # folder name = run key
    if source is not None:
        return committed.install(source, base_id, settings, data, heldout, folder, device=device, progress=progress)
    if progress:
        print(f"[rmnb] training a reward model on {base_id} ({settings.preset} preset, {len(data)} pairs "
              f"available) into {folder}", flush=True)
    return reward_model.train(base_id, data, settings, folder, device=device, progress=progress, heldout=heldout,
                              curve_pairs=curve_pairs if heldout is not None else 0)


def _recipe(rm_id: str) -> registry.TrainingRecipe:
    rm = registry.trained_recipe(rm_id)
    if rm is None:
        raise RmnbError(f"{rm_id!r} is not an rmnb-trained reward model; known: {', '.join(registry.TRAINED_RMS)}")
    return rm


def recipe_settings(rm_id: str, seed: int | None = None):
    """The training settings of an rmnb-trained reward model (``seed``: another seed of the same recipe)."""
    rm = _recipe(rm_id)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 1):
        raise RmnbError(f"seed={seed!r} is not valid: seeds are integers >= 1. Fix: pass 1, 2, 3, ...")
    return settings_for(rm.preset, **{**rm.overrides, "seed": seed})


def plan(rm_id: str, seed: int | None = None) -> dict:
    """What a run of ``rm_id`` (with ``seed``) is, without training: base, run key, settings and data
    fingerprints (what a committed manifest records; ``rmnb train-embedded --dry-run`` prints it)."""
    rm = _recipe(rm_id)
    settings = recipe_settings(rm_id, seed)
    data, heldout = data_for(settings, rm.data), heldout_for(rm.data)
    train_pairs, held_pairs = recipe.split_for(data, settings, heldout)
    return {"id": rm.id, "base_id": rm.base_id, "base_revision": loading.static_revision(rm.base_id),
            "seed": settings.seed, "run_key": run_key(rm.base_id, settings, data), "settings": settings.as_dict(),
            "settings_key": settings.key(), "training_version": recipe.TRAINING_VERSION,
            "data_fingerprint": data.fingerprint(), "train_fingerprint": train_pairs.fingerprint(),
            "heldout_fingerprint": held_pairs.fingerprint()}


def ensure(rm_id: str, *, seed: int | None = None, overrides: dict | None = None, variant: str | None = None,
           refresh: bool = False, progress: bool = True, device: str = "auto"):
    """The training run behind an rmnb-trained reward model, built on first use (from its committed adapter when
    there is one, else trained), and recorded as the run that loading ``rm_id`` reads. ``seed``: another seed
    of the same recipe (built, not recorded: loading ``rm_id`` stays the recipe's own seed). ``overrides``:
    settings changed from the recipe (a variant such as a lever of ``benchmarks/archive/recipe/levers.py``),
    cached under ``<id>-<variant>`` and never recorded as ``rm_id``."""
    rm = _recipe(rm_id)
    if overrides and not variant:
        raise RmnbError(f"a variant of {rm_id} ({overrides}) needs a name for its cache folder. Fix: pass variant=.")
    settings = recipe_settings(rm_id, seed).with_overrides(**(overrides or {}))
    run = train_or_load(rm.base_id, settings, data=data_for(settings, rm.data), heldout=heldout_for(rm.data),
                        refresh=refresh, progress=progress, device=device,
                        name=f"{rm.id}-{variant}" if variant else rm.id)
    if variant or (seed is not None and seed != settings_for(rm.preset, **rm.overrides).seed):
        return run
    pointer = cache_dir("rms", rm.id) / loading.BUILT_FILE
    record = {"run": run.folder.name, "base_id": rm.base_id}
    if not pointer.exists() or json.loads(pointer.read_text()) != record:
        write_json_atomic(pointer, record)
    return run


def ensure_built(model_id: str, **kwargs) -> None:
    """Build ``model_id`` first if it is an rmnb-trained reward model (:func:`ensure`); any other id: nothing."""
    if registry.trained_recipe(model_id) is not None:
        ensure(model_id, **kwargs)


def folder(rm_id: str, **kwargs) -> Path:
    """The saved model folder of an rmnb-trained reward model (trained now if absent)."""
    return ensure(rm_id, **kwargs).model_dir


def is_built(rm_id: str, seed: int | None = None) -> bool:
    """Whether the reward model is already in the cache (no training needed)."""
    rm = _recipe(rm_id)
    settings = recipe_settings(rm_id, seed)
    return (run_dir(rm.base_id, settings, data_for(settings, rm.data), rm.id) / "manifest.json").exists()


def load(rm_id: str, *, device: str = "auto", dtype: str | None = None, progress: bool = True):
    """An rmnb-trained reward model as a ``LoadedModel`` (built on first use), with its registry entry attached."""
    run = ensure(rm_id, progress=progress, device=device)  # trains now (with a progress bar) if absent
    loaded = loading.load_model(rm_id, kind="reward", device=device, dtype=dtype)
    loaded.notes.append(f"trained run: {run.folder}")
    return loaded
