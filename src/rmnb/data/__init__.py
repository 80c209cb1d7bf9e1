"""Data the book reads: the released-data registry (:mod:`~rmnb.data.fetch`), prompts, lexicons, preference pairs,
the resumable results store, released log-prob tables, and the paper's and the FAccT study's reported values.
"""
