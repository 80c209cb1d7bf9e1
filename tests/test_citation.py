"""Copy-ready BibTeX for the book and the paper, generated from CITATION.cff (rmnb.builder.citation)."""

from conftest import ROOT
from rmnb.builder import citation


def test_bibtex_generated_from_citation_cff():
    cff = citation.read_cff(ROOT)
    paper = citation.paper_bibtex(cff)
    assert paper.startswith("@inproceedings{christian2026reward,")
    assert "Christian, Brian and Thompson, Jessica A. F." in paper and "eprint        = {2601.20838}" in paper
    book = citation.book_bibtex(cff)
    assert book.startswith("@software{rmnb,") and "author  = {{rmnb contributors}}" in book
    assert f"version = {{{cff['version']}}}" in book
