"""sfsync's rows in Metronome's shapes (the SDK's `metronome/types/v1` models)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sfsync.models.customers.fields import SFDC_ACCOUNT_ID
from sfsync.models.tables import Contract, Customer
from sfsync.models.types import ContractStatus
from sfsync.models.usage.events import StoredEvent

__all__ = ["contract", "customer", "customer_detail", "event", "instant"]


def instant(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def customer(row: Customer, aliases: list[str], fields: dict[str, str]) -> dict[str, Any]:
    """Metronome's `Customer`."""
    return {
        "id": str(row.id),
        # Metronome's deprecated external_id: the first id usable in usage events.
        "external_id": aliases[0] if aliases else str(row.id),
        "ingest_aliases": aliases,
        "name": row.name,
        "custom_fields": fields,
    }


def customer_detail(row: Customer, aliases: list[str], fields: dict[str, str]) -> dict[str, Any]:
    """Metronome's `CustomerDetail`."""
    return {
        **customer(row, aliases, fields),
        "customer_config": {"salesforce_account_id": fields.get(SFDC_ACCOUNT_ID)},
        "created_at": instant(row.created_at),
        "updated_at": instant(row.updated_at),
        "archived_at": instant(row.archived_at),
    }


def contract(row: Contract, fields: dict[str, str]) -> dict[str, Any]:
    """Metronome's `Contract`: sfsync's terms in `initial` and `current` (no amendments).

    `amount`, `currency` and `status` are sfsync's own additions (the SDK keeps extra keys).
    """
    terms: dict[str, Any] = {
        "name": row.name,
        "starting_at": instant(row.starting_at),
        "ending_before": instant(row.ending_before),
        "created_at": instant(row.created_at),
        "created_by": "sfsync",
        "commits": [],
        "credits": [],
        "overrides": [],
        "scheduled_charges": [],
        "transitions": [],
        "usage_statement_schedule": {
            "billing_anchor_date": instant(row.starting_at),
            "frequency": "MONTHLY",
        },
    }
    archived = row.status == ContractStatus.ARCHIVED
    return {
        "id": str(row.id),
        "customer_id": str(row.customer_id),
        "initial": terms,
        "current": terms,
        "amendments": [],
        "custom_fields": fields,
        "archived_at": instant(row.updated_at) if archived else None,
        "amount": format(row.amount, "f") if row.amount is not None else None,
        "currency": row.currency,
        "status": str(row.status),
    }


def event(stored: StoredEvent, matched: tuple[uuid.UUID, str] | None) -> dict[str, Any]:
    """An item of Metronome's events search: the event and the customer it matched."""
    return {
        "id": stored.transaction_id,
        "transaction_id": stored.transaction_id,
        "customer_id": stored.customer_key,
        "event_type": stored.event_type,
        "timestamp": instant(stored.timestamp),
        "properties": stored.properties,
        "processed_at": instant(stored.received_at),
        "is_duplicate": False,
        "matched_customer": {"id": str(matched[0]), "name": matched[1]} if matched else None,
        "matched_billable_metrics": [],
    }
