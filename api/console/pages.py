"""The console's pages (GET): overview, runs, dead letters, usage, customers."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse

from sfsync.api.console.auth import viewer
from sfsync.api.console.paging import KEYS_PER_PAGE, LETTERS_PER_PAGE, RUNS_PER_PAGE, Pager
from sfsync.api.console.render import page
from sfsync.api.state import state
from sfsync.models import InvalidInput
from sfsync.models.aliases.lookups import list_aliases
from sfsync.models.contracts.records import list_contracts
from sfsync.models.contracts.revisions import history
from sfsync.models.customers.fields import get_fields
from sfsync.models.customers.records import get_customer
from sfsync.models.operations.api_keys import Principal
from sfsync.models.operations.deadletters import get_letter
from sfsync.models.operations.runs import get_run
from sfsync.models.reports.overview import read_overview
from sfsync.models.reports.search import (
    count_letters,
    count_runs,
    customer_by_id_or_alias,
    find_letters,
    find_runs,
    search_customers,
)
from sfsync.models.tables import Contract
from sfsync.models.types import (
    DeadLetterSource,
    DeadLetterStatus,
    Entity,
    RunStatus,
    Stream,
    in_utc,
    utcnow,
)
from sfsync.models.usage.events import count_pending_keys, pending_keys
from sfsync.models.usage.summary import GroupBy, summarize
from sfsync.tasks.letters import letter_task

__all__ = [
    "MAX_ROW_ID",
    "RowId",
    "Viewer",
    "customer_detail",
    "customer_usage",
    "customers",
    "letter_detail",
    "letters",
    "overview",
    "router",
    "run_detail",
    "runs",
    "usage",
]

router = APIRouter(prefix="/console", include_in_schema=False)
Viewer = Annotated[Principal, Depends(viewer)]
#: Rows a long list skips (its page: the `next`/`previous` links set it).
Offset = Annotated[int, Query(ge=0)]
#: Largest id a run or a letter can have (a signed 64-bit integer on both backends).
MAX_ROW_ID = 2**63 - 1
#: A run's or a letter's id in a URL: past 64 bits it is a 400, not the driver's overflow.
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]


E = TypeVar("E", bound=StrEnum)


def _enum_or_none(kind: type[E], value: str | None) -> E | None:
    """A filter's value as its enum (empty: no filter)."""
    if not value:
        return None
    try:
        return kind(value)
    except ValueError:
        raise InvalidInput(f"unknown {kind.__name__}: {value!r}") from None


def _instant(value: str | None, what: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{what}: expected an ISO 8601 date or instant, got {value!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return in_utc(parsed, what)


@router.get("", response_class=HTMLResponse)
def overview(request: Request, principal: Viewer) -> HTMLResponse:
    with state(request).store.reader() as s:
        data = read_overview(s, utcnow())
        pending = pending_keys(s, limit=10)
    return page(
        request,
        "overview.html",
        principal,
        overview=data,
        pending=pending,
        threshold=state(request).settings.sf_api_usage_max_percent / 100,
    )


@router.get("/runs", response_class=HTMLResponse)
def runs(
    request: Request,
    principal: Viewer,
    stream: str | None = None,
    status: str | None = None,
    offset: Offset = 0,
) -> HTMLResponse:
    by_stream, by_status = _enum_or_none(Stream, stream), _enum_or_none(RunStatus, status)
    with state(request).store.reader() as s:
        total = count_runs(s, stream=by_stream, status=by_status)
        rows = find_runs(s, stream=by_stream, status=by_status, offset=offset, limit=RUNS_PER_PAGE)
        return page(
            request,
            "runs.html",
            principal,
            runs=rows,
            pager=Pager.of(request, offset, len(rows), total, RUNS_PER_PAGE),
            streams=list(Stream),
            statuses=list(RunStatus),
            filters={"stream": stream or "", "status": status or ""},
        )


@router.get("/runs/{run_id}", response_class=HTMLResponse)
def run_detail(request: Request, principal: Viewer, run_id: RowId) -> HTMLResponse:
    with state(request).store.reader() as s:
        return page(request, "run.html", principal, run=get_run(s, run_id))


@router.get("/letters", response_class=HTMLResponse)
def letters(
    request: Request,
    principal: Viewer,
    source: str | None = None,
    status: str | None = "open",
    error: str | None = None,
    since: str | None = None,
    offset: Offset = 0,
) -> HTMLResponse:
    by_source = _enum_or_none(DeadLetterSource, source)
    by_status = _enum_or_none(DeadLetterStatus, status)
    after = _instant(since, "since")
    with state(request).store.reader() as s:
        total = count_letters(
            s, source=by_source, status=by_status, error=error or None, since=after
        )
        rows = find_letters(
            s,
            source=by_source,
            status=by_status,
            error=error or None,
            since=after,
            offset=offset,
            limit=LETTERS_PER_PAGE,
        )
        return page(
            request,
            "letters.html",
            principal,
            letters=rows,
            pager=Pager.of(request, offset, len(rows), total, LETTERS_PER_PAGE),
            sources=list(DeadLetterSource),
            statuses=list(DeadLetterStatus),
            filters={
                "source": source or "",
                "status": status or "",
                "error": error or "",
                "since": since or "",
            },
        )


@router.get("/letters/{letter_id}", response_class=HTMLResponse)
def letter_detail(request: Request, principal: Viewer, letter_id: RowId) -> HTMLResponse:
    with state(request).store.reader() as s:
        letter = get_letter(s, letter_id)
        return page(request, "letter.html", principal, letter=letter, task=letter_task(letter))


@router.get("/usage", response_class=HTMLResponse)
def usage(request: Request, principal: Viewer, offset: Offset = 0) -> HTMLResponse:
    with state(request).store.reader() as s:
        total = count_pending_keys(s)
        keys = pending_keys(s, limit=KEYS_PER_PAGE, offset=offset)
    pager = Pager.of(request, offset, len(keys), total, KEYS_PER_PAGE)
    return page(request, "usage.html", principal, keys=keys, now=utcnow(), pager=pager)


@router.get("/usage/customer", response_class=HTMLResponse)
def customer_usage(
    request: Request,
    principal: Viewer,
    customer: str,
    group_by: Annotated[str, Query(alias="group_by")] = "alias",
    start: Annotated[str | None, Query(alias="from")] = None,
    end: Annotated[str | None, Query(alias="to")] = None,
) -> HTMLResponse:
    grouping = GroupBy.parse(group_by)
    with state(request).store.reader() as s:
        found = customer_by_id_or_alias(s, customer)
        rows = summarize(
            s,
            found.id,
            start=_instant(start, "from"),
            end=_instant(end, "to"),
            group_by=[grouping],
        )
        return page(
            request,
            "customer_usage.html",
            principal,
            customer=found,
            rows=rows,
            grouping=grouping,
            filters={"group_by": group_by, "from": start or "", "to": end or ""},
        )


@router.get("/customers", response_class=HTMLResponse)
def customers(request: Request, principal: Viewer, q: str = "") -> HTMLResponse:
    with state(request).store.reader() as s:
        rows = search_customers(s, q) if q else []
        return page(request, "customers.html", principal, customers=rows, q=q)


@router.get("/customers/{customer_id}", response_class=HTMLResponse)
def customer_detail(request: Request, principal: Viewer, customer_id: uuid.UUID) -> HTMLResponse:
    with state(request).store.reader() as s:
        customer = get_customer(s, customer_id)
        contracts: list[Contract] = list_contracts(s, customer.id)
        return page(
            request,
            "customer.html",
            principal,
            customer=customer,
            aliases=list_aliases(s, customer.id),
            fields=get_fields(s, Entity.CUSTOMER, customer.id),
            contracts=[
                (c, get_fields(s, Entity.CONTRACT, c.id), history(s, c.id)) for c in contracts
            ],
        )
