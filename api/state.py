"""What the application holds for its lifetime: settings (and the usage rules read from them
once), the store, the task producer and the API-key cache; and what a request holds: its
deadline."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from fastapi import Request
from sqlalchemy.orm import Session

from sfsync.api.queue import Enqueuer
from sfsync.config import Settings
from sfsync.models import Store
from sfsync.models.deadline import Deadline
from sfsync.models.errors import DeadlinePassed
from sfsync.models.operations.api_keys import KeyCache
from sfsync.sync.usage import UsageRules

__all__ = ["ApiState", "deadline_of", "state", "writer"]


@dataclass
class ApiState:
    settings: Settings
    store: Store
    enqueuer: Enqueuer
    usage_rules: UsageRules
    key_cache: KeyCache
    #: SQLite has one writer: a server's request threads take turns on this lock, each
    #: woken as the one before finishes, instead of in SQLite's busy wait, which sleeps up
    #: to 100 ms between tries while the lock is free. None on PostgreSQL.
    write_turn: threading.Lock | None = None


def state(request: Request) -> ApiState:
    value: ApiState = request.app.state.sfsync
    return value


def deadline_of(request: Request) -> Deadline | None:
    """The request's deadline (`api.limits.RequestLimits` sets it), if any."""
    value: Deadline | None = getattr(request.state, "deadline", None)
    return value


@contextmanager
def writer(request: Request) -> Iterator[Session]:
    """A store transaction bounded by the request's deadline: it never commits after a 503."""
    api = state(request)
    deadline = deadline_of(request)
    with _turn(api.write_turn, deadline), api.store.session(deadline) as session:
        yield session


@contextmanager
def _turn(lock: threading.Lock | None, deadline: Deadline | None) -> Iterator[None]:
    if lock is None:
        yield
        return
    if not lock.acquire(timeout=deadline.remaining() if deadline is not None else -1):
        raise DeadlinePassed(
            "the request's time limit passed while it waited for the store's writer; "
            "nothing was written"
        )
    try:
        yield
    finally:
        lock.release()
