"""`/healthz` (the process answers) and `/readyz` (store, migrations and broker)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from sfsync.api.queue import EnqueueFailed
from sfsync.api.state import state
from sfsync.models import StoreError

__all__ = ["healthz", "readyz", "router"]

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


def _store_check(request: Request) -> str:
    store = state(request).store
    try:
        with store.reader() as session:
            session.execute(text("SELECT 1"))
        current, head = store.current_revision(), store.head_revision()
    except (StoreError, SQLAlchemyError, OSError) as exc:
        # Alembic's revision look-up meets the driver's errors untranslated.
        return f"unreachable: {type(exc).__name__}"
    if current != head:
        return f"behind its migrations (at {current or 'nothing'}, head {head}): sfsync db upgrade"
    return "ok"


def _broker_check(request: Request) -> str:
    try:
        state(request).enqueuer.ping()
    except EnqueueFailed as exc:
        return str(exc)
    return "ok"


@router.get("/readyz")
def readyz(request: Request) -> JSONResponse:
    """Ready when the store answers at its newest migration and the broker is reachable."""
    checks: dict[str, Any] = {"store": _store_check(request), "broker": _broker_check(request)}
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "unready", "checks": checks},
        status_code=200 if ready else 503,
    )
