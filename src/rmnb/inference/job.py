"""One scoring job, end to end: load the model, build prompts and responses, score, write the results store.

:func:`score` is what ``rmnb score`` runs; it returns the run folder (read it with
:func:`rmnb.data.store.read_results`). Running the same job again resumes an interrupted run, or returns the finished
one at once.
"""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from rmnb.base.device import describe_device
from rmnb.base.errors import RmnbError
from rmnb.base.progress import progress_bar
from rmnb.data.prompts import load_prompts
from rmnb.data.store import RunStore, content_key, read_results
from rmnb.data.units import plan_units, shard_units
from rmnb.inference import distributed
from rmnb.inference.language_model import sequence_logprobs_cached, token_logprobs, with_end_of_turn
from rmnb.inference.responses import Conversation, Responses, load_responses, strings
from rmnb.inference.reward import reward_scores_cached
from rmnb.inference.validate import KINDS, check_executor, check_score_inputs, parse_shard, random_head_refusal
from rmnb.models.loading import LoadedModel, load_model, resolve_spec

SCORING_CODE = "prefix-attn-2"  # bump when a change to the scoring code changes numbers (2: copy-free prefix attention, last-digit changes)
DEFAULT_SHARD = 4096           # candidates per shard: a crash loses at most one shard's work


def default_kind(model_id: str) -> str:
    """``reward`` for a reward model, ``logprob`` (the model's own implicit preference) for a language model."""
    return "reward" if resolve_spec(model_id).kind == "reward" else "logprob"


def prompt_table(prompts) -> tuple[pd.DataFrame, str]:
    """(DataFrame[prompt_id, text], name) from a name/path (``rmnb.data.prompts``), a frame, a dict or a list."""
    if isinstance(prompts, str):
        frame, name = load_prompts(prompts), Path(prompts).stem if Path(prompts).suffix else prompts
    elif isinstance(prompts, pd.DataFrame):
        frame, name = prompts, "prompts"
    elif isinstance(prompts, Mapping):
        frame, name = pd.DataFrame({"prompt_id": list(prompts), "text": list(prompts.values())}), "prompts"
    else:
        items = list(prompts or [])
        frame = pd.DataFrame({"prompt_id": [f"p{i:04d}" for i in range(len(items))], "text": items})
        name = "prompts"
    if len(frame) == 0:
        raise RmnbError("The prompt list is empty: give at least one prompt (paper54, facct3, or a file).")
    if not {"prompt_id", "text"} <= set(frame.columns):
        raise RmnbError("A prompt table needs the columns prompt_id and text.")
    frame = frame[["prompt_id", "text"]].astype(str).reset_index(drop=True)
    if frame["prompt_id"].duplicated().any():
        raise RmnbError(f"Duplicate prompt ids: {sorted(frame.loc[frame.prompt_id.duplicated(), 'prompt_id'])}")
    if (frame["text"].str.len() == 0).any():
        raise RmnbError("A prompt is empty.")
    return frame, name


def conversation_for(lm: LoadedModel, kind: str, *, prompt_format: str | None = None,
                     system_prompt: str | None = None, end_of_turn: bool = False, bos: str = "single") -> Conversation:
    """Reward models: the chat template, closing tokens included. Log-probs: the chat template with generation
    prompt for instruct models, the raw prompt for pretrained ones (registry ``variant``), as in the paper.
    ``bos``: ``"single"`` (one BOS, the corrected path) or ``"authors"`` (the FAccT authors' text path with its
    double BOS; :class:`~rmnb.inference.responses.Conversation`)."""
    if kind == "reward":
        return Conversation(lm.tokenizer, mode="chat", system_prompt=system_prompt, end_of_turn=True, bos=bos)
    mode = prompt_format or ("raw" if lm.spec.variant == "pretrained" else "chat")
    return Conversation(lm.tokenizer, mode=mode, system_prompt=system_prompt, generation_prompt=True,
                        end_of_turn=end_of_turn, bos=bos)


def check_template_renders(lm: LoadedModel, conv: Conversation, prompt_frame: pd.DataFrame, resp: Responses) -> None:
    """Encode the first prompt with the first response before any run is opened, so that a chat template that
    fails stops the job here, not in its first unit with the run already marked running."""
    try:
        conv.encode(prompt_frame["text"].iloc[0], resp.subset(slice(0, 1)))
    except RmnbError:
        raise
    except Exception as exc:  # noqa: BLE001 - jinja2, tokenizers and transformers raise many kinds
        raise RmnbError(f"the chat template of {lm.id} fails on the first prompt ({type(exc).__name__}: "
                        f"{str(exc).strip()[:200]}); nothing was scored and no run was opened. Fix: pass a template "
                        "that works with --chat-template FILE (Python: chat_template=...), or --prompt-format raw "
                        "for log-probs of a pretrained model.") from None


def score_unit(lm: LoadedModel, conv: Conversation, kind: str, prompt: str, chunk: Responses, *,
               batch_size: int, end_of_turn: bool = False, progress=None) -> tuple[np.ndarray, list[int]]:
    """Scores of one prompt x a chunk of responses, and each response's number of tokens."""
    encoded = conv.encode(prompt, chunk)
    n_tokens = [end - start for start, end in encoded.span]
    if kind == "reward":
        return reward_scores_cached(lm.model, encoded, batch_size=batch_size, score_output=lm.spec.score_output,
                                    progress=progress), n_tokens
    if chunk.kind == "tokens":
        return token_logprobs(lm.model, encoded, chunk.token_ids, end_of_turn=end_of_turn, batch_size=batch_size,
                              progress=progress), n_tokens
    if end_of_turn:
        encoded = with_end_of_turn(encoded)
    return sequence_logprobs_cached(lm.model, encoded, batch_size=batch_size, progress=progress), n_tokens


@dataclass
class Job:
    """Everything a worker needs to score units of one run: model, conversation, prompts, responses, the run's
    parameters (its key) and sizes. Built by :func:`prepare`, in the process that scores."""

    lm: LoadedModel
    conv: Conversation
    kind: str
    prompt_frame: pd.DataFrame
    resp: Responses
    batch_size: int
    shard_size: int
    end_of_turn: bool
    params: dict
    inputs: str
    warnings: list
    prompts_name: str
    root: Path
    _frame: pd.DataFrame | None = field(default=None, repr=False)

    def rows(self) -> pd.DataFrame:
        """The responses' columns (response, token_id, token), built once."""
        if self._frame is None:
            self._frame = self.resp.frame()
        return self._frame

    def store(self) -> RunStore:
        return RunStore(self.root, self.params, model_id=self.lm.id, revision=self.lm.revision, kind=self.kind,
                        responses_name=self.resp.name, prompts_name=self.prompts_name)

    def session(self) -> dict:
        return {"device": describe_device(self.lm.device), "batch_size": self.batch_size, "argv": sys.argv,
                "responses_name": self.resp.name, "prompts_name": self.prompts_name, "host": platform.node(),
                "pid": os.getpid()}

    def plan(self, shard_size: int | None = None) -> dict:
        return plan_units(len(self.prompt_frame), len(self.resp), shard_size or self.shard_size)

    def open(self, store: RunStore) -> int:
        """Create or resume the run (the caller holds its lock); returns the shard size in force."""
        plan = self.plan()
        return store.open(shard_size=self.shard_size, n_units=len(plan), session=self.session(),
                          expected_rows=len(self.prompt_frame) * len(self.resp), inputs_sha256=self.inputs,
                          warnings=self.warnings)


def prepare(model: str | LoadedModel, prompts="paper54", responses: str | Responses | Sequence[str] = "vocab", *,
            kind: str | None = None, out: str | Path | None = None, revision: str | None = None,
            dtype: str | None = None, device: str = "auto", batch_size: int | None = None,
            shard_size: int | None = None, trust_remote_code: bool = False, chat_template: str | None = None,
            prompt_format: str | None = None, system_prompt: str | None = None, end_of_turn: bool = False,
            random_head: bool = False, bos: str = "single", verbose: bool = True) -> Job:
    """Check the inputs, load the model, build prompts, responses and the run's parameters (no scoring)."""
    root = check_score_inputs(model, prompts=prompts, responses=responses, kind=kind, out=out, revision=revision,
                              batch_size=batch_size, shard_size=shard_size, chat_template=chat_template,
                              random_head=random_head)
    prompt_frame, prompts_name = prompt_table(prompts)
    if isinstance(model, LoadedModel):
        lm = model
        kind = kind or ("reward" if lm.kind == "reward" else "logprob")
        if (kind == "reward") != (lm.kind == "reward"):
            raise RmnbError(f"A loaded {lm.kind!r} model cannot produce {kind!r} scores; load it with the other kind.")
    else:
        kind = kind or default_kind(model)
        lm = load_model(model, "reward" if kind == "reward" else "lm", revision=revision, dtype=dtype, device=device,
                        trust_remote_code=trust_remote_code, chat_template=chat_template)
    warnings = []
    if kind == "reward" and lm.head != "trained":
        if not random_head:
            raise random_head_refusal(lm.id)
        warnings.append(f"{lm.id} has no trained reward head: scored with a randomly initialised one ({lm.head}); "
                        "its scores carry no preference information.")
        if verbose:
            print(f"rmnb: warning: {warnings[-1]}", file=sys.stderr)  # also with --quiet: it is not progress
    if isinstance(responses, Responses):
        resp = responses
    elif isinstance(responses, str):
        resp = load_responses(responses, lm.tokenizer)
    else:
        resp = strings(responses)
    if len(resp) == 0:
        raise RmnbError("The response list is empty: give at least one response (vocab, big-two, mfd2, a file).")
    conv = conversation_for(lm, kind, prompt_format=prompt_format, system_prompt=system_prompt,
                            end_of_turn=end_of_turn, bos=bos)
    check_template_renders(lm, conv, prompt_frame, resp)
    batch_size = int(batch_size or lm.spec.batch_size or 64)
    fast_vocab = kind == "logprob" and resp.kind == "tokens" and not end_of_turn
    shard_size = int(shard_size or (len(resp) if fast_vocab else DEFAULT_SHARD))

    params = {
        "model_id": lm.id, "revision": lm.revision, "dtype": lm.dtype_name, "head": lm.head, "kind": kind,
        "score_output": lm.spec.score_output if kind == "reward" else None,
        "template_source": lm.template_source, "conversation": conv.describe(),
        "end_of_turn": bool(end_of_turn) if kind == "logprob" else None,
        "prompts": prompt_frame.values.tolist(),
        "responses": {"kind": resp.kind, "n": len(resp), "sha256": resp.fingerprint()},
        "scoring_code": SCORING_CODE,
    }
    inputs = content_key({"prompts": params["prompts"], "responses": params["responses"],
                          "conversation": params["conversation"]})
    return Job(lm=lm, conv=conv, kind=kind, prompt_frame=prompt_frame, resp=resp, batch_size=batch_size,
               shard_size=shard_size, end_of_turn=end_of_turn, params=params, inputs=inputs, warnings=warnings,
               prompts_name=prompts_name, root=root)


def score(model: str | LoadedModel, prompts="paper54", responses: str | Responses | Sequence[str] = "vocab", *,
          kind: str | None = None, out: str | Path | None = None, revision: str | None = None,
          dtype: str | None = None, device: str = "auto", batch_size: int | None = None,
          shard_size: int | None = None, trust_remote_code: bool = False, chat_template: str | None = None,
          prompt_format: str | None = None, system_prompt: str | None = None, end_of_turn: bool = False,
          random_head: bool = False, refresh: bool = False, wait: bool = False, progress: bool = True,
          shard: str | tuple[int, int] | None = None, executor: str = "local", address: str | None = None,
          workers: int | None = None, gpus_per_worker: float | None = None, bos: str = "single") -> Path:
    """Score ``responses`` to ``prompts`` with ``model`` into the results store; returns the run folder.

    ``kind``: ``reward`` (a sequence classifier's score) or ``logprob`` (log p(response | prompt)); default by the
    registry entry. A language model scored as ``reward`` would get a seeded random score head: refused unless
    ``random_head=True`` (then a warning is printed and recorded in the run's sidecar). ``end_of_turn``
    (log-probs): add the log-prob of the template's end-of-turn token after the response. ``bos``: ``"single"``
    (default, one BOS) or ``"authors"`` (the FAccT authors' double-BOS text path); part of the run key only when
    not the default (it enters through the conversation's description), so stored runs keep their keys.

    Every input is checked before any work (:mod:`rmnb.inference.validate`). ``batch_size`` and ``shard_size``
    change only speed, so they are not part of the run key. A stored run is verified before it is returned;
    a damaged one is an error unless ``refresh`` (score it again). One writer per run: a second one fails at once,
    or with ``wait`` waits for the first.

    At scale (:mod:`rmnb.data.units`): ``shard="K/N"`` scores only shard K of N of the run's work units (a Slurm
    array task); the shard that stores the last unit completes the run. ``executor="ray"`` scores the units on Ray
    workers that each keep the model loaded (``address``: ``auto``, ``HOST:PORT``, or none for a local Ray
    instance; ``workers``; ``gpus_per_worker``); see :mod:`rmnb.inference.distributed`.
    """
    check_executor(executor, address=address, workers=workers, shard=shard)
    shard = parse_shard(shard)
    if shard is not None and refresh:  # every array task would start the run over, erasing the others' shards
        raise RmnbError("--refresh cannot be combined with --shard: each shard would erase the others' work. Fix: "
                        "start the run over once without --shard (rmnb score ... --refresh, or delete the run "
                        "folder), then submit the shards without --refresh.")
    options = dict(kind=kind, out=out, revision=revision, dtype=dtype, device=device, batch_size=batch_size,
                   shard_size=shard_size, trust_remote_code=trust_remote_code, chat_template=chat_template,
                   prompt_format=prompt_format, system_prompt=system_prompt, end_of_turn=end_of_turn,
                   random_head=random_head, bos=bos)
    if executor == "ray":
        return distributed.score_ray(model, prompts, responses, prepare=prepare, run_units=run_units,
                                     reuse=_reuse, address=address, workers=workers,
                                     gpus_per_worker=gpus_per_worker, refresh=refresh, wait=wait, progress=progress,
                                     **options)
    job = prepare(model, prompts, responses, **options)
    store = job.store()
    if shard is not None:
        return _run_shard(job, store, shard, wait=wait, progress=progress)
    with store.lock(wait=wait):
        done = _reuse(store, refresh, progress)
        if done is not None:
            return done
        shard_size = job.open(store)
        plan = job.plan(shard_size)
        store.check_shards(plan)
        written = 0
        try:
            written = run_units(job, store, plan, list(plan), progress=progress)
        except BaseException:
            store.close_after_failure(shards_written=written)
            raise
        store.close(shards_written=written, finished=True)
    return store.folder


def _reuse(store: RunStore, refresh: bool, progress: bool) -> Path | None:
    """Under the run's lock: with ``refresh``, start the run over; else the verified folder of a complete run.
    ``None``: there is scoring to do."""
    meta = store.meta()
    if refresh and meta:
        store.reset()
    elif meta.get("status") == "complete":
        return _finished(store, meta, progress)
    return None


def _finished(store: RunStore, meta: dict, progress: bool) -> Path:
    why = store.problem(meta)
    if why:
        raise RmnbError(f"The stored run {store.folder} is incomplete or damaged ({why}): rerun with "
                        "--refresh (Python: refresh=True) to score it again.")
    store.record_content_hash()  # a run finished by an older rmnb: verified whole just now, hashed from now on
    if progress:
        print(f"rmnb: already scored (verified: content hash and all {meta.get('n_rows', '?')} rows read), nothing "
              f"to do: {store.folder}", file=sys.stderr)
    return store.folder


SHARD_LOCK_WAIT_S = 300  # a shard waits this long for the run's lock (held only briefly by other shards)
FAILURE_LOCK_WAIT_S = 10  # after an error or Ctrl-C, at most this long to record the session


def _run_shard(job: Job, store: RunStore, shard: tuple[int, int], *, wait: bool, progress: bool) -> Path:
    """Shard K of N: open the run (briefly locked), score its units under unit locks, then record the session and,
    if every unit of the run is stored, verify and complete the run."""
    k, n = shard
    with store.lock(wait=True if wait else SHARD_LOCK_WAIT_S):
        meta = store.meta()
        if meta.get("status") == "complete":
            return _finished(store, meta, progress)
        shard_size = job.open(store)
        plan = job.plan(shard_size)
        mine = shard_units(plan, k, n)
        store.check_shards({u: plan[u] for u in mine})
    written = 0
    store.shared = True
    try:
        written = run_units(job, store, plan, mine, progress=progress, desc=f"shard {k}/{n}")
    except BaseException:
        store.shared = False
        try:
            with store.lock(wait=FAILURE_LOCK_WAIT_S):
                store.close_after_failure(shards_written=written)
        except (RmnbError, OSError):  # the run's lock cannot be had: the error that stopped the shard matters
            pass
        raise
    store.shared = False
    with store.lock(wait=True if wait else SHARD_LOCK_WAIT_S):
        if store.meta().get("status") != "complete":
            done = sum(store.has_shard(*u) for u in plan)
            finished = done == len(plan)
            if finished:
                store.check_shards(plan)
            store.close(shards_written=written, finished=finished)
            if progress:
                state = "run complete (verified)" if finished else \
                    f"{done}/{len(plan)} units of the run stored; the run completes when every shard has run"
                print(f"rmnb: shard {k}/{n}: {len(mine)} units, {written} scored now; {state}", file=sys.stderr)
    return store.folder


def run_units(job: Job, store: RunStore, plan: dict, units: list, *, progress: bool = True, desc: str | None = None,
              shard_size: int | None = None) -> int:
    """Score ``units`` that are not stored yet, each under its unit lock; returns how many were scored here.

    A unit whose lock another process holds is skipped at first, then waited for: when that process dies before
    storing it, the unit is scored here. Progress: candidates and units done, with an ETA (stderr)."""
    total_rows = sum(plan[u] for u in units)
    done_units = [u for u in units if store.has_shard(*u)]
    bar = progress_bar(total=total_rows, initial=sum(plan[u] for u in done_units), unit="cand",
                       desc=desc or f"{job.lm.spec.label} {job.kind}", enabled=progress)
    state = {"units": len(done_units), "written": 0}
    bar.set_postfix_str(f"units {state['units']}/{len(units)}")
    try:
        deferred = [u for u in units if u not in set(done_units) and not _unit(job, store, plan, u, bar, state,
                                                                               len(units), blocking=False)]
        for u in deferred:
            _unit(job, store, plan, u, bar, state, len(units), blocking=True)
    finally:
        bar.close()
    return state["written"]


def _unit(job: Job, store: RunStore, plan: dict, unit: tuple[int, int], bar, state: dict, n_units: int, *,
          blocking: bool) -> bool:
    """Score and store one unit under its lock; False when another process holds it (``blocking``: wait)."""
    import filelock

    lock = store.unit_lock(*unit)
    try:
        lock.acquire(timeout=-1 if blocking else 0)
    except filelock.Timeout:
        return False
    try:
        if not store.has_shard(*unit):
            p, c = unit
            shard_size = max(plan[(p, 0)], 1)
            rows = slice(c * shard_size, c * shard_size + plan[unit])
            prompt_id, text = job.prompt_frame.iloc[p]["prompt_id"], job.prompt_frame.iloc[p]["text"]
            scores, n_tokens = score_unit(job.lm, job.conv, job.kind, text, job.resp.subset(rows),
                                          batch_size=job.batch_size, end_of_turn=job.end_of_turn,
                                          progress=bar.update)
            store.write_shard(p, c, unit_frame(job, p, rows, prompt_id, scores, n_tokens), expected_rows=plan[unit])
            state["written"] += 1
        else:
            bar.update(plan[unit])
    finally:
        lock.release()
    state["units"] += 1
    bar.set_postfix_str(f"units {state['units']}/{n_units}")
    return True


def unit_frame(job: Job, p: int, rows: slice, prompt_id: str, scores, n_tokens) -> pd.DataFrame:
    """The tidy rows of one unit."""
    shard = job.rows().iloc[rows].reset_index(drop=True)
    shard.insert(0, "prompt_id", prompt_id)
    shard.insert(0, "kind", job.kind)
    shard.insert(0, "dtype", job.lm.dtype_name)
    shard.insert(0, "revision", job.lm.revision)
    shard.insert(0, "model_id", job.lm.id)
    shard["n_tokens"] = np.asarray(n_tokens, dtype=np.int32)
    shard["score"] = scores
    return shard


def score_frame(*args, **kwargs) -> pd.DataFrame:
    """:func:`score`, then the tidy results as a DataFrame."""
    return read_results(score(*args, **kwargs))


__all__ = ["score", "score_frame", "score_unit", "prepare", "run_units", "Job", "conversation_for", "prompt_table", "default_kind", "KINDS"]
