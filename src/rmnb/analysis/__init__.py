"""Analyses, one module per paper section, plus statistics, the FAccT token search and chapter 07's comparison.

- ``ablations``       the authors' released training ablations (§4)
- ``base_logprobs``   §3a: base-model log-probabilities and the statistics of Figure 2
- ``claims``          the paper's headline claims as a chapter checks them (value, sentence, checks)
- ``bos``             what the FAccT authors' double BOS changes
- ``checkpoints``     §4: what a training run's checkpoints say (Figures 4a and 5, held-out accuracy)
- ``dictionary``      §2: ranks, median ranks, the mixed model, panel tests, RM-level tests
- ``greatest``        chapter 07: where "love" and "freedom" rank for every kind of model
- ``implicit``        §3b: the implicit reward between two language models, MWLR, Table 1, Figure 3, Figure A3
- ``replication``     chapter 06's pre-registered test of the value-neutral RMs against the paper's RMs
- ``scores``          reward-model scores in long format, from the authors' release or ``rmnb score`` folders
- ``search_report``   chapter 00, section by section: what it glues, records and shows, and its key findings
- ``search_stats``    the FAccT statistics of a token search: ranks, extremes, moments, best/worst rho, Kendall's tau
- ``smacof``          metric MDS by SMACOF (numpy), as scikit-learn runs it: the models placed on ``1 - tau``
- ``stand_ins``       what the book's stand-in models are next to the paper's (tuning stage, size)
- ``stats``           the paper's statistics: ranks, median ranks, the §2 mixed model, the per-panel tests
- ``token_search``    the FAccT exhaustive token search: which tokens to search, and the searches
- ``topk``            the paper's top-10 statistic per family
- ``value_neutral``   chapter 06's controlled experiment: accuracy per framing, curves, the between-base gap
"""
