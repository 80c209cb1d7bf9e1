"""Checks of a scoring job's inputs, run before any model is loaded or any work starts.

Every check raises :class:`RmnbError` with a message that names the parameter (and its CLI flag), the value
given, what is valid, and the fix. :func:`check_score_inputs` runs them all; ``rmnb score`` and
:func:`rmnb.inference.job.score` both call it first.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from rmnb.base.errors import RmnbError
from rmnb.base.paths import cache_dir
from rmnb.models import registry
from rmnb.models.loading import resolve_spec

KINDS = ("reward", "logprob")
NAMED_RESPONSES = ("vocab", "vocabulary", "big-two", "big2", "bigtwo", "mfd2", "mfd-2", "mfd")


def flag(name: str) -> str:
    """``batch_size`` -> ``batch_size (--batch-size)``: how a message names a parameter of both APIs."""
    return f"{name} (--{name.replace('_', '-')})"


def check_positive(name: str, value, *, example: int, default: str) -> int | None:
    """``None`` (use the default) or a whole number of 1 or more."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise RmnbError(f"{flag(name)} is {value!r}: it must be a whole number of 1 or more. Fix: pass a positive "
                        f"number (e.g. --{name.replace('_', '-')} {example}), or leave it out for {default}.")
    return value


def is_file(value) -> bool:
    """``Path(value).is_file()`` that is False, not an ``OSError``, for strings no file can be named by."""
    try:
        return Path(value).expanduser().is_file()
    except (OSError, ValueError):
        return False


def check_out(out) -> Path:
    """The results root: ``None`` is the rmnb cache; else a folder that exists or can be created, writable."""
    if out is None:
        return cache_dir("scores")
    if not str(out).strip():
        raise RmnbError("out (--out) is empty. Fix: give a folder for the results (e.g. --out scores/), or leave "
                        "--out out to use the rmnb cache's scores/ folder.")
    path = Path(out).expanduser()
    try:
        if path.exists() and not path.is_dir():
            raise RmnbError(f"out (--out) is {str(out)!r}, which is a file, not a folder. Fix: give a folder "
                            "(it is created if missing), e.g. --out scores/.")
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except RmnbError:
        raise
    except OSError as exc:
        raise RmnbError(f"out (--out) is {str(out)!r}, where rmnb cannot write ({type(exc).__name__}: "
                        f"{exc.strerror or exc}). Fix: give a folder you can write to, e.g. --out scores/.") from None
    return path


def check_prompts(prompts) -> None:
    """A named set, a file, or comma-separated paper prompt ids that all exist (frames, dicts and lists pass)."""
    if not isinstance(prompts, str):
        return
    if prompts in ("paper54", "facct3") or is_file(prompts):
        return
    from rmnb.data.prompts import paper_prompts

    keys = [k.strip() for k in prompts.split(",")]
    known = set(paper_prompts().prompt_id)
    bad = [k for k in keys if k not in known]
    if bad or not prompts.strip():
        shown = ", ".join(repr(k) for k in bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
        what = f"names unknown prompt ids ({shown})" if bad and len(keys) > 1 else "is not a prompt set or a file"
        raise RmnbError(f"prompts (--prompts) {what}. Valid: paper54, facct3, comma-separated paper prompt ids "
                        "such as greatest_ever_one,worst_ever_one, or a YAML (id: text) / text file that exists. "
                        "Fix: check the spelling, or the file's path.")
    if len(set(keys)) != len(keys):
        raise RmnbError("prompts (--prompts) lists a prompt id twice. Fix: list each prompt id once.")


def check_responses(responses) -> None:
    if not isinstance(responses, str):
        return
    if responses.lower().replace("_", "-") in NAMED_RESPONSES or is_file(responses):
        return
    raise RmnbError(f"responses (--responses) is {responses[:80]!r}: not vocab, big-two, mfd2, or a file that "
                    "exists. Fix: use one of those names, or the path of a text file with one response a line.")


def check_chat_template(chat_template) -> None:
    """A Jinja template (contains ``{``) or the path of a file that exists."""
    if chat_template is None or "{" in str(chat_template):
        return
    if not str(chat_template).strip() or not is_file(chat_template):
        raise RmnbError(f"chat_template (--chat-template) is {str(chat_template)[:120]!r}: no such file, and it "
                        "is not a Jinja template (no '{'). Fix: give the path of an existing template file, or "
                        "the template text itself.")


def check_revision(model_id: str, revision: str | None) -> None:
    """``revision`` is a Hub commit: refused for models that do not come from the Hub (it would be ignored)."""
    if revision is None:
        return
    if not str(revision).strip():
        raise RmnbError("revision (--revision) is empty. Fix: give a Hub commit, or leave --revision out.")
    spec = resolve_spec(model_id)
    why = None
    if spec.gguf_package:
        why = f"an embedded model: its weights are fixed by the package {spec.gguf_package}"
    elif registry.trained_recipe(spec.id) is not None:
        why = "a reward model rmnb trains: its weights are fixed by its training recipe"
    elif is_dir(model_id):
        why = "a local folder: its weights are the files in it"
    if why:
        raise RmnbError(f"revision (--revision) {revision!r} cannot apply to {model_id!r}, {why}. Fix: leave "
                        "--revision out (it applies only to models loaded from the Hugging Face Hub).")


def is_dir(value) -> bool:
    try:
        return Path(value).expanduser().is_dir()
    except (OSError, ValueError):
        return False


def is_language_model(model_id: str) -> bool:
    """Whether ``model_id`` is known, before loading, to be a language model without a reward head: a registry
    entry of kind ``lm``, or a local folder whose config names only ``...ForCausalLM`` architectures."""
    spec = resolve_spec(model_id)
    if model_id in registry.REGISTRY:
        return spec.kind == "lm"
    config = Path(model_id).expanduser() / "config.json"
    if is_dir(model_id) and config.is_file():
        try:
            arch = json.loads(config.read_text()).get("architectures") or []
        except (OSError, ValueError):
            return False
        return bool(arch) and all(str(a).endswith("ForCausalLM") for a in arch)
    return False


def random_head_refusal(model_id: str) -> RmnbError:
    return RmnbError(f"{model_id!r} is a language model, not a reward model: scored as a reward model it would "
                     "get a randomly initialised score head, whose scores carry no preference information. Fix: "
                     "score a reward model, or its log-probs (--kind logprob); to score it with a random head "
                     "anyway, ask for it explicitly: --random-head (Python: random_head=True).")


def check_kind(model_id: str, kind: str | None, random_head: bool) -> None:
    if kind is not None and kind not in KINDS:
        raise RmnbError(f"kind (--kind) is {kind!r}: it must be one of {', '.join(KINDS)}. Fix: pass --kind reward "
                        "or --kind logprob, or leave it out for the model's own kind.")
    if kind == "reward" and not random_head and is_language_model(model_id):
        raise random_head_refusal(model_id)


def check_score_inputs(model, *, prompts="paper54", responses="vocab", kind=None, out=None, revision=None,
                       batch_size=None, shard_size=None, threads=None, chat_template=None,
                       random_head: bool = False) -> Path:
    """Every check of a scoring job, before any work; returns the results root (created, known writable)."""
    check_positive("batch_size", batch_size, example=64, default="the registry's batch size")
    check_positive("shard_size", shard_size, example=4096, default="4096 candidates per shard")
    check_positive("threads", threads, example=max(1, (os.cpu_count() or 2) // 2), default="torch's choice")
    if kind is not None and kind not in KINDS:
        check_kind("", kind, random_head)
    check_prompts(prompts)
    check_responses(responses)
    check_chat_template(chat_template)
    if isinstance(model, str):
        if not model.strip():
            raise RmnbError("model (--model) is empty. Fix: give a registry id, a Hugging Face id or a folder.")
        resolve_spec(model)  # an unknown id fails here, naming the valid ones
        check_revision(model, revision)
        check_kind(model, kind, random_head)
    return check_out(out)


SHARD_FIX = ("Fix: write --shard K/N with N >= 1 shards and 0 <= K < N, e.g. --shard 0/4 ... --shard 3/4 (a Slurm "
             "array: --array=0-3 with --shard $SLURM_ARRAY_TASK_ID/4).")
EXECUTORS = ("local", "ray")


def parse_shard(shard) -> tuple[int, int] | None:
    """``"K/N"`` (or ``(K, N)``) -> ``(K, N)`` with ``0 <= K < N``; ``None`` stays ``None`` (every unit)."""
    if shard is None:
        return None
    if isinstance(shard, tuple) and len(shard) == 2:
        k, n = shard
    else:
        text = str(shard).strip()
        parts = text.split("/")
        if len(parts) != 2 or not all(x.strip().isdigit() for x in parts):
            raise RmnbError(f"shard (--shard) is {text!r}: it must be two whole numbers K/N. {SHARD_FIX}")
        k, n = (int(x) for x in parts)
    if isinstance(k, bool) or isinstance(n, bool) or not isinstance(k, int) or not isinstance(n, int):
        raise RmnbError(f"shard (--shard) is {shard!r}: it must be two whole numbers K/N. {SHARD_FIX}")
    if n < 1:
        raise RmnbError(f"shard (--shard) is {k}/{n}: the number of shards N must be 1 or more. {SHARD_FIX}")
    if not 0 <= k < n:
        raise RmnbError(f"shard (--shard) is {k}/{n}: shard numbers run from 0 to N-1 = {n - 1}, so K must be "
                        f"below {n}. {SHARD_FIX}")
    return k, n


def check_executor(executor, *, address=None, workers=None, shard=None) -> None:
    """``executor`` is local or ray; ``address`` and ``workers`` only with ray; ``shard`` only locally."""
    if executor not in EXECUTORS:
        raise RmnbError(f"executor (--executor) is {executor!r}: it must be local or ray. Fix: leave it out (one "
                        "process here), or pass --executor ray (Ray workers; pip install 'rmnb[ray]').")
    check_positive("workers", workers, example=4, default="one worker per CPU or GPU of the Ray cluster")
    if executor != "ray" and (address is not None or workers is not None):
        raise RmnbError("address (--address) and workers (--workers) apply to the Ray executor only. Fix: add "
                        "--executor ray, or leave them out.")
    if executor == "ray" and shard is not None:
        raise RmnbError("shard (--shard) and --executor ray do not go together: Ray already spreads the units over "
                        "its workers. Fix: use one of them (Slurm array: --shard K/N; a Ray cluster: --executor ray).")
    parse_shard(shard)


__all__ = ["parse_shard", "check_executor", "EXECUTORS", "check_score_inputs", "check_positive", "check_out", "check_prompts", "check_responses",
           "check_chat_template", "check_revision", "check_kind", "is_language_model", "random_head_refusal",
           "flag", "is_file"]
