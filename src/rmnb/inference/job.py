"""One scoring job, end to end: load the model, build prompts and responses, score, write the results store.

:func:`score` is what ``rmnb score`` runs; it returns the run folder (read it with
:func:`rmnb.data.store.read_results`). Running the same job again resumes an interrupted run, or returns the finished
one at once.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from rmnb.base.device import describe_device
from rmnb.base.errors import RmnbError
from rmnb.inference.logprobs import sequence_logprobs_cached, token_logprobs, with_end_of_turn
from rmnb.models.loading import LoadedModel, load_model, resolve_spec
from rmnb.inference.responses import Conversation, Responses, load_responses, strings
from rmnb.inference.reward import reward_scores_cached
from rmnb.data.prompts import load_prompts
from rmnb.data.store import RunStore, content_key, read_results
from rmnb.inference.validate import KINDS, check_score_inputs, random_head_refusal

SCORING_CODE = "prefix-kv-1"   # bump when a change to the scoring code changes numbers
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


def score(model: str | LoadedModel, prompts="paper54", responses: str | Responses | Sequence[str] = "vocab", *,
          kind: str | None = None, out: str | Path | None = None, revision: str | None = None,
          dtype: str | None = None, device: str = "auto", batch_size: int | None = None,
          shard_size: int | None = None, trust_remote_code: bool = False, chat_template: str | None = None,
          prompt_format: str | None = None, system_prompt: str | None = None, end_of_turn: bool = False,
          random_head: bool = False, refresh: bool = False, wait: bool = False, progress: bool = True,
          bos: str = "single") -> Path:
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
    """
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
    store = RunStore(root, params, model_id=lm.id, revision=lm.revision, kind=kind, responses_name=resp.name,
                     prompts_name=prompts_name)
    with store.lock(wait=wait):
        meta = store.meta()
        if refresh and meta:
            store.reset()
        elif meta.get("status") == "complete":
            why = store.problem(meta)
            if why:
                raise RmnbError(f"The stored run {store.folder} is incomplete or damaged ({why}): rerun with "
                                "--refresh (Python: refresh=True) to score it again.")
            if progress:
                print(f"rmnb: already scored (verified), nothing to do: {store.folder}", file=sys.stderr)
            return store.folder
        return _run(store, lm, conv, kind, prompt_frame, resp, batch_size=batch_size, shard_size=shard_size,
                    end_of_turn=end_of_turn, progress=progress, inputs=inputs, warnings=warnings,
                    prompts_name=prompts_name)


def _run(store: RunStore, lm: LoadedModel, conv: Conversation, kind: str, prompt_frame: pd.DataFrame,
         resp: Responses, *, batch_size: int, shard_size: int, end_of_turn: bool, progress: bool, inputs: str,
         warnings: list[str], prompts_name: str) -> Path:
    """Score the missing shards of a locked run, then verify and consolidate it."""
    n_chunks = -(-len(resp) // shard_size)
    session = {"device": describe_device(lm.device), "batch_size": batch_size, "argv": sys.argv,
               "responses_name": resp.name, "prompts_name": prompts_name}
    shard_size = store.open(shard_size=shard_size, n_units=len(prompt_frame) * n_chunks, session=session,
                            expected_rows=len(prompt_frame) * len(resp), inputs_sha256=inputs, warnings=warnings)
    n_chunks = -(-len(resp) // shard_size)
    units = [(p, c) for p in range(len(prompt_frame)) for c in range(n_chunks)]
    rows_of = {u: min(shard_size, len(resp) - u[1] * shard_size) for u in units}
    store.check_shards(rows_of)
    done = sum(rows_of[u] for u in units if store.has_shard(*u))

    from tqdm.auto import tqdm

    bar = tqdm(total=len(prompt_frame) * len(resp), initial=done, unit="cand", smoothing=0.1,
               desc=f"{lm.spec.label} {kind}", disable=not progress, dynamic_ncols=True)
    written = 0
    finished = False
    frame_cols = resp.frame()
    try:
        for p, c in units:
            if store.has_shard(p, c):
                continue
            rows = slice(c * shard_size, min((c + 1) * shard_size, len(resp)))
            chunk = resp.subset(rows)
            prompt_id, text = prompt_frame.iloc[p]["prompt_id"], prompt_frame.iloc[p]["text"]
            scores, n_tokens = score_unit(lm, conv, kind, text, chunk, batch_size=batch_size,
                                          end_of_turn=end_of_turn, progress=bar.update)
            shard = frame_cols.iloc[rows].reset_index(drop=True)
            shard.insert(0, "prompt_id", prompt_id)
            shard.insert(0, "kind", kind)
            shard.insert(0, "dtype", lm.dtype_name)
            shard.insert(0, "revision", lm.revision)
            shard.insert(0, "model_id", lm.id)
            shard["n_tokens"] = np.asarray(n_tokens, dtype=np.int32)
            shard["score"] = scores
            store.write_shard(p, c, shard, expected_rows=rows_of[(p, c)])
            written += 1
        finished = True
    finally:
        bar.close()
        store.close(shards_written=written, finished=finished)
    return store.folder


def score_frame(*args, **kwargs) -> pd.DataFrame:
    """:func:`score`, then the tidy results as a DataFrame."""
    return read_results(score(*args, **kwargs))


__all__ = ["score", "score_frame", "score_unit", "conversation_for", "prompt_table", "default_kind", "KINDS"]
