"""Running models: conversations and responses, reward scoring with prefix-KV reuse, log-probs, the scoring job
behind ``rmnb score``, vocabularies and lexicon matching, and score tables in long format.
"""
