"""The chapter runtime: what a chapter imports while it runs (its parameters, glued results and key findings,
tables for readers, the variant banner, the exercises' checks and their reference answers).

- ``answers``            the exercises' reference answers, computed at check time from the notebook's tables
- ``banner``             the banner of a variant page (``rmnb run NN --model X``)
- ``exercises``          the ``check`` cells' checks of a student's answer
- ``findings``           key findings each chapter records against the paper's claims, for the landing page
- ``parameter_rules``    the kinds of value a chapter parameter takes, as rules
- ``parameters``         chapter parameters: one vocabulary, every value rule in one place
- ``results``            glued results, also written to ``_build/results/<chapter>.json``
- ``tables``             tables for readers: a DataFrame shown as a Markdown table
"""
