"""`sync.prefetch.prefetched`: one item ahead in a thread, in order, errors in place."""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Iterator

import pytest

from sfsync.sync.prefetch import prefetched

WHO = contextvars.ContextVar("who", default="nobody")


class Source:
    """A source that records how far it has been pulled, and whether it was closed."""

    def __init__(self, items: int, fail_at: int | None = None) -> None:
        self.items, self.fail_at = items, fail_at
        self.pulled = 0
        self.closed = False
        self.threads: set[str] = set()

    def __call__(self) -> Iterator[int]:
        try:
            for n in range(self.items):
                self.threads.add(threading.current_thread().name)
                if n == self.fail_at:
                    raise ValueError(f"item {n} is bad")
                self.pulled = n + 1
                yield n
        finally:
            self.closed = True


def test_items_arrive_in_order_from_a_named_background_thread() -> None:
    """Every item is handed over in source order, produced off the caller's thread."""
    source = Source(50)
    with prefetched(source, name="reader") as items:
        assert list(items) == list(range(50))
    assert source.threads == {"reader"}
    assert source.closed


def test_the_producer_is_never_more_than_one_item_ahead() -> None:
    """While the caller holds item k, the source has produced at most items k+1 and k+2."""
    source = Source(30)
    ahead = []
    with prefetched(source, name="reader") as items:
        for n in items:
            ahead.append(source.pulled - (n + 1))
    assert max(ahead) <= 2


def test_a_source_error_surfaces_after_the_items_before_it() -> None:
    """Items before the failing one are delivered, then its exception is raised to the caller."""
    source = Source(10, fail_at=4)
    seen = []
    with pytest.raises(ValueError, match="item 4 is bad"), prefetched(source, name="r") as items:
        for n in items:
            seen.append(n)
    assert seen == [0, 1, 2, 3]


def test_leaving_early_stops_and_joins_the_producer() -> None:
    """A caller that stops (here by raising) finds the source closed when `prefetched` returns."""
    source = Source(1_000)
    with pytest.raises(RuntimeError), prefetched(source, name="r") as items:
        for n in items:
            if n == 3:
                raise RuntimeError("the store failed")
    assert source.closed
    assert source.pulled <= 6
    assert not any(t.name == "r" for t in threading.enumerate())


def test_the_producer_runs_in_the_callers_context() -> None:
    """Context variables (log context: task and run ids) are visible to the producer."""
    seen: list[str] = []

    def source() -> Iterator[int]:
        seen.append(WHO.get())
        yield 1

    token = WHO.set("task-42")
    try:
        with prefetched(source, name="r") as items:
            assert list(items) == [1]
    finally:
        WHO.reset(token)
    assert seen == ["task-42"]
