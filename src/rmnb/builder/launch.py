"""Run a chapter elsewhere: the launch buttons of each chapter page (Colab for every chapter, Binder for the ones
that load no model) and what each chapter needs, shown on the buttons and in the landing page's table.

Colab opens ``<colab-folder>/<stem>.ipynb`` on the ``colab-branch`` (``[tool.rmnb]`` in ``pyproject.toml``): the
chapters as Jupyter notebooks, which have to be published there (``tools/README.md``, "Launch buttons"). Binder
builds the repository from ``environment.yml`` and opens the chapter's source, ``notebooks/<stem>.md``, which
jupytext opens as a notebook. :mod:`rmnb.builder.sphinx_ext` puts the buttons on the pages.
"""

from __future__ import annotations

import re
from pathlib import Path

from rmnb.base.provenance import repository_url, site_config
from rmnb.book.findings import chapter_link
from rmnb.book.tables import escape_markdown

COLAB_URL = "https://colab.research.google.com"
BINDER_URL = "https://mybinder.org"
FRAGMENT = "launch.inc"  # written next to the executed chapters; book/intro.md includes it
# Binder's free machines have about 2 GB of memory and no GPU: offered for the chapters that load no model.
BINDER_CHAPTERS = ("01_big_two", "02_moral_foundations", "05_training_ablations")
# What running a chapter needs, shown on its launch buttons and in the landing page's table.
NEEDS = {
    "00_token_search": "installs the two small reward models rmnb trained; a GPU searches the whole vocabulary",
    "01_big_two": "the authors' released scores only (no model)",
    "02_moral_foundations": "the authors' released scores only (no model)",
    "03_base_model_logprobs": "two small language models (SmolLM2-135M-Instruct, Gemma 3 270M), installed from PyPI",
    "04_implicit_reward": "the same two small language models, and a short LoRA fine-tune on the CPU",
    "05_training_ablations": "the authors' released ablation files only (no model)",
    "06_training_live": "installs the two small reward models and trains a short run; a GPU trains faster",
    "07_greatest_thing": "every model of the chapters before it",
}


def github_parts(url: str) -> tuple[str, str] | None:
    """``("org", "repo")`` of ``https://github.com/org/repo``, else None."""
    match = re.fullmatch(r"https://github\.com/([^/]+)/([^/]+)", url)
    return (match[1], match[2]) if match else None


def launch_links(stem: str, repository: str | None = None, config: dict | None = None) -> list[dict]:
    """The launch buttons of chapter ``stem`` (sphinx-book-theme's button dicts): Colab always, Binder for
    :data:`BINDER_CHAPTERS`; each tooltip says what the chapter needs. None without a GitHub repository URL."""
    config = config if config is not None else site_config()
    parts = github_parts(repository or repository_url())
    if not parts:
        return []
    org, repo = parts
    needs = NEEDS.get(stem, "see the chapter's Run box")
    links = [{"type": "link", "text": "Colab", "icon": "_static/images/logo_colab.png", "label": "launch-colab",
              "tooltip": f"Open in Colab (installs rmnb in its first cell): {needs}",
              "url": f"{COLAB_URL}/github/{org}/{repo}/blob/{config.get('colab-branch', 'notebooks')}/"
                     + "/".join(p for p in (config.get("colab-folder", "").strip("/"), f"{stem}.ipynb") if p)}]
    if stem in BINDER_CHAPTERS:
        links.append({"type": "link", "text": "Binder", "icon": "_static/images/logo_binder.svg",
                      "label": "launch-binder", "tooltip": f"Open on Binder (CPU, about 2 GB of memory): {needs}",
                      "url": f"{BINDER_URL}/v2/gh/{org}/{repo}/{config.get('branch', 'main')}"
                             f"?urlpath=lab/tree/notebooks/{stem}.md"})
    return links


def launch_table(stems: list[str]) -> str:
    """The landing page's "run it elsewhere" table: chapter, what it needs, where it launches (Markdown)."""
    lines = ["| Chapter | What it needs | Launch |", "|---|---|---|"]
    for stem in stems:
        where = " · ".join(f"[{link['text']}]({link['url']})" for link in launch_links(stem)) or "—"
        lines.append(f"| {chapter_link(stem)} | {escape_markdown(NEEDS.get(stem, '—'))} | {where} |")
    return "\n".join(lines) + "\n"


def write_launch_fragment(chapters_dir: Path, stems: list[str]) -> Path:
    """Write ``<chapters_dir>/launch.inc`` (the table of :func:`launch_table`)."""
    out = Path(chapters_dir) / FRAGMENT
    out.write_text(launch_table(stems), encoding="utf-8")
    return out
