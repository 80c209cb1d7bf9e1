"""One repository URL everywhere (rmnb.base.provenance reads it from [tool.rmnb] in pyproject.toml), and the script
that rewrites every copy of it (tools/set_repository_url.py)."""

import subprocess
import sys
import tomllib
from types import SimpleNamespace

import yaml

from conftest import ROOT
from rmnb.base import provenance
from rmnb.builder import citation, launch, sphinx_ext

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
    assert "rmnb.builder.sphinx_ext" in config["sphinx"]["extra_extensions"]
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
