"""Analyses, one module per paper section (``dictionary`` §2, ``base_logprobs`` §3a, ``implicit`` §3b,
``training`` and ``ablations`` §4), plus statistics, the FAccT token search and chapter 07's comparison.
"""
