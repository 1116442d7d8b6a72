"""The streams, one line each: what the tasks, beat's schedule, `sync run`'s choices and
the dead-letter replay iterate.

Errors::

    UnknownStream   no registered stream has that name (a KeyError)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from sfsync.models.types import DeadLetterSource
from sfsync.sync.streams.accounts import AccountStream
from sfsync.sync.streams.base import Cadence, SyncStream
from sfsync.sync.streams.opportunities import OpportunityStream
from sfsync.sync.streams.reconcile import ReconcileStream

__all__ = ["STREAMS", "Registry", "UnknownStream"]


class UnknownStream(KeyError):
    """No registered stream has this name."""


class Registry:
    """Stream classes by name, in registration order."""

    def __init__(self, streams: Iterable[type[SyncStream]]) -> None:
        self._streams: dict[str, type[SyncStream]] = {}
        for stream in streams:
            self.add(stream)

    def add(self, stream: type[SyncStream]) -> None:
        if stream.name in self._streams:
            raise ValueError(f"a stream named {stream.name!r} is registered already")
        self._streams[stream.name] = stream

    def remove(self, name: str) -> None:
        self._streams.pop(name, None)

    @contextmanager
    def registered(self, stream: type[SyncStream]) -> Iterator[type[SyncStream]]:
        """`stream` registered for the block's length (a test's stream, say)."""
        self.add(stream)
        try:
            yield stream
        finally:
            self.remove(stream.name)

    def __iter__(self) -> Iterator[type[SyncStream]]:
        return iter(list(self._streams.values()))

    def __getitem__(self, name: str) -> type[SyncStream]:
        try:
            return self._streams[name]
        except KeyError:
            raise UnknownStream(name) from None

    def names(self, cadence: Cadence | None = None) -> list[str]:
        """The streams' names, those of one cadence if given."""
        return [str(s.name) for s in self if cadence is None or s.cadence is cadence]

    def replaying(self, source: DeadLetterSource) -> type[SyncStream] | None:
        """The stream that replays letters of `source` (None: no stream writes them)."""
        return next((s for s in self if s.letters is source), None)


STREAMS = Registry(
    [
        OpportunityStream,
        AccountStream,
        ReconcileStream,
    ]
)
