"""The base class of every task: retry the transient branch, dead-letter the rest.

::

    a body that cannot be decoded, or nests too deeply (`tasks.messages`)
        → a dead letter with the reason and the body's first characters; acknowledged
    transient (SalesforceTransientError, StoreUnavailable)
        → retried at most SFSYNC_TASK_MAX_RETRIES times, each delay twice the one before
          (SFSYNC_TASK_RETRY_BACKOFF_BASE, doubling, jittered within its upper half),
          capped at SFSYNC_TASK_RETRY_BACKOFF_MAX, which stays below the visibility timeout
    anything else, or retries exhausted
        → a dead letter (task, arguments, error, traceback, attempts), written before the
          failure is reported, then Celery's failure
    the dead letter cannot be written either (the store is down)
        → the message is kept: re-published for another attempt at the capped delay, its
          retries starting afresh (`Task.retry` publishes the copy before the original is
          acknowledged), or, if even that fails, rejected for redelivery; never acknowledged
          without a copy on the broker
    worker process lost (SIGKILL, OOM)
        → neither `Task.on_failure` nor, when the message is requeued
          (`task_reject_on_worker_lost`), the `task_failure` signal fires; the main
          process's `Request.on_failure` always does, so `SfsyncRequest` records it. The
          message stays on the broker and a later success of the same task id resolves it.

    Reported raised (the failure is already recorded where it belongs, e.g. a replay's
    letter)
        → Celery's failure (Flower, the runtime tally's `failed`), no dead letter of its own

Errors::

    LetterNotWritten       the dead letter of a failure could not be stored (the store is
                           down too); `_give_up` keeps the message instead
    Reported               a failure the task recorded itself; raised to report it failed
"""

from __future__ import annotations

import logging
import random
import traceback
from typing import Any

from billiard.einfo import ExceptionWithTraceback
from billiard.exceptions import WorkerLostError
from celery import Task
from celery.exceptions import Ignore, Reject, Retry
from celery.worker.request import Request

from sfsync.models import StoreUnavailable
from sfsync.models.operations.deadletters import Failure, TaskCall, add_letter, resolve_open_for
from sfsync.models.types import DeadLetterSource
from sfsync.sync.salesforce import SalesforceTransientError
from sfsync.tasks import context, messages, runtimes
from sfsync.tasks.outcome import with_outcome

__all__ = [
    "TRANSIENT",
    "LetterNotWritten",
    "Reported",
    "SfsyncRequest",
    "SfsyncTask",
    "backoff",
    "record_task_failure",
]

log = logging.getLogger(__name__)

TRANSIENT: tuple[type[BaseException], ...] = (SalesforceTransientError, StoreUnavailable)

# Every worker process decodes task messages with the guarded decoder (see tasks.messages).
messages.install()


def backoff(retries: int, base: float, cap: float) -> float:
    """The delay before retry `retries + 1`: base·2^retries capped, jittered in its upper half.

    Half-jitter rather than full jitter: the delays still spread out, and they keep growing,
    so a few retries span an outage of minutes instead of a few seconds.
    """
    delay = min(cap, base * 2.0 ** min(retries, 62))
    return random.uniform(delay / 2, delay)


class LetterNotWritten(Exception):
    """The dead letter of a failure could not be stored (the store is down too)."""


class Reported(Exception):
    """A failure the task already recorded (a replay's letter keeps it): raised so Celery
    reports the run as failed, without a dead letter of the task itself."""


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
        return runtimes.timed(self, lambda: self._run(*args, **kwargs))

    def _run(self, *args: Any, **kwargs: Any) -> Any:
        poison = messages.poison_of(args, kwargs)
        if poison is not None and not self.request.called_directly:
            self._dead_letter_poison(poison)
            return None
        try:
            result = super().__call__(*args, **kwargs)
        except TRANSIENT as exc:
            if self.request.called_directly:
                raise
            settings = context.settings()
            retries = int(self.request.retries or 0)
            if retries >= settings.task_max_retries:
                self._give_up(exc, args, kwargs)
                raise
            countdown = backoff(
                retries, settings.task_retry_backoff_base, settings.task_retry_backoff_max
            )
            log.warning(
                "%s[%s] transient failure, retry %d of %d in %.1fs: %s",
                self.name,
                self.request.id,
                retries + 1,
                settings.task_max_retries,
                countdown,
                context.redact(str(exc)),
            )
            raise self.retry(
                exc=exc, countdown=countdown, max_retries=settings.task_max_retries
            ) from exc
        except (Retry, Reject, Ignore):
            raise
        except Reported:
            self.request.sfsync_letter_written = True
            raise
        except Exception as exc:
            if not self.request.called_directly:
                self._give_up(exc, args, kwargs)
            raise
        if self.request.retries or (self.request.delivery_info or {}).get("redelivered"):
            _resolve(self, args, kwargs)
        return with_outcome(result)

    def _give_up(self, exc: BaseException, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        """The task failed for good: write the dead letter now, or keep the message if we can't.

        `on_failure` (which Celery calls next) sees the letter is written and does nothing.
        """
        try:
            record_task_failure(
                self, exc, self.request.id, args, kwargs, _traceback_text(exc), strict=True
            )
        except LetterNotWritten:
            self._keep_message(exc)
        self.request.sfsync_letter_written = True

    def _keep_message(self, exc: BaseException) -> None:
        settings = context.settings()
        log.error(
            "%s[%s] failed and its dead letter cannot be stored either; keeping the message "
            "for another attempt in %ss: %s",
            self.name,
            self.request.id,
            settings.task_retry_backoff_max,
            context.redact(str(exc)),
        )
        try:
            # The copy starts its retries afresh: the store, not the task, is what failed,
            # and the first attempt once the store is back can still fail transiently (a
            # connection opened during the outage, a pool of dead ones), which must not make
            # a dead letter of a message that waited the outage out. It is published before
            # this message is acknowledged.
            self.request.retries = -1  # `retry` publishes the copy with retries + 1
            raise self.retry(
                exc=exc,
                countdown=settings.task_retry_backoff_max,
                max_retries=settings.task_max_retries,
            )
        except Retry:
            raise
        except Exception as publish_error:
            raise Reject(str(publish_error), requeue=True) from exc

    def _dead_letter_poison(self, poison: dict[str, Any]) -> None:
        reason = context.redact(str(poison.get("reason")))
        error = messages.UndecodableMessage(
            f"message for {self.name} cannot be processed: {reason}"
        )
        failure = Failure(
            source=DeadLetterSource.TASK,
            reference=str(self.request.id) if self.request.id else None,
            error_class=type(error).__name__,
            error_message=str(error),
            payload={
                "body_prefix": context.redact(str(poison.get("body_prefix"))),
                "body_chars": poison.get("body_chars"),
            },
            task_name=self.name,
            task_id=self.request.id,
        )
        log.error("%s %s: %s", self.name, self.request.id, failure.error_message)
        try:
            with context.store().session() as s:
                add_letter(s, failure)
        except Exception as exc:
            self._keep_message(exc)
        self.request.sfsync_letter_written = True

    def on_failure(
        self,
        exc: BaseException,
        task_id: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        einfo: Any,
    ) -> None:
        if getattr(self.request, "sfsync_letter_written", False):
            return
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
    *,
    strict: bool = False,
) -> None:
    """Write the dead letter of a failed task (secrets redacted).

    When it cannot be written the failure is logged, or with `strict` `LetterNotWritten`
    is raised so the caller can keep the message.
    """
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
        task_args=TaskCall(tuple(args or ()), dict(kwargs or {})),
        attempts=int(getattr(getattr(task, "request", None), "retries", 0) or 0) + 1,
    )
    try:
        with context.store().session() as s:
            add_letter(s, failure)
    except Exception as store_error:
        if strict:
            raise LetterNotWritten(str(store_error)) from store_error
        log.exception("could not write the dead letter of %s %s", failure.task_name, task_id)


def _traceback_text(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc))
