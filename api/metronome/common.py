"""What the Metronome routers share: request model base, id parsing, customer payloads."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from sfsync.api.errors import BadRequest
from sfsync.api.metronome import views
from sfsync.models.aliases.lookups import aliases_for
from sfsync.models.customers.fields import fields_for
from sfsync.models.tables import Customer
from sfsync.models.types import Entity

__all__ = ["Body", "customer_payload", "customers_payload", "parse_id"]


class Body(BaseModel):
    """A request body: unknown fields are refused (sfsync does not cover them), not ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def parse_id(value: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        raise BadRequest(f"{what} {value[:80]!r} is not a valid id (a UUID)") from None


def customers_payload(
    session: Session, rows: list[Customer], *, detail: bool
) -> list[dict[str, Any]]:
    ids = [r.id for r in rows]
    aliases = aliases_for(session, ids)
    fields = fields_for(session, Entity.CUSTOMER, ids)
    shape = views.customer_detail if detail else views.customer
    return [shape(r, aliases[r.id], fields[r.id]) for r in rows]


def customer_payload(session: Session, row: Customer, *, detail: bool) -> dict[str, Any]:
    return customers_payload(session, [row], detail=detail)[0]
