"""Set-based alias operations: many aliases per statement, and their usage with them.

Page-at-a-time provisioning's statements, kept as `models.customers.bulk` says.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from sfsync.models import jsonrows
from sfsync.models.aliases.lookups import AliasOrigin
from sfsync.models.tables import (
    IngestAlias,
    UsageEvent,
)
from sfsync.models.types import (
    AliasSource,
    utcnow,
)

__all__ = ["alias_counts", "attribute_aliases", "insert_aliases"]


def insert_aliases(
    session: Session,
    owners: Mapping[str, uuid.UUID],
    origins: Mapping[str, AliasOrigin] | None = None,
) -> list[str]:
    """Insert-or-ignore alias → customer; returns the aliases this call attached.

    `origins` names the external origin of each alias that has one (the rest are manual).
    """
    now = utcnow()
    origins = origins or {}
    rows: list[tuple[str, uuid.UUID, datetime, AliasSource, str | None, str | None]] = []
    for a, c in owners.items():
        origin = origins.get(a)
        if origin is None:
            rows.append((a, c, now, AliasSource.MANUAL, None, None))
        else:
            rows.append((a, c, now, AliasSource.EXTERNAL, origin.account_id, origin.field))
    return jsonrows.insert_rows(
        session,
        jsonrows.table_of(IngestAlias),
        ("alias", "customer_id", "created_at", "source", "source_account_id", "source_field"),
        rows,
        on_conflict=("alias",),
        returning="alias",
        order_by="alias",
    )


def alias_counts(session: Session, customer_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Number of aliases of each customer."""
    table = jsonrows.table_of(IngestAlias)
    rows = jsonrows.select_in(
        session,
        select(table.c.customer_id, func.count()).group_by(table.c.customer_id),
        table.c.customer_id,
        customer_ids,
    )
    return {jsonrows.as_uuid(i): int(n) for i, n in rows}


def attribute_aliases(session: Session, aliases: Sequence[str]) -> None:
    """Stored usage keyed on newly attached aliases follows their owners (one UPDATE).

    Only rows with a stored customer are rewritten; the others are the owner's by
    derivation (`models.aliases.attribution`)."""
    if not aliases:
        return
    table = jsonrows.table_of(UsageEvent)
    owners = jsonrows.table_of(IngestAlias).alias("a")
    owner = select(owners.c.customer_id).where(owners.c.alias == table.c.customer_key)
    session.connection().execute(
        update(table)
        .values(customer_id=owner.scalar_subquery())
        .where(
            jsonrows.in_json(session, table.c.customer_key, "keys"),
            table.c.customer_id.is_not(None),
        ),
        {"keys": jsonrows.values(session, table.c.customer_key, dict.fromkeys(aliases))},
    )
