"""The launch buttons of each chapter page (rmnb.builder.launch) and the Colab notebooks they open."""

from conftest import ROOT
from rmnb.base import provenance
from rmnb.builder import launch


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
    assert sorted(launch.NEEDS) == chapters, "every chapter says what it needs (rmnb.builder.launch.NEEDS)"
    assert set(launch.BINDER_CHAPTERS) <= set(chapters)


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
