"""Metronome's v1 contract endpoints: create, get, list (sfsync's contract model)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from pydantic import AfterValidator, Field
from sqlalchemy.orm import Session

from sfsync.api.auth import require
from sfsync.api.errors import NotCovered
from sfsync.api.idempotency import idempotent_write
from sfsync.api.limits import JsonRoute
from sfsync.api.metronome import views
from sfsync.api.metronome.common import Body, parse_id
from sfsync.api.state import state
from sfsync.config.values import MANUAL_CONTRACT_CURRENCY
from sfsync.models import Entity
from sfsync.models.contracts.records import create_contract, get_contract, list_contracts
from sfsync.models.contracts.terms import ContractTerms
from sfsync.models.customers.fields import fields_for
from sfsync.models.customers.records import get_customer
from sfsync.models.operations.request_keys import check_uniqueness_key, record_uniqueness_key
from sfsync.models.tables import MAX_REQUEST_KEY
from sfsync.models.types import ApiScope, ContractStatus

__all__ = [
    "MAX_PAGE",
    "CreateContract",
    "GetContract",
    "Instant",
    "ListContracts",
    "create",
    "list_",
    "retrieve",
    "router",
]

router = APIRouter(prefix="/v1/contracts", tags=["contracts"], route_class=JsonRoute)

MAX_PAGE = 20


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("must be an RFC 3339 timestamp with an offset, e.g. 2026-01-01T00:00:00Z")
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is out of range: in UTC it must fall in years 1 to 9999") from None


Instant = Annotated[datetime, AfterValidator(_aware)]


class CreateContract(Body):
    customer_id: str
    starting_at: Instant
    ending_before: Instant | None = None
    name: str | None = None
    custom_fields: dict[str, str] = {}
    #: sfsync's own terms (not in Metronome's contract): an exact amount and its currency.
    amount: Decimal | None = None
    currency: str | None = None
    #: Metronome's: a second create with the same key is a 409 naming the first contract.
    uniqueness_key: Annotated[str, Field(min_length=1, max_length=MAX_REQUEST_KEY)] | None = None


class GetContract(Body):
    contract_id: str
    customer_id: str
    include_balance: bool = False
    include_ledgers: bool = False


class ListContracts(Body):
    customer_id: str
    covering_date: Instant | None = None
    starting_at: Instant | None = None
    include_archived: bool = False
    include_balance: bool = False
    include_ledgers: bool = False
    limit: Annotated[int, Field(ge=1, le=MAX_PAGE)] = MAX_PAGE
    cursor: str | None = None


@router.post("/create", dependencies=[require(ApiScope.WRITE)])
def create(request: Request, body: CreateContract) -> Response:
    """Create a contract for a customer (once per `uniqueness_key`)."""
    settings = state(request).settings
    cid = parse_id(body.customer_id, "customer_id")
    terms = ContractTerms(
        name=body.name or f"Contract from {body.starting_at.date().isoformat()}",
        starting_at=body.starting_at,
        ending_before=body.ending_before,
        amount=body.amount,
        currency=body.currency or settings.default_currency or MANUAL_CONTRACT_CURRENCY,
    )
    key = body.uniqueness_key

    def work(session: Session) -> dict[str, Any]:
        if key is not None:
            check_uniqueness_key(session, Entity.CONTRACT, key)
        row = create_contract(session, cid, terms, custom_fields=body.custom_fields)
        if key is not None:
            record_uniqueness_key(session, Entity.CONTRACT, key, row.id)
        return {"data": {"id": str(row.id)}}

    return idempotent_write(request, work)


@router.post("/get", dependencies=[require(ApiScope.READ)])
def retrieve(request: Request, body: GetContract) -> dict[str, Any]:
    """One contract of a customer."""
    contract_id = parse_id(body.contract_id, "contract_id")
    cid = parse_id(body.customer_id, "customer_id")
    with state(request).store.reader() as session:
        row = get_contract(session, contract_id)
        if row.customer_id != cid:
            raise NotCovered(f"customer {cid} has no contract {contract_id}")
        fields = fields_for(session, Entity.CONTRACT, [row.id])[row.id]
        return {"data": views.contract(row, fields)}


@router.post("/list", dependencies=[require(ApiScope.READ)])
def list_(request: Request, body: ListContracts) -> dict[str, Any]:
    """A customer's contracts in creation order, 20 a page at most (`cursor`)."""
    cid = parse_id(body.customer_id, "customer_id")
    after = parse_id(body.cursor, "cursor") if body.cursor else None
    with state(request).store.reader() as session:
        get_customer(session, cid)
        rows = sorted(list_contracts(session, cid), key=lambda c: c.id)
        if not body.include_archived:
            rows = [r for r in rows if r.status != ContractStatus.ARCHIVED]
        if body.starting_at is not None:
            rows = [r for r in rows if r.starting_at >= body.starting_at]
        if (at := body.covering_date) is not None:
            rows = [
                r
                for r in rows
                if r.starting_at <= at and (r.ending_before is None or at < r.ending_before)
            ]
        if after is not None:
            rows = [r for r in rows if r.id > after]
        page = rows[: body.limit]
        fields = fields_for(session, Entity.CONTRACT, [r.id for r in page])
        data = [views.contract(r, fields[r.id]) for r in page]
    more = len(rows) > body.limit
    return {"data": data, "cursor": data[-1]["id"] if more else None}
