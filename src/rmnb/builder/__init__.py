"""Building the book: running chapters (reusing unchanged ones), variant runs with another model, and the pages
generated around the chapters at every build.

- ``chapter_cache``      the digests of a chapter's inputs, so that ``rmnb book`` runs only what changed
- ``citation``           copy-ready BibTeX for the book and the paper, from ``CITATION.cff``
- ``fragments``          the generated parts of the front and back matter, written at every build
- ``launch``             the launch buttons of each chapter page (Colab, Binder) and what each chapter needs
- ``measure_timings``    measures every chapter's run time, fresh and cached (``book/timings.json``)
- ``paper_scale``        the facts of the "Reproducing at paper scale" page
- ``runner``             runs chapters with papermill (reusing unchanged ones) and builds the book
- ``sphinx_ext``         the book's Sphinx additions (repository buttons, figure numbers, author-year labels)
- ``status``             the status page: when, where and with what each chapter ran
- ``variants``           re-running chapters with another model (``book/_runs/<model>/``)
"""
