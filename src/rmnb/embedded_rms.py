"""The embedded reward models: the CPU training preset applied to each embedded base, on identical data.

=========================  ==========================  =========================================================
registry id                base                        what it is
=========================  ==========================  =========================================================
``smollm2-135m-hh-rm``     ``smollm2-135m-instruct``   SmolLM2-135M-Instruct + LoRA + score head, BT-trained
``gemma3-270m-hh-rm``      ``gemma3-270m``             Gemma 3 270M (pretrained) + LoRA + score head, BT-trained
=========================  ==========================  =========================================================

Both are trained by :func:`rmnb.training.train` with the ``"cpu"`` preset on the same HH-RLHF harmless-base pairs
(same split, same order, same seed), so they differ only in the base model. They are the default reward models for
live scoring on a CPU. Each is built on first use (a few minutes on a laptop, with a progress bar) into the user
cache, under a key that hashes the base and its revision, the settings, the data and the training-code version:
``<cache>/rms/<id>/<key>/`` with ``model/`` (a plain sequence classifier), ``checkpoints/`` and ``manifest.json``.

Importing this module registers the two ids in :mod:`rmnb.registry` (metadata only; nothing is trained until a
model is asked for). Load one with :func:`load` (``LoadedModel``, as :func:`rmnb.models.load_model` returns), or
get its folder with :func:`folder` and pass that to any loader.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from rmnb.registry import GEMMA_TURN_TEMPLATE, ModelSpec, register


@dataclass(frozen=True)
class TrainedRM:
    """How an rmnb-trained reward model is made: base, preference data (a source name or the pairs themselves)
    and training preset with optional overrides."""

    id: str
    base_id: str
    data: object = "hh-rlhf"
    preset: str = "cpu"
    overrides: dict = field(default_factory=dict)


EMBEDDED_RMS: dict[str, TrainedRM] = {
    "smollm2-135m-hh-rm": TrainedRM("smollm2-135m-hh-rm", "smollm2-135m-instruct"),
    "gemma3-270m-hh-rm": TrainedRM("gemma3-270m-hh-rm", "gemma3-270m"),
}

_NOTE = ("Trained by rmnb (chapter 05): the CPU preset of rmnb.training (Bradley-Terry loss, LoRA on the top "
         "attention layers plus the score head) on Anthropic HH-RLHF harmless-base pairs; built on first use.")

SPECS: tuple[ModelSpec, ...] = (
    ModelSpec(id="smollm2-135m-hh-rm", kind="reward", family="SmolLM", nickname="SmolLM2-135M-HH-RM", size="135M",
              variant="reward", dtype="float32", stand_in=True, batch_size=128,
              notes=_NOTE + " Base: SmolLM2-135M-Instruct (ChatML template)."),
    ModelSpec(id="gemma3-270m-hh-rm", kind="reward", family="Gemma", nickname="Gemma-3-270M-HH-RM", size="270M",
              variant="reward", dtype="float32", stand_in=True, chat_template=GEMMA_TURN_TEMPLATE, batch_size=128,
              notes=_NOTE + " Base: Gemma 3 270M pretrained; rmnb supplies Gemma's turn template."),
)

for _spec in SPECS:
    register(_spec)


def settings_for(preset: str = "cpu", **overrides):
    """Training settings: a preset of :mod:`rmnb.training` with overrides (``None`` = keep the preset's)."""
    from rmnb import training

    return training.preset(preset, **overrides)


def data_for(settings, source="hh-rlhf", step: int | None = None):
    """The preference pairs a run trains on, limited to ``settings.max_chars`` characters (a length limit on the
    data, not on tokens, so every base gets the same pairs). ``source``: ``"hh-rlhf"`` (offline default),
    ``"skywork"``, ``"unified-feedback"`` or a Hub dataset id (these need the Hub; ``step`` keeps every k-th row),
    or the pairs themselves."""
    from rmnb import preferences

    if isinstance(source, preferences.PreferenceData):
        return preferences.limit_chars(source, settings.max_chars)
    if source in ("hh-rlhf", "hh_rlhf"):
        return preferences.hh_rlhf(max_chars=settings.max_chars)
    return preferences.limit_chars(preferences.load(source, step=step), settings.max_chars)


def run_key(base_id: str, settings, data) -> str:
    """The content key of a run: base and its revision, settings (incl. training-code version), data."""
    from rmnb import models, training

    payload = json.dumps({"base": base_id, "revision": models.static_revision(base_id),
                          "settings": settings.key(), "data": data.fingerprint(),
                          "training_version": training.TRAINING_VERSION}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def _slug(base_id: str) -> str:
    for rm in EMBEDDED_RMS.values():
        if rm.base_id == base_id:
            return rm.id
    return Path(base_id).name.replace("/", "__") + "-rm"


def run_dir(base_id: str, settings, data, name: str | None = None) -> Path:
    from rmnb.paths import cache_dir

    return cache_dir("rms", name or _slug(base_id)) / run_key(base_id, settings, data)


def train_or_load(base_id: str, settings=None, *, data=None, refresh: bool = False, progress: bool = True,
                  device: str = "auto", name: str | None = None):
    """The finished run for (base, settings, data): read from the cache, or trained now and cached.

    Same settings and data for two bases give the same split, pair order and seeds (see :mod:`rmnb.training`).
    """
    from rmnb import training

    settings = settings or settings_for("cpu")
    data = data if data is not None else data_for(settings)
    folder = run_dir(base_id, settings, data, name)
    if (folder / "manifest.json").exists() and not refresh:
        return training.TrainedRun.load(folder)
    if progress:
        print(f"[rmnb] training a reward model on {base_id} ({settings.preset} preset, {len(data)} pairs "
              f"available) into {folder}", flush=True)
    return training.train(base_id, data, settings, folder, device=device, progress=progress)


def ensure(rm_id: str, *, refresh: bool = False, progress: bool = True, device: str = "auto"):
    """The training run behind an embedded reward model, built on first use."""
    from rmnb.errors import RmnbError

    if rm_id not in EMBEDDED_RMS:
        raise RmnbError(f"{rm_id!r} is not an rmnb-trained reward model; known: {', '.join(EMBEDDED_RMS)}")
    rm = EMBEDDED_RMS[rm_id]
    settings = settings_for(rm.preset, **rm.overrides)
    return train_or_load(rm.base_id, settings, data=data_for(settings, rm.data), refresh=refresh,
                         progress=progress, device=device, name=rm.id)


def folder(rm_id: str, **kwargs) -> Path:
    """The saved model folder of an embedded reward model (trained now if absent)."""
    return ensure(rm_id, **kwargs).model_dir


def is_built(rm_id: str) -> bool:
    """Whether the embedded reward model is already in the cache (no training needed)."""
    rm = EMBEDDED_RMS[rm_id]
    settings = settings_for(rm.preset, **rm.overrides)
    return (run_dir(rm.base_id, settings, data_for(settings, rm.data), rm.id) / "manifest.json").exists()


def register_trained(rm: TrainedRM, spec: ModelSpec) -> ModelSpec:
    """Add an rmnb-trained reward model (how to make it + its registry entry); ``spec.id`` must equal ``rm.id``."""
    from rmnb.errors import RmnbError

    if spec.id != rm.id:
        raise RmnbError(f"the registry entry's id {spec.id!r} differs from the trained model's id {rm.id!r}.")
    EMBEDDED_RMS[rm.id] = rm
    return register(spec)


def load(rm_id: str, *, device: str = "auto", dtype: str | None = None, progress: bool = True):
    """An embedded reward model as a ``LoadedModel`` (built on first use), with its registry entry attached."""
    from rmnb import models

    run = ensure(rm_id, progress=progress, device=device)  # trains now (with a progress bar) if absent
    loaded = models.load_model(rm_id, kind="reward", device=device, dtype=dtype)
    loaded.notes.append(f"trained run: {run.folder}")
    return loaded
