"""``rmnb`` command line: run chapters, build the book, score models.

    rmnb run 01 -p n_permutations=999      execute one chapter (or a glob) into book/chapters/
    rmnb run 01 --help                     list the chapter's parameters
    rmnb run 01 --model ID                 the chapter with another model, as a variant page (book/_runs/)
    rmnb compare --model ID                score an RM on Big Two + MFD2, show it next to the paper's 10
    rmnb book [--smoke]                    run every chapter, then build the HTML book (-W)
    rmnb score --model ID ...              score a reward model or language model (see rmnb score --help)
"""

from __future__ import annotations

import argparse
import sys

from .errors import RmnbError


def _parse_assignments(items) -> dict:
    from .runner import parse_value

    out = {}
    for item in items or []:
        if "=" not in item:
            raise RmnbError(f"parameter {item!r} must be written name=value (e.g. -p n_permutations=999).")
        name, value = item.split("=", 1)
        out[name.strip()] = parse_value(value)
    return out


def _chapter_help(chapter: str) -> str:
    from .runner import chapter_parameters, resolve_chapters

    lines = []
    for path in resolve_chapters(chapter):
        lines.append(f"Parameters of chapter {path.stem} (set with -p name=value):")
        for p in chapter_parameters(path).values():
            lines.append(f"  {p.name:<24} {p.type_name:<6} default {p.default!r:<28} {p.comment}")
    return "\n".join(lines)


def _cmd_run(args) -> int:
    from .runner import resolve_chapters, run_chapter, run_variant, validate_parameters

    paths = resolve_chapters(args.chapter)
    values = _parse_assignments(args.param)
    for path in paths:  # validate everything before any work starts
        validate_parameters(path, values)
    profile = "smoke" if args.smoke else "default"
    if args.model:
        from .variants import require_model_support

        require_model_support(paths)
        folder = run_variant(paths, args.model, values, profile=profile, build=not args.no_build)
        print(f"[rmnb] variant for {args.model}: executed notebooks in {folder}")
        return 0
    for path in paths:
        out = run_chapter(path, values, profile=profile)
        print(f"[rmnb] {path.stem} -> {out}")
    return 0


def _cmd_compare(args) -> int:
    from .runner import resolve_chapters, run_variant

    paths = resolve_chapters("01") + resolve_chapters("02")
    folder = run_variant(paths, args.model, {}, profile="smoke" if args.smoke else "default", build=not args.no_build)
    print(f"[rmnb] {args.model} next to the paper's 10 RMs: {folder}")
    return 0


def _cmd_book(args) -> int:
    from .runner import build_book

    html = build_book(profile="smoke" if args.smoke else "default", execute=not args.no_execute)
    print(f"[rmnb] book built: {html / 'index.html'}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rmnb", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="execute a chapter with papermill")
    run.add_argument("chapter", help="chapter number, stem or glob (e.g. 01, 01_big_two, '0*')")
    run.add_argument("-p", "--param", action="append", metavar="NAME=VALUE", help="set a chapter parameter")
    run.add_argument("--smoke", action="store_true", help="use the quick settings of notebooks/params/smoke.yaml")
    run.add_argument("--model", metavar="ID", help="run the chapter with another model (HF id, alias or folder) "
                     "into book/_runs/<model>/ and build a variant page; the default book is untouched")
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
    book.set_defaults(func=_cmd_book)

    try:
        from . import score_cli
    except ImportError:  # the scoring engine is optional for the book's released-data chapters
        score_cli = None
    if score_cli is not None:
        score_cli.add_parser(sub)
    return parser


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if len(argv) >= 2 and argv[0] == "run" and {"-h", "--help"} & set(argv) and not argv[1].startswith("-"):
            print(_chapter_help(argv[1]))
            return 0
        args = build_parser().parse_args(argv)
        return args.func(args)
    except RmnbError as exc:
        print(f"rmnb: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
