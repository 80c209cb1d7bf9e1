"""Progress bars: tqdm on stderr, only where someone watches (an interactive terminal, not CI)."""

from __future__ import annotations

import os
import sys


def bars_enabled(stream=None) -> bool:
    """Whether to draw progress bars: ``stream`` (default stderr) is a terminal and ``CI`` is not set."""
    stream = sys.stderr if stream is None else stream
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
        return False
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def progress_bar(*, total: int, initial: int = 0, unit: str = "it", desc: str | None = None, enabled: bool = True):
    """A tqdm bar on stderr with rate and ETA; disabled (a no-op bar) when not ``enabled`` or no one watches."""
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, unit=unit, desc=desc, smoothing=0.1, dynamic_ncols=True,
                file=sys.stderr, disable=not (enabled and bars_enabled()))


def format_duration(seconds: float) -> str:
    """``75.3`` -> ``1 min 15 s``; ``4.2`` -> ``4.2 s``."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


__all__ = ["bars_enabled", "progress_bar", "format_duration"]
