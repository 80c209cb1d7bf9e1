"""Key findings: what each chapter says about the paper's headline claims, gathered on the landing page.

A chapter records a finding where it compares its result with the paper's (its "numbers next to ours" cell)::

    res.finding("train_direction", claim="...", paper=reported.value("train_direction"), book=<text with our numbers>,
                verdict=findings.verdict(<a check a tested rmnb function computed>))

:meth:`rmnb.book.results.Results.finding` checks it and stores it, in order, under ``"findings"`` in the chapter's
results JSON (``_build/results/<chapter>.json``). At build time :func:`write_findings_fragment` reads those files
for every chapter of the book's TOC and writes ``book/chapters/findings.inc``: one row per finding (chapter, claim,
paper, this book, verdict), a "not built" row for a chapter that was not run or records none; and ``hero.inc``, the
landing page's figure (a chapter figure rendered to PNG). ``book/intro.md`` includes both, ``book/discussion.md``
the table. Nothing in the table is typed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from rmnb.base.errors import RmnbError
from rmnb.book.tables import escape_markdown

# What a verdict means; :func:`verdict` is the one place that decides between them.
VERDICTS = {
    "reproduced": "every check of the claim agrees with the paper",
    "partly reproduced": "some checks agree with the paper and some do not",
    "not reproduced": "no check agrees with the paper",
    "not tested": "the data or models the check needs were not available in this run",
    "inconclusive": "the check ran as planned but its test could not decide at this size (more data needed)",
}
NOT_BUILT = "not built"          # the landing table's verdict for a chapter with no findings
FRAGMENT = "findings.inc"        # written next to the executed chapters
HERO_FRAGMENT = "hero.inc"
HERO_IMAGE = "hero.png"
# The landing page's figure: (chapter, the name the chapter saved its chart under with ``res.figure``, caption).
HERO = ("01_big_two", "fig-01-big2-violins",
        "The paper's headline, redrawn from the authors' released scores: where the paper's open reward models rank the "
        "agency and communion words, by the family of their base model (reproduces the paper's Fig. 1a; "
        "{ref}`ch01` has the statistics).")
FIELDS = ("claim", "paper", "book", "verdict")


def verdict(*checks: bool | None, inconclusive: bool = False) -> str:
    """The verdict of a claim from its checks (each ``True`` when the book agrees with the paper, ``False`` when it
    does not, ``None`` when it could not be checked): "reproduced" when every check agrees, "not reproduced" when
    none does, "partly reproduced" in between; with no check made, "inconclusive" when the test ran but could not
    decide (``inconclusive=True``, e.g. a pre-registered test short of its seeds), else "not tested"."""
    made = [bool(c) for c in checks if c is not None]
    if not made:
        return "inconclusive" if inconclusive else "not tested"
    return "reproduced" if all(made) else "not reproduced" if not any(made) else "partly reproduced"


def check_finding(key: str, **fields) -> dict:
    """A finding as stored: ``{"key", "claim", "paper", "book", "verdict", "source"}``; a bad one is an error that
    names the field and the fix."""
    if not isinstance(key, str) or not re.fullmatch(r"[A-Za-z_][\w.-]*", key):
        raise RmnbError(f"finding key {key!r} is not valid: use letters, digits and underscores (such as "
                        f"'train_direction').")
    for name in ("claim", "paper", "book"):
        value = fields.get(name)
        if not isinstance(value, str) or not value.strip():
            raise RmnbError(f"finding {key!r}: {name}={value!r} must be non-empty text. Fix: pass {name}=\"...\" "
                            f"(the book's value formatted into a sentence, or reported.value(...) for the paper).")
    if fields.get("verdict") not in VERDICTS:
        raise RmnbError(f"finding {key!r}: verdict={fields.get('verdict')!r} is not one of {', '.join(VERDICTS)}. "
                        f"Fix: pass verdict=findings.verdict(<checks>).")
    source = fields.get("source")
    return {"key": key, **{name: fields[name].strip() for name in FIELDS}, "source": source or None}


def toc_chapter_stems(root: Path) -> list[str]:
    """The chapter stems the book's ``_toc.yml`` lists (``book/chapters/<stem>`` entries), in reading order; none
    when ``root`` has no ``_toc.yml``."""
    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("file"), str):
                yield node["file"]
            for value in node.values():
                yield from walk(value)
        elif isinstance(node, list):
            for item in node:
                yield from walk(item)

    path = Path(root) / "_toc.yml"
    if not path.exists():
        return []
    toc = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [f.split("book/chapters/", 1)[1] for f in walk(toc) if f.startswith("book/chapters/") and
            re.match(r"\d\d_", f.split("book/chapters/", 1)[1])]


def read_findings(results_dir: Path, stem: str) -> list[dict] | None:
    """A chapter's recorded findings, ``[]`` when it records none, ``None`` when it has no results file (not run)."""
    path = Path(results_dir) / f"{stem}.json"
    if not path.exists():
        return None
    return json.loads(path.read_text(encoding="utf-8")).get("findings") or []


def chapter_link(stem: str) -> str:
    """``{ref}`Ch. 5 <ch05>``` for ``05_training_ablations`` (every chapter opens with a ``(chNN)=`` label)."""
    number = stem[:2]
    return f"{{ref}}`Ch. {int(number)} <ch{number}>`"


def finding_rows(stems: list[str], results_dir: Path) -> list[list[str]]:
    """The landing table's rows (Markdown cells): one per finding, or one "not built" row per chapter without."""
    rows = []
    for stem in stems:
        found = read_findings(results_dir, stem)
        if not found:
            why = "Not run in this build." if found is None else "Records no key findings yet."
            rows.append([chapter_link(stem), why, "—", "—", NOT_BUILT])
            continue
        for f in found:
            paper = escape_markdown(f["paper"]) + (f" — *{escape_markdown(f['source'])}*" if f.get("source") else "")
            rows.append([chapter_link(stem), escape_markdown(f["claim"]), paper, escape_markdown(f["book"]),
                         f"**{f['verdict']}**"])
    return rows


def hero_figure(results_dir: Path, out_dir: Path) -> list[str]:
    """The hero figure's MyST lines: :data:`HERO`'s saved chart rendered to ``<out_dir>/hero.png`` (offline, with
    vl-convert), or a line saying the chapter has not been run. The image path starts at the book's root
    (``/book/chapters/hero.png``; ``results_dir`` is ``<root>/_build/results``), so it resolves from any page that
    includes the fragment."""
    stem, name, caption = HERO
    spec = Path(results_dir) / "figures" / f"{name}.vl.json"
    if not spec.exists():
        return [f"*The landing figure appears once {chapter_link(stem)} has run (`rmnb run {stem[:2]}`).*", ""]
    import vl_convert

    # PNG, not SVG: vl-convert lays text out with its own fonts, and an SVG drawn with the browser's clips labels
    (Path(out_dir) / HERO_IMAGE).write_bytes(vl_convert.vegalite_to_png(spec.read_text(encoding="utf-8"), scale=2))
    where = "/" + Path(out_dir).resolve().relative_to(Path(results_dir).resolve().parents[1]).as_posix()
    return [f":::{{figure}} {where}/{HERO_IMAGE}", ":name: fig-landing-hero", ":alt: " + caption.split(":")[0], "",
            caption, ":::", ""]


def findings_table(stems: list[str], results_dir: Path) -> str:
    """The key-findings table (MyST) and its key: one row per finding of the ``stems`` chapters."""
    rows = finding_rows(stems, results_dir)
    built = sum(r[-1] != NOT_BUILT for r in rows)
    header = ["Chapter", "Claim", "The paper", "This book", "Verdict"]
    lines = ["| " + " | ".join(header) + " |", "|---|---|---|---|---|",
             *("| " + " | ".join(r) + " |" for r in rows), "",
             f"{built} finding{'s' if built != 1 else ''} from {len({r[0] for r in rows if r[-1] != NOT_BUILT})} "
             f"of {len(stems)} chapters. Each row is computed when the book is built, from the results the chapter "
             "records (`_build/results/<chapter>.json`). Verdicts: "
             + "; ".join(f"**{v}**: {meaning}" for v, meaning in VERDICTS.items())
             + f"; **{NOT_BUILT}**: the chapter was not run in this build or records no key findings yet.", ""]
    return "\n".join(lines)


def write_findings_fragment(chapters_dir: Path, root: Path | None = None, results_dir: Path | None = None) -> list[Path]:
    """Write ``<chapters_dir>/findings.inc`` (the table, for the landing page and the Discussion) and ``hero.inc``
    (the landing page's figure, with its image) for the chapters of ``<root>/_toc.yml``, from
    ``<root>/_build/results`` unless ``results_dir`` is given."""
    chapters_dir = Path(chapters_dir)
    root = Path(root) if root else chapters_dir.resolve().parents[1]
    results_dir = Path(results_dir) if results_dir else root / "_build" / "results"
    chapters_dir.mkdir(parents=True, exist_ok=True)
    table, hero = chapters_dir / FRAGMENT, chapters_dir / HERO_FRAGMENT
    table.write_text(findings_table(toc_chapter_stems(root), results_dir), encoding="utf-8")
    hero.write_text("\n".join(hero_figure(results_dir, chapters_dir)), encoding="utf-8")
    return [table, hero]
