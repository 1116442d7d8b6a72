"""What the application holds for its lifetime: settings (and the usage rules read from them
once), the store and the task producer."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from api.queue import Enqueuer
from config import Settings
from models import Store
from sync.usage import UsageRules

__all__ = ["ApiState", "state"]


@dataclass
class ApiState:
    settings: Settings
    store: Store
    enqueuer: Enqueuer
    usage_rules: UsageRules


def state(request: Request) -> ApiState:
    value: ApiState = request.app.state.sfsync
    return value
