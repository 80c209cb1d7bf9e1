"""The ``rmnb score`` subcommand: score any reward model or language model over prompts x responses.

Examples::

    rmnb score --model smollm2-135m-instruct --responses big-two --prompts paper54
    rmnb score --model smollm2-135m-instruct --kind reward --responses vocab --prompts facct3 --dtype bfloat16
    rmnb score --model Ray2333/GRM-gemma2-2B-rewardmodel-ft --responses mfd2 --out scores/
"""

from __future__ import annotations

import argparse
import os
import sys


# Idle OpenMP threads sleep instead of spinning: on a busy machine (a shared 2-core CI runner) spinning threads
# slow torch down several-fold. Effective only before torch is first imported, hence here.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

HELP = "score a reward model or language model over prompts x responses (results store: tidy parquet)"


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("score", help=HELP, description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, metavar="ID",
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
    p.add_argument("--trust-remote-code", action="store_true",
                   help="allow the repository's own Python code for a model whose revision is not pinned")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    """Run the ``score`` subcommand; prints the run folder on stdout."""
    from rmnb.score_job import score

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    folder = score(args.model, prompts=args.prompts, responses=args.responses, kind=args.kind, out=args.out,
                   revision=args.revision, dtype=args.dtype, device=args.device, batch_size=args.batch_size,
                   shard_size=args.shard_size, trust_remote_code=args.trust_remote_code,
                   chat_template=args.chat_template, prompt_format=args.prompt_format,
                   system_prompt=args.system_prompt, end_of_turn=args.end_of_turn, progress=not args.quiet)
    print(folder)
    return 0


def main(argv=None) -> int:
    """``python -m rmnb.score_cli ARGS`` is ``rmnb score ARGS``."""
    from rmnb.cli import main as rmnb_main

    return rmnb_main(["score", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
