"""Loading models: registry entries, any Hugging Face id or local folder, and the embedded GGUF models.

:func:`load_model` returns a :class:`LoadedModel` (model + tokenizer + the facts a results store needs: the
resolved revision, dtype, device, where the chat template came from, whether the score head is trained).

The embedded models load from the safetensors folders :mod:`rmnb.models.gguf` converts once from their GGUF
files; the reward models rmnb trains load from the run folder their last build recorded (:func:`trained_model_dir`).

Policy: remote code runs only for registry entries with a pinned revision, or when the caller
passes ``trust_remote_code=True`` explicitly.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import torch

from rmnb.base.device import dtype_name, resolve_device, resolve_dtype
from rmnb.base.errors import RmnbError
from rmnb.base.paths import cache_dir, env_flag
from rmnb.base.quiet import quiet_transformers
from rmnb.models import registry, revisions
from rmnb.models.gguf import embedded_folder, embedded_revision
from rmnb.models.registry import ModelSpec

BUILT_FILE = "built.json"  # <cache>/rms/<id>/built.json: the run an rmnb-trained reward model loads from
HEAD_SEED = 0        # seed of a freshly initialised score head (a language model loaded as a reward model)


@dataclass
class LoadedModel:
    """A model ready to score, with what the results store records about it."""

    spec: ModelSpec
    model: torch.nn.Module
    tokenizer: object
    kind: str                  # "reward" (sequence classifier) or "lm" (causal LM)
    device: torch.device
    dtype: torch.dtype
    revision: str              # pinned commit, resolved commit, "<package>==<version>", "local:<hash>" or "unpinned"
    source: str                # where the weights were read from
    template_source: str | None = None   # "model", "rmnb" (registry), "caller" or None (no chat template)
    head: str = "trained"      # "trained", or "random(seed=N)" for a fresh score head
    notes: list[str] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def dtype_name(self) -> str:
        return dtype_name(self.dtype)


def resolve_spec(model_id: str, kind: str | None = None) -> ModelSpec:
    """The registry entry, or a default spec for an existing local folder or a Hugging Face ``org/name`` id."""
    if model_id in registry.REGISTRY:
        return registry.REGISTRY[model_id]
    if Path(model_id).expanduser().is_dir():
        return registry.spec_for(str(Path(model_id).expanduser()), kind or "reward")
    if model_id.count("/") == 1 and all(model_id.split("/")):
        return registry.spec_for(model_id, kind or "reward")
    known = ", ".join(sorted(registry.REGISTRY))
    raise RmnbError(f"Unknown model {model_id!r}: it is not an rmnb registry id, not an existing local folder and "
                    f"not a Hugging Face id of the form 'org/name'. Registry ids: {known}")


def remote_code_allowed(spec: ModelSpec, revision: str | None, trust_remote_code: bool) -> bool:
    """Whether to pass ``trust_remote_code=True``; raises when an entry needs remote code that is not pinned."""
    if trust_remote_code:
        return True
    if not spec.trust_remote_code:
        return False
    if spec.revision and revision in (None, spec.revision):
        return True
    why = (f"revision {revision!r} differs from the pinned {spec.revision!r}" if spec.revision
           else "its registry entry pins no revision")
    raise RmnbError(f"{spec.id!r} runs its repository's own Python code, and {why}, so that code could change "
                    "under you. Fix: pin the revision in the registry entry, or pass trust_remote_code=True "
                    "(CLI: --trust-remote-code) to run it anyway.")


def _load_errors() -> tuple[type[BaseException], ...]:
    from safetensors import SafetensorError

    return OSError, ValueError, EOFError, SafetensorError


LOAD_ERRORS = _load_errors()  # what a missing, unreachable or corrupt model raises while loading


def _wrap_load_error(model_id: str, exc: Exception, source: str | None = None) -> RmnbError:
    text = str(exc)
    if "trust_remote_code" in text:
        return RmnbError(f"{model_id!r} needs its repository's own code (trust_remote_code). rmnb runs remote "
                         "code only for registry entries with a pinned revision, or when you pass "
                         "trust_remote_code=True (CLI: --trust-remote-code).")
    folder = Path(source).expanduser() if source else None
    if folder is not None and folder.is_dir():
        fix = (f"it is in rmnb's cache, so delete {folder.parent if folder.name == 'model' else folder} and it is "
               "rebuilt on next use" if folder.resolve().is_relative_to(cache_dir().resolve())
               else "check that the folder holds a complete save_pretrained() output (config, weights, tokenizer)")
        return RmnbError(f"Cannot load {model_id!r} from the folder {folder}: its files are incomplete or corrupt "
                         f"({type(exc).__name__}: {text[:300]}). Fix: {fix}.")
    if isinstance(exc, OSError):
        where = ("HF_HUB_OFFLINE=1 is set, so nothing can be downloaded" if env_flag("HF_HUB_OFFLINE")
                 else "it could not be downloaded either")
        return RmnbError(f"Cannot load {model_id!r}: it is not in the local Hugging Face cache and {where}. "
                         "Fix: run once with network access (unset HF_HUB_OFFLINE, log in for gated models), or "
                         "pass a local folder. Offline models that always work: "
                         f"{', '.join(s.id for s in registry.EMBEDDED)}. ({type(exc).__name__}: {text[:200]})")
    return RmnbError(f"Cannot load {model_id!r}: {type(exc).__name__}: {text[:500]}")


def _folder_revision(folder: Path) -> str:
    source = folder / "rmnb_source.json"
    if source.exists():
        info = json.loads(source.read_text())
        return f"{info['package'].replace('_', '-')}=={info['version']}"
    digest = hashlib.sha256()
    for path in sorted(folder.iterdir()):
        if path.is_file():
            stat = path.stat()
            digest.update(f"{path.name}:{stat.st_size}:{int(stat.st_mtime)}".encode())
    return f"local:{digest.hexdigest()[:12]}"


def static_revision(model_id: str) -> str:
    """The revision an id stands for, without loading it: an embedded model's package version, a local folder's
    content digest, or a Hub model's commit: pinned, or recorded at its first download
    (:func:`rmnb.models.revisions.required`: an error naming the fix when none is known yet)."""
    spec = resolve_spec(model_id)
    if spec.gguf_package:
        return embedded_revision(spec)
    path = Path(model_id).expanduser()
    if path.is_dir():
        return _folder_revision(path)
    return spec.revision or (revisions.required(spec.id) if revisions.is_hub_id(spec.id) else "unpinned")


def _read_template(chat_template: str | None) -> str | None:
    """A Jinja template (it holds ``{``) as given, or the text of the file it names; anything else is an error
    (a missing file is never read as template text)."""
    if not chat_template or "{" in chat_template:
        return chat_template
    path = Path(chat_template).expanduser()
    try:
        if path.is_file():
            return path.read_text()
    except (OSError, ValueError):
        pass
    raise RmnbError(f"chat_template (--chat-template) is {chat_template[:120]!r}: no such file, and it is not a "
                    "Jinja template (no '{'). Fix: give the path of an existing template file, or the template "
                    "text itself.")


def check_revision_applies(spec: ModelSpec, revision: str | None, source: str) -> None:
    """``revision`` selects a Hub commit; for a model that is not loaded from the Hub it would be ignored."""
    if revision is None or source == spec.id and not Path(source).expanduser().is_dir():
        return
    what = ("an embedded model (its weights are fixed by its package)" if spec.gguf_package else
            "a reward model rmnb trains (its weights are fixed by its recipe)" if registry.trained_recipe(spec.id)
            else "a local folder (its weights are the files in it)")
    raise RmnbError(f"revision (--revision) {revision!r} cannot apply to {spec.id!r}, {what}. Fix: leave "
                    "--revision out (it applies only to models loaded from the Hugging Face Hub).")


def _apply_template_policy(tokenizer, spec: ModelSpec, chat_template: str | None) -> str | None:
    if chat_template:
        tokenizer.chat_template = _read_template(chat_template)
        return "caller"
    if getattr(tokenizer, "chat_template", None):
        return "model"
    if spec.chat_template:
        tokenizer.chat_template = spec.chat_template
        return "rmnb"
    return None


# ---------------------------------------------------------------------------------------------------------------
# Public loaders


def recorded_run(model_id: str) -> Path | None:
    """The run folder the last build of an rmnb-trained reward model recorded (``<cache>/rms/<id>/built.json``),
    or ``None`` when no build is recorded. An unreadable record raises ``ValueError``, ``KeyError`` or ``TypeError``."""
    pointer = cache_dir("rms", model_id) / BUILT_FILE
    if not pointer.exists():
        return None
    return pointer.parent / json.loads(pointer.read_text())["run"]


def trained_model_dir(model_id: str) -> Path:
    """The model folder of an rmnb-trained reward model, as its last build recorded it (``built.json``). Loading
    never trains: an id that is not built yet gets an error that names the command that builds it."""
    rm = registry.trained_recipe(model_id)
    pointer = cache_dir("rms", model_id) / BUILT_FILE
    how = (f"Fix: build it once with `rmnb train-embedded {model_id}` (a few minutes on a CPU); `rmnb score`, "
           "`rmnb run --model` and chapter 06 build it for you.")
    run = recorded_run(model_id)
    if run is None:
        raise RmnbError(f"{model_id!r} is a reward model rmnb trains (base {rm.base_id}), and it is not built in "
                        f"this cache ({pointer.parent}). {how}")
    folder = run / "model"
    if not folder.is_dir():
        raise RmnbError(f"{model_id!r} was built into {folder.parent}, which is gone. {how}")
    return folder


def model_source(spec: ModelSpec, revision: str | None = None) -> tuple[str, str | None]:
    """Where transformers loads an entry from: (folder or Hub id, Hub revision or None). The embedded models come
    from their converted GGUF folders; the reward models rmnb trains from the run folder of their last build."""
    if spec.gguf_package:
        return str(embedded_folder(spec.id)), None
    if registry.trained_recipe(spec.id) is not None:
        return str(trained_model_dir(spec.id)), None
    return spec.id, revision or revisions.known(spec.id)  # pinned, or recorded at the first download


def load_tokenizer(model_id: str, *, revision: str | None = None, chat_template: str | None = None,
                   trust_remote_code: bool = False):
    """The tokenizer of a registry id, HF id or folder, with the chat-template policy applied."""
    spec = resolve_spec(model_id)
    from transformers import AutoTokenizer

    source, revision = model_source(spec, revision)
    remote = remote_code_allowed(spec, revision, trust_remote_code)
    try:
        with quiet_transformers():
            tokenizer = AutoTokenizer.from_pretrained(source, revision=revision, trust_remote_code=remote)
    except LOAD_ERRORS as exc:
        raise _wrap_load_error(model_id, exc, source) from exc
    _apply_template_policy(tokenizer, spec, chat_template)
    return tokenizer


def load_model(model_id: str, kind: str | None = None, *, revision: str | None = None,
               dtype: str | torch.dtype | None = None, device: str | torch.device = "auto",
               trust_remote_code: bool = False, chat_template: str | None = None,
               device_map: str | dict | None = None, head_seed: int = HEAD_SEED,
               attn_implementation: str | None = None) -> LoadedModel:
    """Load a model by registry id, Hugging Face id or local folder.

    ``kind``: ``"reward"`` (sequence classifier, one output) or ``"lm"`` (causal LM); default: the entry's kind.
    A language model loaded as ``"reward"`` gets a freshly initialised score head, seeded by ``head_seed`` so
    that its scores are reproducible (recorded as ``head="random(seed=N)"``).
    ``dtype``: default the entry's dtype. ``device``: ``"auto"`` = CUDA, then MPS, then CPU.
    ``chat_template``: a Jinja string or a file; overrides the tokenizer's template.
    ``attn_implementation``: default ``"eager"`` on a CPU (for the few-token candidate blocks of prefix-reuse
    scoring it measured 10-25% faster than SDPA on 2 cores, see ``benchmarks/README.md``), transformers' own
    default elsewhere and for remote-code models.
    """
    spec = resolve_spec(model_id, kind)
    kind = kind or spec.kind
    if kind not in ("reward", "lm"):
        raise RmnbError(f"kind must be 'reward' or 'lm', not {kind!r}")
    dev = resolve_device(device)
    torch_dtype = resolve_dtype(dtype, default=spec.dtype)

    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer

    source, hub_revision = model_source(spec, revision)
    check_revision_applies(spec, revision, source)
    remote = remote_code_allowed(spec, hub_revision, trust_remote_code)
    auto = AutoModelForSequenceClassification if kind == "reward" else AutoModelForCausalLM
    extra = {"num_labels": 1} if kind == "reward" and spec.kind != "reward" else {}
    if attn_implementation is None and dev.type == "cpu" and not remote:
        attn_implementation = "eager"
    if attn_implementation is not None:
        extra["attn_implementation"] = attn_implementation
    if device_map is None and dev.type == "cuda":
        device_map = str(dev)
    try:
        with quiet_transformers():
            tokenizer = AutoTokenizer.from_pretrained(source, revision=hub_revision, trust_remote_code=remote)
            model, info = auto.from_pretrained(source, revision=hub_revision, trust_remote_code=remote,
                                               dtype=torch_dtype, device_map=device_map, output_loading_info=True,
                                               **extra)
    except LOAD_ERRORS as exc:
        raise _wrap_load_error(model_id, exc, source) from exc
    if device_map is None:
        model.to(dev)
    model.eval()

    head = "trained"
    missing = set(info.get("missing_keys", ()))
    if kind == "reward" and any(k.startswith("score.") for k in missing):
        head = f"random(seed={head_seed})"
        _seed_score_head(model, head_seed)

    if getattr(tokenizer, "pad_token_id", None) is None and getattr(tokenizer, "eos_token", None) is not None:
        tokenizer.pad_token = tokenizer.eos_token
    if getattr(model.config, "pad_token_id", None) is None:
        model.config.pad_token_id = tokenizer.pad_token_id
    template_source = _apply_template_policy(tokenizer, spec, chat_template)

    if spec.gguf_package:
        rev = embedded_revision(spec)
    elif registry.trained_recipe(spec.id) is not None:
        rev = f"rmnb-trained:{Path(source).parent.name}"  # the run key: <cache>/rms/<id>/<run key>/model
    elif Path(source).expanduser().is_dir():
        rev = _folder_revision(Path(source).expanduser())
    else:
        rev = hub_revision or getattr(model.config, "_commit_hash", None) or "unpinned"
        if not hub_revision:
            revisions.record(spec.id, getattr(model.config, "_commit_hash", None))  # reused from now on
    return LoadedModel(spec=spec, model=model, tokenizer=tokenizer, kind=kind, device=dev, dtype=torch_dtype,
                       revision=rev, source=source, template_source=template_source, head=head)


def _seed_score_head(model, seed: int) -> None:
    head = getattr(model, "score", None)
    if not isinstance(head, torch.nn.Linear):
        return
    std = getattr(model.config, "initializer_range", 0.02)
    gen = torch.Generator(device="cpu").manual_seed(seed)
    with torch.no_grad():
        weight = torch.randn(head.weight.shape, generator=gen, dtype=torch.float32) * std
        head.weight.copy_(weight.to(head.weight.dtype))
        if head.bias is not None:
            head.bias.zero_()


def wrap_model(model: torch.nn.Module, tokenizer, *, model_id: str = "in-memory", kind: str | None = None,
               revision: str = "in-memory", chat_template: str | None = None,
               spec: ModelSpec | None = None) -> LoadedModel:
    """A :class:`LoadedModel` around a model already in memory (tests, freshly trained RMs)."""
    if kind is None:
        kind = "lm" if hasattr(model, "lm_head") or model.__class__.__name__.endswith("ForCausalLM") else "reward"
    spec = spec or registry.spec_for(model_id, kind)
    template_source = _apply_template_policy(tokenizer, spec, chat_template)
    param = next(model.parameters())
    model.eval()
    return LoadedModel(spec=spec, model=model, tokenizer=tokenizer, kind=kind, device=param.device,
                       dtype=param.dtype, revision=revision, source="memory", template_source=template_source)
