"""The seminar kit: preparing and checking a student's machine, the student and teacher editions of the handout,
and the teacher's guide's sessions, slides, quizzes and run times.

- ``doctor``             ``rmnb doctor``: can this machine run the book (one line per check, with the fix)
- ``handout``            ``rmnb handout``: the student and teacher editions
- ``handout_readme``     the handout's README, the repository it names, the Colab links
- ``html_pages``         self-contained HTML pages of the seminar kit (teacher edition, slides)
- ``leaks``              whether the student edition leaks a solution
- ``output_folder``      writes a generated folder without deleting what rmnb did not write
- ``seminar_plan``       the seminar plan (``book/seminar.yml``)
- ``sessions``           the seminar's session pages, slides and quizzes
- ``setup``              ``rmnb setup``: what the book's defaults need before a first run
- ``student_markdown``   MyST markdown as plain Jupyter markdown, for the handout
- ``timings``            the teacher's guide's run-time tables
"""
