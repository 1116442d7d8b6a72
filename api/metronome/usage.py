"""Metronome's usage endpoints: `POST /v1/ingest` and `POST /v1/events/search`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from sfsync.api.auth import require
from sfsync.api.errors import BadRequest
from sfsync.api.idempotency import idempotent_write
from sfsync.api.limits import EventsRoute, JsonRoute, parsed_body
from sfsync.api.metronome import views
from sfsync.api.metronome.common import Body
from sfsync.api.state import state
from sfsync.models.operations.request_keys import StoredResponse
from sfsync.models.tables import Customer
from sfsync.models.types import ApiScope
from sfsync.models.usage.events import stored_events
from sfsync.sync.usage import EventOutcome, EventResult, ingest

__all__ = [
    "MAX_EVENTS_PER_REQUEST",
    "MAX_SEARCH_IDS",
    "SearchEvents",
    "ingest_events",
    "ingest_router",
    "router",
    "search_events",
]

router = APIRouter(prefix="/v1", tags=["usage"], route_class=JsonRoute)
#: Ingest answers per event for text it cannot store (a dead letter), not for the request.
ingest_router = APIRouter(prefix="/v1", tags=["usage"], route_class=EventsRoute)

#: Metronome's own limit per ingest request.
MAX_EVENTS_PER_REQUEST = 100
MAX_SEARCH_IDS = 100


_EVENTS_SCHEMA = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "array",
                    "maxItems": MAX_EVENTS_PER_REQUEST,
                    "items": {
                        "type": "object",
                        "required": ["transaction_id", "customer_id", "event_type", "timestamp"],
                        "properties": {
                            "transaction_id": {"type": "string"},
                            "customer_id": {"type": "string"},
                            "event_type": {"type": "string"},
                            "timestamp": {"type": "string", "format": "date-time"},
                            "properties": {"type": "object"},
                        },
                    },
                }
            }
        },
    }
}


@ingest_router.post(
    "/ingest", dependencies=[require(ApiScope.INGEST)], openapi_extra=_EVENTS_SCHEMA
)
def ingest_events(request: Request) -> Response:
    """Store usage events durably before answering; invalid ones become dead letters.

    200 when every event was stored (or was a duplicate); 400 naming the rejected ones
    otherwise, the valid ones stored all the same. A duplicate whose payload differs from
    the first copy's is named with the reason (`differing_duplicates`).
    """
    events = parsed_body(request)
    if not isinstance(events, list):
        raise BadRequest("the body must be a JSON array of usage events")
    if len(events) > MAX_EVENTS_PER_REQUEST:
        raise BadRequest(
            f"{len(events)} events in one request; at most {MAX_EVENTS_PER_REQUEST} per request"
        )
    api = state(request)
    accepted = 0

    def work(session: Session) -> StoredResponse:
        nonlocal accepted
        report = ingest(session, events, api.usage_rules)
        accepted = report.accepted
        counts: dict[str, Any] = {**report.counts()}
        rejected = [_result(r) for r in report.results_with(EventOutcome.REJECTED)]
        # A resent event is normal; one whose payload changed is a client's bug: say why.
        differing = [
            _result(r) for r in report.results_with(EventOutcome.DUPLICATE) if r.payload_differs
        ]
        if differing:
            counts["differing_duplicates"] = differing
        if not rejected:
            return StoredResponse(200, counts)
        message = (
            f"{len(rejected)} of {report.total} events rejected (kept as dead letters); "
            f"the other {report.total - len(rejected)} were stored"
        )
        return StoredResponse(400, {"message": message, **counts, "rejected": rejected})

    answer = idempotent_write(request, work)
    if accepted:
        api.enqueuer.ring_resolve()
    return answer


def _result(result: EventResult) -> dict[str, Any]:
    return {"index": result.index, "transaction_id": result.transaction_id, "reason": result.reason}


class SearchEvents(Body):
    transaction_ids: Annotated[
        list[str], Field(alias="transactionIds", min_length=1, max_length=MAX_SEARCH_IDS)
    ]

    model_config = {**Body.model_config, "populate_by_name": True}


@router.post("/events/search", dependencies=[require(ApiScope.READ)])
def search_events(request: Request, body: SearchEvents) -> list[dict[str, Any]]:
    """The stored events with these transaction ids, each with the customer it matched."""
    ids = list(dict.fromkeys(body.transaction_ids))
    with state(request).store.reader() as session:
        found = stored_events(session, ids)
        owners = {e.customer_id for e in found.values() if e.customer_id is not None}
        names = dict(
            session.execute(select(Customer.id, Customer.name).where(Customer.id.in_(owners)))
            .tuples()
            .all()
        )
    out = []
    for tx in ids:
        event = found.get(tx)
        if event is None:
            continue
        owner = event.customer_id
        out.append(views.event(event, (owner, names[owner]) if owner in names else None))
    return out
