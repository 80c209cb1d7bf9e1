"""Running models: reward scoring with prefix reuse, log-probs, the scoring job behind ``rmnb score``, and the tokens
they run on (conversations and responses, vocabularies, lexicon words matched to tokens).

- ``distributed``        a run's work units on Ray workers (``rmnb score --executor ray``)
- ``job``                one scoring job end to end (what ``rmnb score`` runs)
- ``language_model``     running a language model: whole-vocabulary next-token log-probs, response log-probs, the
                         §3 chapters' log-prob tables
- ``prefix_attention``   attention over a shared prefix without copying it
- ``ray_watchdog``       stops a local Ray instance's processes when its driver is gone
- ``responses``          candidate responses (tokens by id, texts) and the conversations they complete
- ``reward``             reward scoring: shared-prefix reuse and the full-sequence computation it must equal
- ``token_match``        lexicon words matched to vocabulary tokens (the paper's strict rule and the broad one)
- ``validate``           checks of a scoring job's inputs, before any model loads
- ``vocabulary``         token normalisation and matching for the training-checkpoint analyses
"""
