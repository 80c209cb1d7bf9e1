"""rmnb.book."""
