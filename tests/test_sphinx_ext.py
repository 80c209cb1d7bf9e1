"""The book's Sphinx additions (rmnb.builder.sphinx_ext): repository and launch buttons on the right pages, figures
numbered by chapter, author-year reference labels."""

from types import SimpleNamespace

from conftest import ROOT
from rmnb.builder import sphinx_ext


def test_chapter_pages_edit_their_source_and_get_launch_buttons():
    edit = "https://github.com/o/r/edit/main/book/chapters/05_training_ablations.ipynb"
    context = {"page_source_suffix": ".ipynb", "header_buttons": [
        {"type": "group", "label": "source-buttons", "buttons": [
            {"type": "link", "label": "source-repository-button", "url": "https://github.com/o/r"},
            {"type": "link", "label": "source-edit-button", "url": edit}]}]}
    sphinx_ext._fix_buttons(None, "book/chapters/05_training_ablations", "page.html", context, None)
    groups = {g["label"]: g for g in context["header_buttons"]}
    assert groups["source-buttons"]["buttons"][1]["url"] == (
        "https://github.com/o/r/edit/main/notebooks/05_training_ablations.md")
    assert [b["text"] for b in groups["launch-buttons"]["buttons"]] == ["Colab", "Binder"]
    status = {"page_source_suffix": ".md", "header_buttons": [
        {"type": "link", "label": "source-edit-button", "url": "https://github.com/o/r/edit/main/book/chapters/status.md"}]}
    sphinx_ext._fix_buttons(None, "book/chapters/status", "page.html", status, None)
    assert status["header_buttons"] == []  # a generated page has no source to edit


def test_figures_are_numbered_by_chapter():
    env = SimpleNamespace(toc_fignumbers={
        "book/chapters/03_base_model_logprobs": {"figure": {"fig-a": (7,), "fig-b": (9,)}, "table": {"t": (2,)}},
        "book/_runs/x/01_big_two": {"figure": {"f": (1,)}},
        "book/intro": {"figure": {"hero": (12,)}}})
    sphinx_ext.number_figures_by_chapter(None, env)
    assert env.toc_fignumbers["book/chapters/03_base_model_logprobs"] == {"figure": {"fig-a": (3, 1), "fig-b": (3, 2)},
                                                                           "table": {"t": (3, 1)}}
    assert env.toc_fignumbers["book/_runs/x/01_big_two"]["figure"]["f"] == (1, 1)
    assert env.toc_fignumbers["book/intro"]["figure"]["hero"] == (1,)


def test_author_year_labels():
    from pybtex.database import parse_string

    bib = parse_string((ROOT / "book" / "references.bib").read_text(), "bibtex")
    labels = {key: sphinx_ext.author_year_label(entry) for key, entry in bib.entries.items()}
    assert labels["christian2026reward"] == "Christian et al., 2026"
    assert labels["christian2025optimal"] == "Christian et al., 2025"
    two = parse_string("@article{k, author={Abele, Andrea and Wojciszke, Bogdan}, year={2007}, title={T}}", "bibtex")
    assert sphinx_ext.author_year_label(two.entries["k"]) == "Abele and Wojciszke, 2007"
