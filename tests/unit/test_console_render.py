"""The console's template helpers: human-readable lags and autoescaping."""

from __future__ import annotations

import pytest

from sfsync.api.console.render import environment, human_duration


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (None, "-"),
        (0, "0s"),
        (42.9, "42s"),
        (7 * 60 + 3, "7m 3s"),
        (5 * 3600 + 12 * 60 + 59, "5h 12m"),
        (3 * 86_400 + 4 * 3600 + 1, "3d 4h"),
        (-5, "0s"),
    ],
)
def test_lags_read_as_days_hours_minutes_seconds(seconds: float | None, shown: str) -> None:
    """A lag is shown in its two largest units."""
    assert human_duration(seconds) == shown


def test_every_template_escapes_its_values() -> None:
    """Autoescape is on for every template, whatever its file name."""
    template = environment.from_string("<p>{{ value }}</p>")
    assert template.render(value="<img src=x onerror=alert(1)>") == (
        "<p>&lt;img src=x onerror=alert(1)&gt;</p>"
    )
