"""A stream that exists only in tests, to show that registering one line is enough."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import ClassVar, Unpack

import pytest

from sfsync.models.operations.runs import RunCounters
from sfsync.models.types import DeadLetterSource, RunStatus, Stream
from sfsync.sync.run_result import RunResult
from sfsync.sync.runner import RunOptions
from sfsync.sync.streams.base import Letter, SyncStream
from sfsync.sync.streams.registry import STREAMS
from sfsync.tasks import names

__all__ = ["ECHO_TASK", "EchoStream", "echo_registered"]

#: The task name the echo stream would have in `tasks.names`.
ECHO_TASK = f"{names.SYNC}.poll_echo"


class EchoStream(SyncStream):
    """Writes nothing; remembers the letters it was asked to replay."""

    name = "echo"
    task = "POLL_ECHO"
    letters = DeadLetterSource.WRITEBACK
    replayed: ClassVar[list[Letter]] = []

    def run(self, **options: Unpack[RunOptions]) -> RunResult:
        return RunResult(0, Stream.OPPORTUNITIES, RunStatus.SUCCEEDED)

    def replay(self, letter: Letter, *, accept_change: bool = False) -> RunCounters:
        EchoStream.replayed.append(letter)
        return RunCounters()


@contextmanager
def echo_registered(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[EchoStream]]:
    """The echo stream in the registry (and its task's name in `tasks.names`) for a while."""
    monkeypatch.setattr(names, "POLL_ECHO", ECHO_TASK, raising=False)
    EchoStream.replayed.clear()
    with STREAMS.registered(EchoStream):
        yield EchoStream
