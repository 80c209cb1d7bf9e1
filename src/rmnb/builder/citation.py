"""Copy-ready BibTeX for the book and for the paper it replicates, generated from ``CITATION.cff`` (the one place the
citation is written) for the "How to cite" page.

:func:`write_citation_files` writes ``book/chapters/cite-book.bib`` and ``book/chapters/cite-paper.bib`` at build
time (the status page writer calls it with the other generated fragments); ``book/how-to-cite.md`` shows them with
``{literalinclude}``, so each has a copy button.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from rmnb.base.errors import RmnbError

BOOK_KEY = "rmnb"
_STOP = {"a", "an", "the", "on", "of", "in"}


def read_cff(root: Path) -> dict:
    """``<root>/CITATION.cff`` as a dict; an error naming the file when it is missing or not YAML."""
    path = Path(root) / "CITATION.cff"
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise RmnbError(f"{path} cannot be read ({exc}). Fix: restore CITATION.cff from git.") from None


def bibtex_names(authors: list[dict]) -> str:
    """CFF authors as a BibTeX author list: ``Family, Given and ...``; an entity (``name:``) in braces."""
    names = []
    for a in authors:
        if a.get("family-names"):
            names.append(f"{a['family-names']}, {a['given-names']}" if a.get("given-names") else a["family-names"])
        else:
            names.append("{" + str(a.get("name", "Anonymous")) + "}")
    return " and ".join(names)


def bibtex_entry(kind: str, key: str, fields: dict) -> str:
    """One BibTeX entry, fields aligned, values in braces (``None`` values left out)."""
    kept = {k: v for k, v in fields.items() if v not in (None, "")}
    width = max(map(len, kept))
    body = ",\n".join(f"  {k:<{width}} = {{{v}}}" for k, v in kept.items())
    return f"@{kind}{{{key},\n{body}\n}}\n"


def _identifier(entry: dict, kind: str, prefix: str = "") -> str | None:
    for ident in entry.get("identifiers", []):
        value = str(ident.get("value", ""))
        if ident.get("type") == kind and value.startswith(prefix):
            return value[len(prefix):]
    return None


def book_bibtex(cff: dict) -> str:
    """The book (``@software``) from the top level of ``CITATION.cff``."""
    released = str(cff.get("date-released") or "")
    return bibtex_entry("software", BOOK_KEY, {
        "title": cff["title"], "author": bibtex_names(cff.get("authors", [])), "version": cff.get("version"),
        "year": released[:4] or None, "url": cff.get("repository-code") or cff.get("url"),
        "license": cff.get("license"), "note": f"Book: {cff['url']}" if cff.get("url") else None})


def paper_key(paper: dict) -> str:
    """``christian2026reward``: first author's family name, year, first significant word of the title."""
    family = re.sub(r"[^a-z]", "", paper["authors"][0].get("family-names", "anon").lower())
    word = next((w for w in re.findall(r"[A-Za-z]+", paper["title"]) if w.lower() not in _STOP), "paper")
    return f"{family}{paper.get('year', '')}{word.lower()}"


def paper_bibtex(cff: dict) -> str:
    """The replicated paper (the first entry of ``references``) as ``@inproceedings`` (or ``@article``)."""
    refs = cff.get("references") or []
    if not refs:
        raise RmnbError("CITATION.cff lists no references: the paper the book replicates should be the first. "
                        "Fix: restore CITATION.cff from git.")
    paper = refs[0]
    conference = (paper.get("conference") or {}).get("name")
    arxiv = _identifier(paper, "other", "arXiv:")
    return bibtex_entry("inproceedings" if conference else "article", paper_key(paper), {
        "title": paper["title"], "author": bibtex_names(paper["authors"]), "booktitle": conference,
        "year": paper.get("year"), "eprint": arxiv, "archiveprefix": "arXiv" if arxiv else None,
        "doi": _identifier(paper, "doi"), "url": paper.get("url")})


def write_citation_files(chapters_dir: Path, root: Path | None = None) -> list[Path]:
    """Write ``cite-book.bib`` and ``cite-paper.bib`` into ``chapters_dir`` from ``<root>/CITATION.cff``."""
    chapters_dir = Path(chapters_dir)
    cff = read_cff(Path(root) if root else chapters_dir.resolve().parents[1])
    chapters_dir.mkdir(parents=True, exist_ok=True)
    out = []
    for name, text in (("cite-book.bib", book_bibtex(cff)), ("cite-paper.bib", paper_bibtex(cff))):
        (chapters_dir / name).write_text(text, encoding="utf-8")
        out.append(chapters_dir / name)
    return out
