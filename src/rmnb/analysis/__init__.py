"""rmnb.analysis."""
