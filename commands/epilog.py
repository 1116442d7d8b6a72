"""Help text shared by every command group: the examples epilog.

It imports nothing but the standard library, so the light shell (`commands/lazy.py`) and the
full commands (through `commands/common.py`) share it without importing each other.
"""

from __future__ import annotations

__all__ = ["examples"]


def examples(*lines: str) -> str:
    """A `--help` epilog of example command lines (kept as written, not rewrapped)."""
    return "\b\nExamples:\n" + "\n".join(f"  $ {line}" for line in lines)
