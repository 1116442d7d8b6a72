"""Reading one step ahead: a source iterator runs in a background thread, one item ahead.

A run spends its time in two kinds of work that do not wait for each other: Salesforce I/O
(the next query page, its hierarchy look-ups) and store writes (this page's transaction).
`prefetched` overlaps them: a producer thread pulls from the source while the caller works
on the item before. Items, the source's end and the source's exception arrive in the
source's order, so a caller that commits item by item sees exactly what it would see
without the thread — an error from page k+1 surfaces only after page k was handed over.

The producer is at most one item ahead (a queue of one slot), so memory stays at a few
pages. When the caller stops early (an exception, or leaving the loop), the producer is
told to stop, given room for the one hand-over it may be blocked in, and joined: the source
(and the client it uses) is never used after `prefetched` returns.
"""

from __future__ import annotations

import contextvars
import queue
import threading
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager, suppress
from typing import Generic, TypeVar

__all__ = ["prefetched"]

T = TypeVar("T")


class _Slot(Generic[T]):
    """One hand-over: an item, the end of the source, or the source's exception."""

    __slots__ = ("error", "item", "last")

    def __init__(
        self, item: T | None = None, *, last: bool = False, error: BaseException | None = None
    ) -> None:
        self.item, self.last, self.error = item, last, error


@contextmanager
def prefetched(source: Callable[[], Iterator[T]], *, name: str) -> Iterator[Iterator[T]]:
    """`source()`'s items, produced one ahead in a thread called `name` (module docstring)."""
    slots: queue.Queue[_Slot[T]] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def produce() -> None:
        try:
            items = source()
            try:
                for item in items:
                    slots.put(_Slot(item))
                    if stop.is_set():
                        return
            finally:
                close = getattr(items, "close", None)
                if close is not None:
                    close()
            slots.put(_Slot(last=True))
        except BaseException as exc:  # handed to the caller, raised there
            slots.put(_Slot(error=exc))

    def consume() -> Generator[T, None, None]:
        while True:
            slot = slots.get()
            if slot.error is not None:
                raise slot.error
            if slot.last:
                return
            yield slot.item  # type: ignore[misc]

    # The producer logs (retries, renewals) under the caller's context (task id, run id).
    context = contextvars.copy_context()
    thread = threading.Thread(target=context.run, args=(produce,), name=name, daemon=True)
    thread.start()
    try:
        yield consume()
    finally:
        stop.set()
        # After `stop` the producer makes at most one more hand-over; make room for it.
        with suppress(queue.Empty):
            slots.get_nowait()
        thread.join()
