"""The base class of every task: retry the transient branch, dead-letter the rest.

::

    transient (SalesforceTransientError, StoreUnavailable)
        → retried with exponential backoff and full jitter, capped below the broker's
          visibility timeout, at most SFSYNC_TASK_MAX_RETRIES times
    anything else, or retries exhausted
        → a dead letter (task, arguments, error, traceback, attempts), then Celery's failure
    worker process lost (SIGKILL, OOM)
        → neither `Task.on_failure` nor, when the message is requeued
          (`task_reject_on_worker_lost`), the `task_failure` signal fires; the main
          process's `Request.on_failure` always does, so `SfsyncRequest` records it. The
          message stays on the broker and a later success of the same task id resolves it.
"""

from __future__ import annotations

import logging
import random
from typing import Any

from billiard.einfo import ExceptionWithTraceback
from billiard.exceptions import WorkerLostError
from celery import Task
from celery.worker.request import Request

from models import StoreUnavailable
from models.deadletters import Failure, record, resolve_open_for
from models.types import DeadLetterSource
from sync.errors import SalesforceTransientError
from tasks import context
from tasks.outcome import with_outcome

log = logging.getLogger(__name__)

TRANSIENT: tuple[type[BaseException], ...] = (SalesforceTransientError, StoreUnavailable)


def backoff(retries: int, cap: float) -> float:
    """Exponential backoff with full jitter: uniform in [0, min(cap, 2 ** retries))."""
    return random.uniform(0, min(cap, float(2**retries)))


class SfsyncRequest(Request):  # type: ignore[misc]
    """Runs in the worker's main process, where a lost pool process is noticed."""

    def on_failure(
        self, exc_info: Any, send_failed_event: bool = True, return_ok: bool = False
    ) -> Any:
        outcome = super().on_failure(exc_info, send_failed_event, return_ok)
        exc = exc_info.exception
        if isinstance(exc, ExceptionWithTraceback):
            exc = exc.exc
        if isinstance(exc, WorkerLostError):
            record_task_failure(
                self.task, exc, self.id, self.args, self.kwargs, str(exc_info.traceback)
            )
        return outcome


class SfsyncTask(Task):  # type: ignore[misc]
    """Every sfsync task derives from this."""

    abstract = True
    Request = SfsyncRequest
    #: (source, reference) of the dead letter for a failure of this call; default: the task.
    dead_letter_source = DeadLetterSource.TASK

    def dead_letter_reference(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str | None:
        return str(self.request.id) if self.request.id else None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            result = super().__call__(*args, **kwargs)
        except TRANSIENT as exc:
            settings = context.settings()
            if self.request.called_directly or self.request.retries >= settings.task_max_retries:
                raise
            countdown = backoff(self.request.retries, settings.task_retry_backoff_max)
            log.warning(
                "%s transient failure, retry %d in %.1fs: %s",
                self.name,
                self.request.retries + 1,
                countdown,
                context.redact(str(exc)),
            )
            raise self.retry(exc=exc, countdown=countdown) from exc
        if self.request.retries or (self.request.delivery_info or {}).get("redelivered"):
            _resolve(self, args, kwargs)
        return with_outcome(result)

    def on_failure(
        self,
        exc: BaseException,
        task_id: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        einfo: Any,
    ) -> None:
        record_task_failure(self, exc, task_id, args, kwargs, str(einfo))


def _resolve(task: SfsyncTask, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    reference = task.dead_letter_reference(args, kwargs)
    if reference is None:
        return
    with context.store().session() as s:
        resolve_open_for(s, task.dead_letter_source, reference)


def record_task_failure(
    task: Any,
    exc: BaseException,
    task_id: str | None,
    args: Any,
    kwargs: Any,
    traceback_text: str | None,
) -> None:
    """Write the dead letter of a failed task (secrets redacted)."""
    redact = context.redact
    reference_of = getattr(task, "dead_letter_reference", None)
    source = getattr(task, "dead_letter_source", DeadLetterSource.TASK)
    try:
        reference = reference_of(tuple(args or ()), dict(kwargs or {})) if reference_of else None
    except Exception:  # the reference is a nicety; the letter itself must be written
        reference = None
    failure = Failure(
        source=source,
        reference=reference or task_id,
        error_class=type(exc).__name__,
        error_message=redact(str(exc)) or type(exc).__name__,
        traceback=redact(traceback_text) if traceback_text else None,
        task_name=getattr(task, "name", None),
        task_id=task_id,
        task_args={"args": list(args or ()), "kwargs": dict(kwargs or {})},
        attempts=int(getattr(getattr(task, "request", None), "retries", 0) or 0) + 1,
    )
    try:
        with context.store().session() as s:
            record(s, failure)
    except Exception:
        log.exception("could not write the dead letter of %s %s", failure.task_name, task_id)
