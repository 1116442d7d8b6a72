"""Every task run's runtime, tallied in the store (`sfsync_task_runtime_seconds`).

`SfsyncTask.__call__` runs its body through `timed`: a monotonic clock around the body
(retries, dead letters and all, as the worker spends the time), then one upsert in a
transaction of its own (`models.operations.task_runtimes`). The tally is a nicety next to the work:
if it cannot be written the run is not failed, retried or slowed by a second attempt, only
a warning is logged.

How the run ended::

    returned, its result saying dead_lettered, or a poison message dead-lettered
                                                              → dead_lettered
    returned otherwise                                        → succeeded
    Retry raised, or Reject asking for redelivery             → retried
    anything else raised (dead letter written where possible) → failed

A task called directly (a replay runs the failed task in the replaying one) is part of its
caller's run and is not tallied on its own. A pool process killed mid-task (SIGKILL, OOM)
ends no run here, so tallies nothing; its dead letter says what happened.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from celery import Task
from celery.exceptions import Reject, Retry

from sfsync.models.operations.task_runtimes import record_task_runtime
from sfsync.models.types import TaskRunOutcome
from sfsync.tasks import context
from sfsync.tasks.outcome import TaskOutcome

__all__ = ["outcome_of_error", "outcome_of_result", "timed"]

log = logging.getLogger(__name__)
T = TypeVar("T")


def timed(task: Task, body: Callable[[], T]) -> T:
    """`body()`, its runtime tallied under `task.name` and how it ended."""
    if task.request.called_directly:
        return body()
    started = time.monotonic()
    try:
        result = body()
    except BaseException as exc:
        _tally(task.name, outcome_of_error(exc), time.monotonic() - started)
        raise
    _tally(task.name, outcome_of_result(task, result), time.monotonic() - started)
    return result


def outcome_of_result(task: Task, result: Any) -> TaskRunOutcome:
    """A returned run: dead-lettered when its result or its request says so."""
    lettered = isinstance(result, Mapping) and result.get("outcome") == TaskOutcome.DEAD_LETTERED
    if lettered or getattr(task.request, "sfsync_letter_written", False):
        return TaskRunOutcome.DEAD_LETTERED
    return TaskRunOutcome.SUCCEEDED


def outcome_of_error(exc: BaseException) -> TaskRunOutcome:
    """A run that raised: retried when the message will run again, else failed."""
    if isinstance(exc, Retry) or (isinstance(exc, Reject) and exc.requeue):
        return TaskRunOutcome.RETRIED
    return TaskRunOutcome.FAILED


def _tally(task: str, outcome: TaskRunOutcome, seconds: float) -> None:
    try:
        with context.store().session() as s:
            record_task_runtime(s, task, outcome, seconds)
    except Exception as exc:
        log.warning(
            "could not tally the runtime of %s (%s, %.3fs): %s",
            task,
            outcome.value,
            seconds,
            _describe(exc),
        )


def _describe(exc: Exception) -> str:
    try:
        return context.redact(str(exc))
    except Exception:  # no settings to redact with (the same cause, often): its type only
        return type(exc).__name__
