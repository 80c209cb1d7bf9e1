"""The generated parts of the front and back matter, written next to the executed chapters at every build (the
status page writer calls :func:`write_page_fragments`), so that no number or list on those pages is typed:

- ``findings.inc``, ``hero.inc`` and ``hero.png``: the key findings and the landing page's figure
  (:mod:`rmnb.book.findings`);
- ``launch.inc``: what each chapter needs and where it launches (:mod:`rmnb.builder.launch`);
- ``cite-book.bib``, ``cite-paper.bib``: the "How to cite" page's BibTeX (:mod:`rmnb.builder.citation`).

(``timings.inc``, the teacher's guide's run times, comes from :mod:`rmnb.seminar.timings`.)
"""

from __future__ import annotations

from pathlib import Path

from rmnb.book.findings import toc_chapter_stems, write_findings_fragment
from rmnb.builder.citation import write_citation_files
from rmnb.builder.launch import write_launch_fragment


def write_page_fragments(chapters_dir: Path, root: Path | None = None) -> list[Path]:
    """Write every fragment above into ``chapters_dir`` (the book's root: ``root``, else two folders up). A root
    without ``_toc.yml`` gets tables without chapters, one without ``CITATION.cff`` no BibTeX (a page that includes
    a missing fragment then fails the strict build, naming it)."""
    chapters_dir = Path(chapters_dir)
    root = Path(root) if root else chapters_dir.resolve().parents[1]
    chapters_dir.mkdir(parents=True, exist_ok=True)
    written = [*write_findings_fragment(chapters_dir, root), write_launch_fragment(chapters_dir, toc_chapter_stems(root))]
    return written + (write_citation_files(chapters_dir, root) if (root / "CITATION.cff").exists() else [])
