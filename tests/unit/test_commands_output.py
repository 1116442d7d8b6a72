"""Text for people: spans of time, data made visible."""

from __future__ import annotations

import pytest

from sfsync.commands.output import duration, visible


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(0, "0s"), (45.4, "45s"), (965, "16m 5s"), (58560, "16h 16m"), (273_600, "3d 4h")],
)
def test_durations_read_as_people_say_them(seconds: float, shown: str) -> None:
    """A lag of 58,560 s is `16h 16m`, not `58560s`."""
    assert duration(seconds) == shown


def test_control_characters_are_made_visible() -> None:
    """Escape sequences, bells, newlines and bidi overrides become escapes; the rest stays."""
    assert visible("a\x1b[2Jb\x07\n\u202eé[/bold]") == "a\\x1b[2Jb\\x07\\x0a\\u202eé[/bold]"
    assert visible(None) == ""
