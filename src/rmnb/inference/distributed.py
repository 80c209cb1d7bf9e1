"""Score a run's work units on Ray workers (``rmnb score --executor ray``).

Ray is the engine (``pip install 'rmnb[ray]'``); rmnb writes no scheduler. Each worker is a Ray actor that loads
the model once (``num_gpus`` per worker where the cluster has GPUs) and scores units
(:mod:`rmnb.data.units`) handed to it, writing each unit straight into the results store, which must therefore
be on a filesystem every worker sees (a shared filesystem on a cluster; any folder for a local Ray instance).

A local Ray instance started here is stopped when the driver ends, also when it is killed (a watchdog,
:mod:`rmnb.inference.ray_watchdog`); a cluster joined with ``--address`` is left alone.

The driver (this process) holds the run's lock, opens or resumes the run, gives each worker two units at a time
(the next one as soon as one is done), shows a progress bar (units, ETA), then verifies and completes the run.
A worker that dies (killed, out of memory, node lost) is restarted by Ray, reloads the model, and its units are
retried (``UNIT_RETRIES``); a unit is one atomic file written under its unit lock, so every unit lands exactly
once. A unit that fails with an error (not a dead worker) stops the job: the units stored so far are kept, and
running the same command again resumes.
"""

from __future__ import annotations

import os
import platform
import socket
import subprocess
import sys
from pathlib import Path

from rmnb.base.errors import RmnbError
from rmnb.base.progress import progress_bar
from rmnb.data.store import RunStore
from rmnb.data.units import plan_units
from rmnb.inference.validate import check_score_inputs

RAY_HINT = ("--executor ray needs Ray, which is not installed. Fix: pip install 'rmnb[ray]' (or pip install "
            "'ray>=2.9'), or leave out --executor ray to score in this process.")
UNIT_RETRIES = 3         # restarts of a dead worker, and retries of the units it held
IN_FLIGHT = 2            # units queued per worker: the next one waits while the current one runs
LOCAL_OBJECT_STORE = 200 * 1024 * 1024  # bytes: the workers exchange only small results


def import_ray():
    try:
        import ray
    except ImportError:
        raise RmnbError(RAY_HINT) from None
    return ray


def check_address(address: str | None) -> None:
    """``None`` (start a local Ray), ``auto`` (the cluster this machine belongs to), ``HOST:PORT`` or
    ``ray://HOST:PORT``; a HOST:PORT is tried (5 s) before Ray is asked, so an unreachable one fails fast."""
    if address is None or address == "auto":
        return
    target = address.split("://", 1)[1] if address.startswith("ray://") else address
    host, _, port = target.rpartition(":")
    if not host or not port.isdigit():
        raise RmnbError(f"address (--address) is {address!r}: write auto, HOST:PORT (e.g. 10.0.0.5:6379) or "
                        "ray://HOST:PORT. Fix: `ray status` on the cluster's head node prints the address; or leave "
                        "--address out to start a local Ray instance on this machine.")
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as exc:
        raise RmnbError(f"no Ray cluster answers at {address} ({type(exc).__name__}: {exc.strerror or exc}). Fix: "
                        f"start one there (`ray start --head --port {port}` on {host}), check the address "
                        "(`ray status` on the head node prints it) and that this machine can reach it, or leave "
                        "--address out to start a local Ray instance on this machine.") from None


def connect(ray, address: str | None, workers: int | None) -> bool:
    """Join the cluster at ``address`` or start a local instance; True when this call started Ray."""
    if ray.is_initialized():
        return False
    common = dict(include_dashboard=False, configure_logging=False, log_to_driver=True)
    if address is None:
        ray.init(num_cpus=max(int(workers or 2), 1), object_store_memory=LOCAL_OBJECT_STORE, **common)
        start_watchdog(ray)
        return True
    env = {k: v for k, v in os.environ.items() if k.startswith(("RMNB_", "HF_")) or k == "OMP_WAIT_POLICY"}
    try:
        ray.init(address=address, runtime_env={"env_vars": env}, **common)
    except ConnectionError as exc:
        raise RmnbError(f"could not join a Ray cluster at {address} ({exc}). Fix: start one (`ray start --head`) "
                        "and pass its address, or leave --address out to start a local Ray instance.") from None
    return True


def start_watchdog(ray) -> subprocess.Popen | None:
    """Beside a local Ray instance started here: a detached process that stops its processes once this one is
    gone, even killed (:mod:`rmnb.inference.ray_watchdog`). Never for a cluster joined with ``--address``."""
    if not sys.platform.startswith("linux"):
        return None
    node_id = ray.get_runtime_context().get_node_id()
    return subprocess.Popen([sys.executable, "-m", "rmnb.inference.ray_watchdog", str(os.getpid()), node_id],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


class ScoreWorker:
    """A Ray actor: one loaded model, scoring units of one run into the shared store."""

    def __init__(self, prepare, run_units, model, prompts, responses, options: dict, threads: int | None):
        if threads:
            import torch

            torch.set_num_threads(threads)
        self.run_units = run_units
        self.job = prepare(model, prompts, responses, verbose=False, **options)
        self.store = self.job.store()
        self.store.shared = True  # the driver holds the run's lock; units are written under unit locks

    def describe(self) -> dict:
        j = self.job
        return {"root": str(j.root), "params": j.params, "key": self.store.key, "model_id": j.lm.id,
                "revision": j.lm.revision, "kind": j.kind, "label": j.lm.spec.label, "responses_name": j.resp.name,
                "prompts_name": j.prompts_name, "n_prompts": len(j.prompt_frame), "n_responses": len(j.resp),
                "shard_size": j.shard_size, "inputs": j.inputs, "warnings": j.warnings, "session": j.session()}

    def run_unit(self, unit: tuple[int, int], shard_size: int) -> dict:
        plan = self.job.plan(shard_size)
        written = self.run_units(self.job, self.store, plan, [tuple(unit)], progress=False)
        return {"unit": tuple(unit), "written": written, "pid": os.getpid(), "host": platform.node()}


def score_ray(model, prompts, responses, *, prepare, run_units, reuse, address: str | None = None,
              workers: int | None = None, gpus_per_worker: float | None = None, refresh: bool = False,
              wait: bool = False, progress: bool = True, **options) -> Path:
    """:func:`rmnb.inference.job.score` on Ray workers; returns the run folder (see the module's docstring).

    ``prepare``, ``run_units`` and ``reuse`` are :mod:`rmnb.inference.job`'s (passed in, so that this module
    does not import the job that imports it): build a worker's job, score units, reuse or restart a stored run."""
    if not isinstance(model, (str, Path)):
        raise RmnbError("--executor ray needs a model id or folder (each worker loads the model itself), not a "
                        "loaded model. Fix: pass its id or folder.")
    check_score_inputs(str(model), prompts=prompts, responses=responses, kind=options.get("kind"),
                       out=options.get("out"), revision=options.get("revision"),
                       batch_size=options.get("batch_size"), shard_size=options.get("shard_size"),
                       chat_template=options.get("chat_template"), random_head=options.get("random_head", False))
    ray = import_ray()
    check_address(address)
    started = connect(ray, address, workers)
    actors = []
    try:
        resources = ray.cluster_resources()
        gpus = float(gpus_per_worker if gpus_per_worker is not None else (1 if resources.get("GPU", 0) else 0))
        n = int(workers or (max(int(resources.get("GPU", 0) // gpus), 1) if gpus else 2))
        threads = max(1, int(resources.get("CPU", 1) // n)) if address is None else None
        cpus = min(1.0, float(resources.get("CPU", 1)) / n)  # n workers fit a small local instance
        worker = ray.remote(ScoreWorker).options(num_cpus=cpus, num_gpus=gpus, max_restarts=UNIT_RETRIES,
                                                 max_task_retries=UNIT_RETRIES)
        actors = [worker.remote(prepare, run_units, str(model), prompts, responses, options, threads)
                  for _ in range(n)]
        try:
            info = ray.get(actors[0].describe.remote())
        except ray.exceptions.RayError as exc:
            raise RmnbError(f"the Ray workers could not load {model} ({_cause(exc)}). Fix: check that rmnb, the "
                            "model and the results folder are reachable from every worker.") from None
        for warning in info["warnings"]:
            print(f"rmnb: warning: {warning}", file=sys.stderr)
        store = RunStore(info["root"], info["params"], model_id=info["model_id"], revision=info["revision"],
                         kind=info["kind"], responses_name=info["responses_name"], prompts_name=info["prompts_name"])
        if store.key != info["key"]:
            raise RmnbError("the Ray workers run another rmnb version than this process (their run key differs). "
                            "Fix: install the same rmnb on every machine of the cluster.")
        with store.lock(wait=wait):
            done = reuse(store, refresh, progress)
            if done is not None:
                return done
            session = {**info["session"], "executor": "ray", "workers": n, "gpus_per_worker": gpus,
                       "address": address or "local", "argv": sys.argv, "host": platform.node(),
                       "pid": os.getpid()}  # the driver: the writer of the sidecar
            plan = plan_units(info["n_prompts"], info["n_responses"], info["shard_size"])
            shard_size = store.open(shard_size=info["shard_size"], n_units=len(plan), session=session,
                                    expected_rows=info["n_prompts"] * info["n_responses"],
                                    inputs_sha256=info["inputs"], warnings=info["warnings"])
            plan = plan_units(info["n_prompts"], info["n_responses"], shard_size)
            store.check_shards(plan)
            pending = [u for u in plan if not store.has_shard(*u)]
            bar = progress_bar(total=len(plan), initial=len(plan) - len(pending), unit="unit",
                               desc=f"{info['label']} {info['kind']} (Ray, {n} workers)", enabled=progress)
            try:
                written, pids = _dispatch(ray, actors, pending, shard_size, bar)
            except BaseException:
                bar.close()
                store.close_after_failure(shards_written=sum(store.has_shard(*u) for u in pending))
                raise
            bar.close()
            store.close(shards_written=written, finished=True,
                        session={"worker_pids": sorted(pids), "worker_processes": len(pids)})
        return store.folder
    finally:
        for actor in actors:
            try:
                ray.kill(actor)
            except Exception:  # noqa: BLE001 - already gone
                pass
        if started:
            ray.shutdown()


def _dispatch(ray, actors: list, pending: list, shard_size: int, bar) -> tuple[int, set]:
    """Keep ``IN_FLIGHT`` units queued on each worker until every pending unit is stored."""
    queue = list(pending)
    inflight = {}
    written, pids = 0, set()

    def submit(i):
        if queue:
            unit = queue.pop(0)
            inflight[actors[i].run_unit.remote(unit, shard_size)] = (i, unit)

    for _ in range(IN_FLIGHT):
        for i in range(len(actors)):
            submit(i)
    while inflight:
        ready, _ = ray.wait(list(inflight), num_returns=1)
        for ref in ready:
            i, unit = inflight.pop(ref)
            try:
                result = ray.get(ref)
            except ray.exceptions.RayError as exc:
                raise RmnbError(f"unit p{unit[0]:04d}-c{unit[1]:04d} failed on a Ray worker ({_cause(exc)}), after "
                                f"up to {UNIT_RETRIES} retries of a dead worker. The units stored so far are "
                                "kept: run the same command again to resume.") from None
            written += result["written"]
            pids.add(f"{result['host']}:{result['pid']}")
            bar.update(1)
            submit(i)
    return written, pids


def _cause(exc) -> str:
    text = str(exc).strip().splitlines()
    return text[-1][:300] if text else type(exc).__name__


__all__ = ["score_ray", "ScoreWorker", "check_address", "import_ray", "RAY_HINT", "UNIT_RETRIES"]
