"""Charts (altair), named like :mod:`rmnb.analysis`. A chapter imports the package and calls
``charts.<module>.<chart>(...)`` (``charts.dictionary.family_panels``), so a chart module and the analysis module of
the same name need no alias.

- ``base_logprobs``  §3a (chapter 03): Figure 2's split violins
- ``dictionary``     the §2 chapters: Figure 1's violins of median ranks with per-model means
- ``implicit``       §3b (chapter 04): the raw-ratio vs MWLR scatter, Figure 3's lollipop, Figure A3
- ``style``          how every chart looks: altair's settings, made once, and the colour scales
- ``token_search``   the exhaustive token search (chapter 00) and the love/freedom comparison (chapter 07)
- ``training``       reward-model training (chapters 05 and 06): Figures 4a, 4b, 5, held-out accuracy and loss
"""

from rmnb.charts import base_logprobs, dictionary, implicit, style, token_search, training

__all__ = ["base_logprobs", "dictionary", "implicit", "style", "token_search", "training"]
