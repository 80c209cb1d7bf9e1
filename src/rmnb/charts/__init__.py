"""Charts (altair), named like :mod:`rmnb.analysis`.

- ``dictionary``     the §2 chapters: Figure 1's violins of median ranks with per-model means
- ``logprobs``       the §3 chapters: Figure 2, the raw-ratio vs MWLR scatter, Figure 3, Figure A3
- ``style``          how every chart looks: altair's settings, made once, and the colour scales
- ``token_search``   the exhaustive token search (chapter 00) and the love/freedom comparison (chapter 07)
- ``training``       reward-model training (chapters 05 and 06): Figures 4a, 4b, 5, held-out accuracy and loss
"""
