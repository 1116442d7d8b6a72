"""Metronome's customer endpoints: create, get, list, setIngestAliases, setName, archive."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.orm import Session

from sfsync.api.auth import require
from sfsync.api.errors import BadRequest
from sfsync.api.idempotency import idempotent_write
from sfsync.api.limits import JsonRoute
from sfsync.api.metronome.common import Body, customer_payload, customers_payload, parse_id
from sfsync.api.state import state
from sfsync.models.aliases.ownership import replace_aliases
from sfsync.models.customers.archive import archive_customer
from sfsync.models.customers.fields import SFDC_ACCOUNT_ID
from sfsync.models.customers.pages import CustomerFilter, page_customers
from sfsync.models.customers.records import create_customer, get_customer, rename_customer
from sfsync.models.tables import MAX_NAME
from sfsync.models.types import ApiScope

__all__ = [
    "MAX_FILTER_IDS",
    "MAX_PAGE",
    "ArchiveCustomer",
    "CreateCustomer",
    "SetIngestAliases",
    "SetName",
    "archive",
    "create",
    "list_customers",
    "retrieve",
    "router",
    "set_ingest_aliases",
    "set_name",
]

router = APIRouter(prefix="/v1/customers", tags=["customers"], route_class=JsonRoute)

MAX_PAGE = 100
MAX_FILTER_IDS = 100


class CreateCustomer(Body):
    name: str
    ingest_aliases: list[str] = []
    custom_fields: dict[str, str] = {}
    external_id: str | None = None


class SetIngestAliases(Body):
    ingest_aliases: list[str]


class SetName(Body):
    name: str


class ArchiveCustomer(Body):
    id: str


def _name(value: str) -> str:
    # Metronome truncates long names rather than refusing them.
    return value[:MAX_NAME]


@router.post("", dependencies=[require(ApiScope.WRITE)])
def create(request: Request, body: CreateCustomer) -> Response:
    """Create a customer with its ingest aliases and custom fields, all or nothing."""
    aliases = list(body.ingest_aliases)
    if body.external_id is not None and body.external_id not in aliases:
        aliases.insert(0, body.external_id)

    def work(session: Session) -> dict[str, Any]:
        row = create_customer(
            session, _name(body.name), aliases=aliases, custom_fields=body.custom_fields
        )
        return {"data": customer_payload(session, row, detail=False)}

    return idempotent_write(request, work)


def _ids(values: list[str] | None, what: str) -> list[str]:
    # The SDK sends arrays comma-separated; repeated parameters work too.
    out = [part for value in values or () for part in value.split(",") if part]
    if len(out) > MAX_FILTER_IDS:
        raise BadRequest(f"{what}: at most {MAX_FILTER_IDS} ids per request")
    return out


@router.get("", dependencies=[require(ApiScope.READ)])
def list_customers(
    request: Request,
    customer_ids: Annotated[list[str] | None, Query()] = None,
    ingest_alias: str | None = None,
    salesforce_account_ids: Annotated[list[str] | None, Query()] = None,
    only_archived: bool = False,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = MAX_PAGE,
    next_page: str | None = None,
) -> dict[str, Any]:
    """Customers in creation order, filtered, one page at a time (`next_page`)."""
    accounts = _ids(salesforce_account_ids, "salesforce_account_ids")
    where = CustomerFilter(
        customer_ids=[parse_id(i, "customer_ids") for i in _ids(customer_ids, "customer_ids")],
        ingest_alias=ingest_alias,
        field_values=(SFDC_ACCOUNT_ID, accounts) if accounts else None,
        archived=only_archived,
    )
    after = parse_id(next_page, "next_page") if next_page else None
    with state(request).store.reader() as session:
        rows, last = page_customers(session, where, after=after, limit=limit)
        data = customers_payload(session, rows, detail=True)
    return {"data": data, "next_page": str(last) if last else None}


@router.get("/{customer_id}", dependencies=[require(ApiScope.READ)])
def retrieve(request: Request, customer_id: str) -> dict[str, Any]:
    """One customer with its aliases, custom fields and Salesforce account id."""
    cid = parse_id(customer_id, "customer_id")
    with state(request).store.reader() as session:
        return {"data": customer_payload(session, get_customer(session, cid), detail=True)}


@router.post("/{customer_id}/setIngestAliases", dependencies=[require(ApiScope.WRITE)])
def set_ingest_aliases(request: Request, customer_id: str, body: SetIngestAliases) -> Response:
    """Replace the customer's aliases; usage keyed on them follows at once (both ways)."""
    cid = parse_id(customer_id, "customer_id")

    def work(session: Session) -> None:
        if get_customer(session, cid).archived_at is not None:
            raise BadRequest(f"customer {cid} is archived; its aliases cannot change")
        replace_aliases(session, cid, body.ingest_aliases)

    return idempotent_write(request, work)


@router.post("/{customer_id}/setName", dependencies=[require(ApiScope.WRITE)])
def set_name(request: Request, customer_id: str, body: SetName) -> Response:
    """Rename the customer."""
    cid = parse_id(customer_id, "customer_id")

    def work(session: Session) -> dict[str, Any]:
        row = get_customer(session, cid)
        rename_customer(session, row, _name(body.name))
        return {"data": customer_payload(session, row, detail=False)}

    return idempotent_write(request, work)


@router.post("/archive", dependencies=[require(ApiScope.ADMIN)])
def archive(request: Request, body: ArchiveCustomer) -> Response:
    """Archive a customer: its aliases are released (their usage pending again)."""
    cid = parse_id(body.id, "id")

    def work(session: Session) -> dict[str, Any]:
        archive_customer(session, cid)
        return {"data": {"id": str(cid)}}

    return idempotent_write(request, work)
