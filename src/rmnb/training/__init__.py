"""rmnb.training."""
