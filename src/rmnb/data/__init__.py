"""rmnb.data."""
