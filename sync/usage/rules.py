"""The usage settings validation and ingest apply (`UsageRules`), and the window and sizes
they give for one batch at an instant (`Limits`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sfsync.config import Settings

__all__ = ["Limits", "UsageRules"]


@dataclass(frozen=True, slots=True)
class UsageRules:
    """The usage settings validation and ingest apply, read once from `Settings`: the pure
    code below takes this (or the `Limits` it gives at an instant), never `Settings`."""

    max_age_days: int
    max_future_hours: int
    max_properties_bytes: int

    @classmethod
    def of(cls, settings: Settings) -> UsageRules:
        return cls(
            settings.usage_max_age_days,
            settings.usage_max_future_hours,
            settings.usage_max_properties_bytes,
        )

    @property
    def max_event_chars(self) -> int:
        """The largest raw event worth reading: its properties at the limit, written loosely
        (escapes, whitespace), plus the four key fields. Larger input is rejected unread."""
        return 8 * self.max_properties_bytes + 8 * 1024


@dataclass(frozen=True, slots=True)
class Limits:
    """The validation window and sizes, fixed for one batch."""

    now: datetime
    oldest: datetime
    newest: datetime
    max_age_days: int
    max_future_hours: int
    max_properties_bytes: int

    @classmethod
    def of(cls, rules: UsageRules, now: datetime) -> Limits:
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        now = now.astimezone(UTC)
        return cls(
            now,
            now - timedelta(days=rules.max_age_days),
            now + timedelta(hours=rules.max_future_hours),
            rules.max_age_days,
            rules.max_future_hours,
            rules.max_properties_bytes,
        )
