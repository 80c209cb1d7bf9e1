"""rmnb.base."""
