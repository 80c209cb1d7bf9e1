"""rmnb.charts."""
