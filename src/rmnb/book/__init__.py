"""The book: what chapters call while they run, the build around them, and the seminar kit.

- ``answers``            the exercises' reference answers, computed at check time from the notebook's tables
- ``banner``             the banner of a variant page (``rmnb run NN --model X``)
- ``chapter_cache``      the digests of a chapter's inputs, so that ``rmnb book`` runs only what changed
- ``doctor``             ``rmnb doctor``: can this machine run the book (one line per check, with the fix)
- ``exercises``          the ``check`` cells' checks of a student's answer
- ``handout``            ``rmnb handout``: the student and teacher editions
- ``handout_readme``     the handout's README, the repository it names, the Colab links
- ``html_pages``         self-contained HTML pages of the seminar kit (teacher edition, slides)
- ``leaks``              whether the student edition leaks a solution
- ``measure_timings``    measures every chapter's run time, fresh and cached (``book/timings.json``)
- ``output_folder``      writes a generated folder without deleting what rmnb did not write
- ``paper_scale``        the facts of the "Reproducing at paper scale" page
- ``parameter_rules``    the kinds of value a chapter parameter takes, as rules
- ``parameters``         chapter parameters: one vocabulary, every value rule in one place
- ``results``            glued results, also written to ``_build/results/<chapter>.json``
- ``runner``             runs chapters with papermill (reusing unchanged ones) and builds the book
- ``seminar``            the seminar's session pages, slides and quizzes
- ``seminar_plan``       the seminar plan (``book/seminar.yml``)
- ``setup``              ``rmnb setup``: what the book's defaults need before a first run
- ``status``             the status page: when, where and with what each chapter ran
- ``student_markdown``   MyST markdown as plain Jupyter markdown, for the handout
- ``timings``            the teacher's guide's run-time tables
- ``variants``           re-running chapters with another model (``book/_runs/<model>/``)
"""
