"""Helpers the usage store tests share: events to ingest, who owns them, a hostile key."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from sfsync.models import Store
from sfsync.models.aliases.attribution import attributed_customer
from sfsync.models.tables import UsageEvent

__all__ = ["INJECTION", "NOW", "ev", "owners"]

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
_ids = iter(range(1, 10_000_000))


def ev(key: str = "IngestAlias1", tx: str | None = None, **overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "transaction_id": tx if tx is not None else f"tx-{next(_ids)}",
        "customer_id": key,
        "event_type": "api_call",
        "timestamp": "2026-11-20T10:00:00Z",
        "properties": {},
    }
    values.update(overrides)
    return values


def owners(store: Store, key: str) -> dict[uuid.UUID | None, int]:
    with store.session() as s:
        rows = s.execute(
            select(owner := attributed_customer(s), func.count())
            .where(UsageEvent.customer_key == key)
            .group_by(owner)
        )
        return {cid: int(n) for cid, n in rows}


# The probe: break out of the JSON path literal and read every customer's events.
INJECTION = (
    "property:n' FROM usage_events WHERE 0 UNION ALL SELECT properties -> '$.n' "
    "FROM usage_events UNION ALL SELECT '0' --"
)
