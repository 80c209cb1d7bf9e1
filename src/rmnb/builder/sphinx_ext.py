"""The book's Sphinx additions (``_config.yml``: ``sphinx: extra_extensions: [rmnb.builder.sphinx_ext]``).

- **Repository buttons from one place.** The repository, issue, edit and source buttons are turned on here, with
  the repository URL and branch of ``[tool.rmnb]`` in ``pyproject.toml``
  (:func:`rmnb.base.provenance.repository_url`), not in ``_config.yml``.
- **Per chapter: edit, source and launch buttons.** A chapter page is rendered from the executed notebook
  ``book/chapters/<stem>.ipynb``, which is not in the repository: its edit and source buttons point at the chapter's
  source ``notebooks/<stem>.md``, and its launch menu offers Colab for every chapter and Binder for the chapters
  that load no model, each button saying what the chapter needs (:mod:`rmnb.builder.launch`). Generated pages
  (``book/chapters/status``) get no edit or source button.
- **Figures numbered by chapter.** Chapter ``NN``'s figures are "Fig. N.1", "Fig. N.2", ... (tables "Table N.1"),
  the number taken from the file name, so they never clash with the paper's figure numbers. (Sphinx's own
  ``numfig_secnum_depth`` needs numbered toctrees, which restart at 1 in every part of this book and would put a
  second number in front of every chapter title.) Pages that are not chapters number their figures 1, 2, ...
- **Author-year bibliography labels.** The reference list's labels read "Christian et al., 2026", as the text cites
  them (``bibtex_default_style: rmnb_author_year``), instead of pybtex's alpha labels ("Chr26").
"""

from __future__ import annotations

import re

from rmnb.base.provenance import repository_url, site_config
from rmnb.builder.launch import launch_links

CHAPTER_DOC = re.compile(r"^book/(?:chapters|_runs/[^/]+)/(?P<stem>(?P<number>\d\d)_\w+)$")


def chapter_stem(docname: str) -> str | None:
    """``05_training_ablations`` for ``book/chapters/05_training_ablations`` (or a variant run's page), else None."""
    match = CHAPTER_DOC.match(docname)
    return match["stem"] if match else None


SOURCE_BUTTONS = ("source-file-button", "source-edit-button")  # sphinx-book-theme's "show source" and "suggest edit"


def _fix_buttons(app, pagename, templatename, context, doctree) -> None:
    """``html-page-context`` (after sphinx-book-theme): per-chapter source links and launch buttons."""
    if context.get("header_buttons") is None:
        return
    stem = chapter_stem(pagename)
    generated = stem is None and pagename.startswith("book/chapters/")
    source = pagename + (context.get("page_source_suffix") or "")

    def fixed(button: dict) -> dict | None:
        if button.get("type") == "group":
            inner = [b for b in map(fixed, button.get("buttons", [])) if b]
            return {**button, "buttons": inner} if inner else None
        if button.get("label") in SOURCE_BUTTONS and source in (button.get("url") or ""):
            if stem:
                return {**button, "url": button["url"].replace(source, f"notebooks/{stem}.md")}
            if generated:
                return None
        return button

    buttons = [b for b in map(fixed, context["header_buttons"]) if b]
    links = launch_links(stem) if stem else []
    if links:
        buttons.insert(0, {"type": "group", "tooltip": "Run this chapter yourself", "icon": "fas fa-rocket",
                           "buttons": links, "label": "launch-buttons"})
    context["header_buttons"] = buttons


REPOSITORY_BUTTONS = ("use_repository_button", "use_issues_button", "use_edit_page_button", "use_source_button")


def _set_repository(app, config) -> None:
    """``config-inited``: the repository, issue, edit and source buttons, with the URL and branch of
    ``[tool.rmnb]`` (``_config.yml`` cannot turn them on without a URL of its own)."""
    options = dict(config.html_theme_options or {})
    options.update(repository_url=repository_url(), repository_branch=site_config().get("branch", "main"),
                   path_to_docs="", **{button: True for button in REPOSITORY_BUTTONS})
    config.html_theme_options = options


def number_figures_by_chapter(app, env) -> list[str]:
    """``env-get-updated`` (after Sphinx numbered the figures book-wide): chapter NN's figures become (NN, 1),
    (NN, 2), ... in page order; other pages' figures (1,), (2,), ..."""
    changed = []
    for docname, by_type in env.toc_fignumbers.items():
        match = CHAPTER_DOC.match(docname)
        prefix = (int(match["number"]),) if match else ()
        for numbers in by_type.values():
            for k, figure_id in enumerate(sorted(numbers, key=numbers.get), 1):
                numbers[figure_id] = (*prefix, k)
        changed.append(docname)
    return changed


def author_year_label(entry) -> str:
    """``"Christian et al., 2026"`` / ``"Abele and Wojciszke, 2007"`` / ``"Vallat, 2018"`` for a pybtex entry."""
    from pybtex.richtext import Text

    persons = entry.persons.get("author") or entry.persons.get("editor") or []
    names = [Text.from_latex(" ".join(p.prelast_names + p.last_names)).render_as("text") for p in persons]
    who = (names[0] if len(names) == 1 else f"{names[0]} and {names[1]}" if len(names) == 2
           else f"{names[0]} et al." if names else entry.fields.get("title", entry.key)[:30])
    return f"{who}, {entry.fields.get('year', 'n.d.')}"


def _register_author_year_style() -> None:
    from pybtex.plugin import register_plugin
    from pybtex.style.formatting.plain import Style as PlainStyle
    from pybtex.style.labels import BaseLabelStyle

    class AuthorYearLabels(BaseLabelStyle):
        def format_labels(self, sorted_entries):
            labels = [author_year_label(e) for e in sorted_entries]
            for i, label in enumerate(labels):  # the same authors and year twice: 2026a, 2026b
                same = [j for j, other in enumerate(labels) if other == label]
                yield label + "abcdefghijklmnopqrstuvwxyz"[same.index(i)] if len(same) > 1 else label

    class AuthorYearStyle(PlainStyle):
        default_label_style = "rmnb_author_year"

    register_plugin("pybtex.style.labels", "rmnb_author_year", AuthorYearLabels, force=True)
    register_plugin("pybtex.style.formatting", "rmnb_author_year", AuthorYearStyle, force=True)


def setup(app):
    _register_author_year_style()
    app.connect("config-inited", _set_repository)
    app.connect("env-get-updated", number_figures_by_chapter, priority=900)
    app.connect("html-page-context", _fix_buttons, priority=510)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
