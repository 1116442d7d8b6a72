"""Replaying a dead letter through the same code path that first failed.

Replays are idempotent because every path they take is: provisioning upserts by the
opportunity id, usage inserts ignore a known `transaction_id`, and tasks are idempotent
by design. A letter whose record was meanwhile provisioned by a later sync was already
marked replayed by that sync.

A letter replays by its source: a stream's letter (a deal, an account) by its reference,
through the stream that wrote it (`sync.streams.registry`), a writeback by its reference, a
usage event by its payload, through the code path that first failed. Only a letter the worker
wrote for a failed task (source `task`) names what to run: its task, with the call
`TaskCall` stored. A sync names no task, and a task name an older letter of another source
holds is not needed to replay it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sfsync.config import Settings
from sfsync.models import InvalidInput, Store
from sfsync.models.operations.deadletters import (
    LetterError,
    TaskCall,
    get_letter,
    keep_first_error,
    mark_failed_again,
    mark_replayed,
)
from sfsync.models.types import DeadLetterSource, DeadLetterStatus, utcnow
from sfsync.sync.salesforce import SalesforceClient
from sfsync.sync.streams.base import Letter
from sfsync.sync.streams.registry import STREAMS
from sfsync.sync.usage import Limits, UsageRules, ingest, validate_event
from sfsync.sync.writeback import write_back

__all__ = ["ReplayResult", "RunTask", "replay_letter"]

RunTask = Callable[[str, list[Any], dict[str, Any]], Any]


@dataclass(frozen=True)
class ReplayResult:
    letter_id: int
    replayed: bool
    error: str | None = None


@dataclass(frozen=True)
class _Letter:
    id: int
    source: DeadLetterSource
    reference: str | None
    payload: Any
    task_name: str | None
    task_args: Any


class _AlreadyRecorded(Exception):
    """The replay failed and the code path it took already updated the letter."""


def replay_letter(
    store: Store,
    settings: Settings,
    letter_id: int,
    *,
    client: Callable[[], SalesforceClient],
    run_task: RunTask,
    redact: Callable[[str], str] = lambda text: text,
    accept_change: bool = False,
    actor: str | None = None,
) -> ReplayResult:
    """Re-process one open letter; success marks it replayed, failure keeps it open with its
    first error and the new one added to its history. `actor` (who asked) is recorded.

    `accept_change` (opportunity letters only) is an operator's decision to apply a change
    the lifecycle rules do not apply alone: a currency change or a moved start on a
    contract that has started. Without it such a letter keeps failing with the reason.
    """
    with store.session() as s:
        row = get_letter(s, letter_id)
        if row.status is not DeadLetterStatus.OPEN:
            raise InvalidInput(f"dead letter {letter_id} is {row.status.value}, not open")
        stream = STREAMS.replaying(row.source)
        if accept_change and (stream is None or not stream.accepts_change):
            raise InvalidInput(
                f"dead letter {letter_id} is a {row.source.value} letter; --accept-change "
                "applies to opportunity changes only"
            )
        letter = _Letter(
            row.id, row.source, row.reference, row.payload, row.task_name, row.task_args
        )
        first = LetterError.of(row)
    try:
        _dispatch(store, settings, letter, client, run_task, accept_change)
    except _AlreadyRecorded as exc:
        with store.session() as s:
            keep_first_error(s, get_letter(s, letter_id), first, actor)
        return ReplayResult(letter_id, False, redact(str(exc)))
    except Exception as exc:
        message = redact(str(exc)) or type(exc).__name__
        with store.session() as s:
            mark_failed_again(s, get_letter(s, letter_id), type(exc).__name__, message, actor)
        return ReplayResult(letter_id, False, message)
    with store.session() as s:
        row = get_letter(s, letter_id)
        if row.status is DeadLetterStatus.OPEN:
            mark_replayed(s, row, actor)
        elif row.status is DeadLetterStatus.REPLAYED:
            row.actor = actor  # the sync that provisioned the record marked it replayed
    return ReplayResult(letter_id, True)


def _dispatch(
    store: Store,
    settings: Settings,
    letter: _Letter,
    client: Callable[[], SalesforceClient],
    run_task: RunTask,
    accept_change: bool = False,
) -> None:
    stream = STREAMS.replaying(letter.source)
    if stream is not None and letter.reference:
        counters = stream(store, client(), settings).replay(
            Letter(letter.id, letter.reference, letter.payload), accept_change=accept_change
        )
        if counters.dead_lettered:
            with store.session() as s:
                message = get_letter(s, letter.id).error_message
            raise _AlreadyRecorded(message)
        return
    if letter.source is DeadLetterSource.WRITEBACK and letter.reference:
        customer = letter.payload.get("customer_id") if isinstance(letter.payload, dict) else None
        if not settings.sf_writeback_field or not customer:
            raise InvalidInput(
                f"dead letter {letter.id} is a writeback, but SFSYNC_SF_WRITEBACK_FIELD is unset "
                "or the letter names no customer"
            )
        write_back(client(), settings, letter.reference, str(customer))
        return
    if letter.source is DeadLetterSource.USAGE_EVENT:
        # Validate first: a still-invalid event must not become a second letter.
        rules = UsageRules.of(settings)
        validate_event(letter.payload, Limits.of(rules, utcnow()))
        with store.session() as s:
            ingest(s, [letter.payload], rules)
        return
    if letter.task_name:
        # A task letter: the worker's failure of a task with no record to replay above.
        call = TaskCall.of(letter.task_args)
        run_task(letter.task_name, list(call.args), dict(call.kwargs))
        return
    raise InvalidInput(f"dead letter {letter.id} names no record or task to replay")
