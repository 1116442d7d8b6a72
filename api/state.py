"""What the application holds for its lifetime: settings (and the usage rules read from them
once), the store, the task producer and the API-key cache; and what a request holds: its
deadline."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from fastapi import Request
from sqlalchemy.orm import Session

from api.queue import Enqueuer
from config import Settings
from models import Store
from models.api_keys import KeyCache
from models.deadline import Deadline
from sync.usage import UsageRules

__all__ = ["ApiState", "deadline_of", "state", "writer"]


@dataclass
class ApiState:
    settings: Settings
    store: Store
    enqueuer: Enqueuer
    usage_rules: UsageRules
    key_cache: KeyCache


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
    with state(request).store.session(deadline_of(request)) as session:
        yield session
