"""Spans of time as people say them: `45s`, `16m 5s`, `16h 16m`, `3d 4h` (two largest units).

The CLI (`commands/`) and the operations console (`api/`) both show spans (a stream's lag,
a run's length) and may not import each other (`cli / api → tasks → sync → models →
config`), so the one definition sits in the lowest layer both already use. That is
`models/`, not `config/` (settings and logging only): it owns the store's value types, and
the spans shown are ages of the store's own timestamps. Pure and stdlib only.

It takes whole seconds; how a fraction becomes whole stays with the caller (the CLI
rounds, the console truncates a lag), so each keeps the text it has always shown.
"""

from __future__ import annotations

__all__ = ["spoken"]


def spoken(whole_seconds: int) -> str:
    """`3d 4h`, `5h 12m`, `7m 3s`, `42s`; a negative span (clock skew) reads as `0s`."""
    days, rest = divmod(max(0, whole_seconds), 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {secs}s"
    return f"{secs}s"
