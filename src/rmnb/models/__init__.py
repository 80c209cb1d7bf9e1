"""rmnb.models."""
