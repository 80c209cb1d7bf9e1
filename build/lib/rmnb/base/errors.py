"""rmnb's own error: every message names the problem and the fix."""


class RmnbError(Exception):
    """A user-facing error (bad input, missing data, checksum mismatch, unusable model)."""
