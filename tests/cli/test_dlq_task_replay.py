"""`dlq retry --inline` on a task letter: the worker's code path, and the letter's history."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from sfsync.models import Store
from sfsync.models.operations.deadletters import Failure, TaskCall, add_letter, get_letter
from sfsync.models.tables import UsageEvent
from sfsync.models.types import DeadLetterSource, DeadLetterStatus
from sfsync.tasks.names import INGEST_USAGE
from tests.cli.conftest import Invoke, ok_json


def task_letter(store: Store, args: list[Any]) -> int:
    """A letter as the worker writes it when the usage ingest task fails."""
    with store.session() as s:
        letter = add_letter(
            s,
            Failure(
                source=DeadLetterSource.TASK,
                reference="task-1",
                error_class="StoreUnavailable",
                error_message="database temporarily unavailable: OperationalError",
                task_name=INGEST_USAGE,
                task_id="task-1",
                task_args=TaskCall(tuple(args)),
            ),
        )
        return letter.id


def test_a_task_letter_replays_inline_through_the_task(sfsync: Invoke, store: Store) -> None:
    """The ingest task letter replays here: its events are stored, the letter is replayed."""
    now = datetime.now(UTC).isoformat()
    event = {
        "transaction_id": "replayed-1",
        "customer_id": "acme",
        "event_type": "api_call",
        "timestamp": now,
        "properties": {"n": 1},
    }
    letter_id = task_letter(store, [[event]])
    result = ok_json(sfsync("dlq", "retry", str(letter_id), "--inline", "--json"))
    assert result[0]["replayed"] is True, result
    with store.session() as s:
        assert s.scalars(select(UsageEvent.transaction_id)).all() == ["replayed-1"]
        assert get_letter(s, letter_id).status is DeadLetterStatus.REPLAYED


def test_a_task_letter_stored_with_a_bare_argument_list_still_replays(
    sfsync: Invoke, store: Store
) -> None:
    """Letters written before the one `task_args` format hold the bare list of arguments."""
    event = {
        "transaction_id": "replayed-old",
        "customer_id": "acme",
        "event_type": "api_call",
        "timestamp": datetime.now(UTC).isoformat(),
        "properties": {"n": 1},
    }
    letter_id = task_letter(store, [])
    with store.session() as s:
        get_letter(s, letter_id).task_args = [[event]]
    result = ok_json(sfsync("dlq", "retry", str(letter_id), "--inline", "--json"))
    assert result[0]["replayed"] is True, result
    with store.session() as s:
        assert s.scalars(select(UsageEvent.transaction_id)).all() == ["replayed-old"]
        assert get_letter(s, letter_id).status is DeadLetterStatus.REPLAYED


def test_a_failed_replay_keeps_the_original_error_and_adds_to_the_history(
    sfsync: Invoke, store: Store
) -> None:
    """The letter still says why the task first failed; each replay failure is appended."""
    letter_id = task_letter(store, [{"not": "a list"}])
    for _ in range(2):
        sfsync("dlq", "retry", str(letter_id), "--inline", "--json")
    shown = ok_json(sfsync("dlq", "show", str(letter_id), "--json"))
    assert shown["status"] == "open"
    assert shown["error_class"] == "StoreUnavailable"
    assert shown["error_message"].startswith("database temporarily unavailable")
    assert shown["attempts"] == 3
    history = shown["error_history"]
    assert [h["error_class"] for h in history] == ["ValueError", "ValueError"]
    assert "takes a list of events" in history[0]["error_message"]
