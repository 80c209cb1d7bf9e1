"""Data the book reads: the released-data registry, prompts, lexicons, preference pairs, the resumable results store,
released log-prob tables, and the paper's and the FAccT study's reported values.

- ``fetch``            released files pinned by URL and sha256 (``data_registry.txt``), from ``RMNB_DATA_DIR`` or
                       downloaded once into the user cache
- ``integrity``        atomic writes and content checks of the results store's files
- ``lexicons``         the Big Two nouns, MFD2, AFINN-165, an English word list, LIWC parsers
- ``logprob_tables``   next-token log-prob tables, live or the authors' release (pinned, checked)
- ``preferences``      preference pairs for reward-model training (HH-RLHF offline, Hub datasets)
- ``prompts``          the paper's 54 prompts and the FAccT study's 3
- ``reported``         the paper's reported values, each with its source label
- ``reported_facct``   the FAccT study's published tables
- ``store``            the results store: tidy parquet shards written atomically, keyed by content, resumable
- ``units``            a scoring run's work units: plan, shards, status and checks
- ``valence``          the value-neutral AFINN preference set (one-word questions, one-word answers)
"""
