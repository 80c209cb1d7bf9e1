"""rmnb.inference."""
