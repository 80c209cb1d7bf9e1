"""Models: the one registry (:mod:`~rmnb.models.registry`, data only) and loading (:mod:`~rmnb.models.loading`,
:mod:`~rmnb.models.gguf` for the embedded offline models). Loading never trains.
"""
