"""The online book's affordances: one repository URL everywhere, launch buttons, citation BibTeX from CITATION.cff,
figure numbers by chapter, author-year reference labels (rmnb.build.sphinx_ext, launch, citation)."""

import subprocess
import sys
import tomllib
from pathlib import Path
from types import SimpleNamespace

import yaml

from rmnb.base import provenance
from rmnb.build import citation, launch, sphinx_ext

ROOT = Path(__file__).resolve().parents[1]
FIX = "Fix: python tools/set_repository_url.py <url> (the one place is [tool.rmnb] repository in pyproject.toml)"


def test_one_repository_url_everywhere():
    url = provenance.repository_url()
    assert launch.github_parts(url), f"[tool.rmnb] repository must be https://github.com/<org>/<repo>, not {url!r}"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert project["Repository"] == url and project["Issues"] == url + "/issues", FIX
    assert project["Homepage"] == provenance.site_url() == cff["url"], FIX
    assert cff["repository-code"] == url, FIX
    assert citation.book_bibtex(cff).count(url) == 1
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert "repository" not in config, "_config.yml must not hold its own repository URL (sphinx_ext sets it)"
    assert "rmnb.build.sphinx_ext" in config["sphinx"]["extra_extensions"]
    sphinx_config = SimpleNamespace(html_theme_options={"search_bar_text": "Search"})
    sphinx_ext._set_repository(None, sphinx_config)
    options = sphinx_config.html_theme_options
    assert options["repository_url"] == url and options["search_bar_text"] == "Search"
    assert all(options[button] for button in sphinx_ext.REPOSITORY_BUTTONS)


def test_set_repository_url_rewrites_every_copy(tmp_path):
    for name in ("pyproject.toml", "CITATION.cff"):
        (tmp_path / name).write_text((ROOT / name).read_text())
    (tmp_path / "tools").mkdir()
    script = tmp_path / "tools" / "set_repository_url.py"
    script.write_text((ROOT / "tools" / "set_repository_url.py").read_text())
    proc = subprocess.run([sys.executable, str(script), "https://github.com/Someone/fork"], capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr
    old = provenance.repository_url()
    for name in ("pyproject.toml", "CITATION.cff"):
        text = (tmp_path / name).read_text()
        assert old not in text and "https://github.com/Someone/fork" in text
        assert "https://someone.github.io/fork/" in text
    bad = subprocess.run([sys.executable, str(script), "not-a-url"], capture_output=True, text=True)
    assert bad.returncode == 2 and "usage" in bad.stderr


def test_launch_buttons_per_chapter():
    config = {"branch": "main", "colab-branch": "notebooks"}
    links = launch.launch_links("01_big_two", "https://github.com/org/repo", config)
    assert [b["text"] for b in links] == ["Colab", "Binder"]
    assert links[0]["url"] == "https://colab.research.google.com/github/org/repo/blob/notebooks/01_big_two.ipynb"
    assert links[1]["url"] == "https://mybinder.org/v2/gh/org/repo/main?urlpath=lab/tree/notebooks/01_big_two.md"
    assert launch.NEEDS["01_big_two"] in links[0]["tooltip"]
    in_folder = launch.launch_links("01_big_two", "https://github.com/org/repo",
                                    {"colab-branch": "main", "colab-folder": "handout/"})
    assert in_folder[0]["url"].endswith("/org/repo/blob/main/handout/01_big_two.ipynb")
    assert [b["text"] for b in launch.launch_links("03_base_model_logprobs", "https://github.com/org/repo", config)
            ] == ["Colab"]  # loads models: no Binder
    assert launch.launch_links("01_big_two", "https://gitlab.com/org/repo", config) == []
    chapters = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.md"))
    assert sorted(launch.NEEDS) == chapters, "every chapter says what it needs (rmnb.build.launch.NEEDS)"
    assert set(launch.BINDER_CHAPTERS) <= set(chapters)


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


def test_bibtex_generated_from_citation_cff():
    cff = citation.read_cff(ROOT)
    paper = citation.paper_bibtex(cff)
    assert paper.startswith("@inproceedings{christian2026reward,")
    assert "Christian, Brian and Thompson, Jessica A. F." in paper and "eprint        = {2601.20838}" in paper
    book = citation.book_bibtex(cff)
    assert book.startswith("@software{rmnb,") and "author  = {{rmnb contributors}}" in book
    assert f"version = {{{cff['version']}}}" in book


def test_colab_notebooks_open_with_the_install_cell(tmp_path):
    import importlib.util

    import nbformat

    spec = importlib.util.spec_from_file_location("colab_notebooks", ROOT / "tools" / "colab_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    written = module.write_colab_notebooks(tmp_path)
    assert sorted(p.stem for p in written) == sorted(launch.NEEDS)  # one per chapter the buttons open
    nb = nbformat.read(written[0], as_version=4)
    assert f"git clone --depth 1 {provenance.repository_url()} " in nb.cells[0].source
    assert any("parameters" in c.metadata.get("tags", []) for c in nb.cells[1:])
