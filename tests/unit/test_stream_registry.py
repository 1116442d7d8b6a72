"""The stream registry drives the tasks, beat's schedule and `sync run`'s choices."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from sfsync.celery_app import create_app
from sfsync.commands.sync import StreamChoice, stream_tasks
from sfsync.config import Settings
from sfsync.models.types import DeadLetterSource, Stream
from sfsync.sync.streams.base import Cadence, SyncStream
from sfsync.sync.streams.registry import STREAMS, Registry, UnknownStream
from sfsync.tasks import names
from sfsync.tasks.sync import STREAM_TASKS, register_stream_task
from tests.fake_streams import ECHO_TASK, EchoStream, echo_registered


@pytest.fixture
def echo(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[EchoStream]]:
    """The test-only echo stream, registered for the test."""
    with echo_registered(monkeypatch) as stream:
        yield stream


def test_the_registry_lists_the_three_streams_in_order() -> None:
    """Opportunities, accounts, then the daily reconciliation."""
    assert STREAMS.names() == [Stream.OPPORTUNITIES, Stream.ACCOUNTS, Stream.RECONCILE]
    assert STREAMS.names(Cadence.DAILY) == [Stream.RECONCILE]
    assert STREAMS.replaying(DeadLetterSource.OPPORTUNITY) is STREAMS[Stream.OPPORTUNITIES]
    assert STREAMS.replaying(DeadLetterSource.USAGE_EVENT) is None


def test_a_registered_stream_is_one_of_sync_runs_choices(echo: type[EchoStream]) -> None:
    """`sync run --stream` offers the registry's polled streams, and enqueues their tasks."""
    assert StreamChoice().choices == ["opportunities", "accounts", "echo", "all"]
    assert stream_tasks() == {
        "opportunities": names.POLL_OPPORTUNITIES,
        "accounts": names.POLL_ACCOUNTS,
        "echo": ECHO_TASK,
    }


def test_an_unregistered_stream_is_no_choice() -> None:
    """Without the echo stream, `sync run` offers only the real polled streams."""
    assert StreamChoice().choices == ["opportunities", "accounts", "all"]


def test_a_registered_stream_gets_a_beat_entry(echo: type[EchoStream], settings: Settings) -> None:
    """Beat's schedule has an entry per registered stream, every its cadence's interval."""
    schedule = create_app(settings).conf.beat_schedule
    assert schedule["poll-echo"]["task"] == ECHO_TASK
    assert schedule["poll-echo"]["schedule"] == timedelta(seconds=settings.poll_interval)
    assert {e["task"] for e in schedule.values()} == {
        names.POLL_OPPORTUNITIES,
        names.POLL_ACCOUNTS,
        names.RECONCILE,
        names.RESOLVE_PENDING,
        ECHO_TASK,
    }


def test_each_registered_stream_has_its_task(echo: type[EchoStream]) -> None:
    """The tasks module registers one task per stream, named from `tasks.names`."""
    assert {name: task.name for name, task in STREAM_TASKS.items()} == {
        "opportunities": names.POLL_OPPORTUNITIES,
        "accounts": names.POLL_ACCOUNTS,
        "reconcile": names.RECONCILE,
    }
    assert register_stream_task(echo).name == ECHO_TASK


def test_a_stream_name_is_registered_once() -> None:
    """A second stream of the same name is refused; an unknown name is an UnknownStream."""
    registry = Registry([EchoStream])
    with pytest.raises(ValueError, match="echo"):
        registry.add(EchoStream)
    with pytest.raises(UnknownStream):
        registry["nope"]


def test_a_stream_that_writes_letters_must_say_how_they_replay() -> None:
    """Declaring `letters` without a `replay()` fails when the class is defined."""
    with pytest.raises(TypeError, match="does not define replay"):

        class Forgetful(SyncStream):
            name = "forgetful"
            task = "POLL_OPPORTUNITIES"
            letters = DeadLetterSource.WRITEBACK

            def run(self, **options: Any) -> Any:
                raise AssertionError("never run")
