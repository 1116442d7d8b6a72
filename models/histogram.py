"""Durations as Prometheus histograms: cumulative bucket counts, a count and a sum.

The store keeps durations two ways (a run's start and end, a task's tally per bucket) and
`/metrics` shows both the same way, so both are read into this one value.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = ["Histogram", "bucket_of"]


@dataclass(frozen=True)
class Histogram:
    """Cumulative counts per upper bound (seconds, ascending; +Inf is `count`), count, sum."""

    buckets: tuple[tuple[float, int], ...]
    count: int
    total_seconds: float

    @classmethod
    def of(cls, bounds: Sequence[float], seconds: Sequence[float]) -> Histogram:
        """The histogram of single observations."""
        return cls(
            buckets=tuple((bound, sum(1 for s in seconds if s <= bound)) for bound in bounds),
            count=len(seconds),
            total_seconds=sum(seconds),
        )

    @classmethod
    def of_tallies(
        cls, bounds: Sequence[float], tallies: Iterable[tuple[float, int, float]]
    ) -> Histogram:
        """The histogram of per-bucket tallies: (upper bound, count, sum of seconds) each.

        A tally whose bound is not one of `bounds` (buckets changed since it was written)
        is counted in the first bucket that holds it (+Inf at worst), which is where its
        observations belong, so the cumulative counts stay monotone and never overcount.
        """
        per_bucket = [0] * len(bounds)
        count, total = 0, 0.0
        for bound, n, seconds in tallies:
            count += n
            total += seconds
            index = bucket_of(bounds, bound)
            if index is not None:
                per_bucket[index] += n
        running, buckets = 0, []
        for bound, n in zip(bounds, per_bucket, strict=True):
            running += n
            buckets.append((bound, running))
        return cls(buckets=tuple(buckets), count=count, total_seconds=total)


def bucket_of(bounds: Sequence[float], seconds: float) -> int | None:
    """The index of the smallest bound at or above `seconds`; None for +Inf."""
    for index, bound in enumerate(bounds):
        if seconds <= bound:
            return index
    return None
