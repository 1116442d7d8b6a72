"""`POST /salesforce/outbound-message` and `POST /salesforce/opportunities/{id}/provision`.

Both only enqueue `sfsync.sync.provision_opportunity`; the poll stays the safety net, so a
lost call costs latency, never a contract.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api.auth import require
from api.errors import BadRequest
from api.queue import EnqueueFailed
from api.salesforce.soap import (
    InvalidMessage,
    OutboundMessage,
    acknowledgement,
    fault,
    parse_message,
)
from api.state import ApiState, state
from models.notifications import mark_enqueued, record_notifications
from models.types import ApiScope
from sync.salesforce import normalize_id

__all__ = ["OPPORTUNITY_PREFIX", "outbound_message", "provision", "router"]

router = APIRouter(prefix="/salesforce", tags=["salesforce"])

OPPORTUNITY_PREFIX = "006"
_XML = "text/xml; charset=utf-8"


def _opportunity_id(value: str) -> str:
    try:
        normalized = normalize_id(value)
    except ValueError as exc:
        raise InvalidMessage(f"{value[:40]!r} is not a Salesforce id: {exc}") from None
    if not normalized.startswith(OPPORTUNITY_PREFIX):
        raise InvalidMessage(f"{normalized} is not an Opportunity id (they start with 006)")
    return normalized


def _same_org(sent: str, expected: str) -> bool:
    # The first 15 characters are the id; the 18-character form adds a case checksum.
    return sent[:15] == expected[:15]


def _accept(api: ApiState, message: OutboundMessage) -> None:
    """Record the notifications, enqueue those not yet enqueued, then mark them."""
    for n in message.notifications:
        if n.sobject_type != "Opportunity":
            raise InvalidMessage(
                f"notification {n.notification_id} is about a {n.sobject_type}; "
                "sfsync provisions from Opportunity outbound messages only"
            )
    wanted = {n.notification_id: _opportunity_id(n.object_id) for n in message.notifications}
    with api.store.session() as session:
        todo = record_notifications(session, wanted)
    for opportunity_id in dict.fromkeys(todo.values()):
        api.enqueuer.provision_opportunity(opportunity_id)
    with api.store.session() as session:
        mark_enqueued(session, list(todo))


def _soap(body: bytes, status: int) -> Response:
    return Response(body, status_code=status, media_type=_XML)


@router.post("/outbound-message", response_class=Response)
async def outbound_message(request: Request) -> Response:
    """Salesforce's Outbound Message listener: `Ack` true once the deals are queued."""
    api = state(request)
    expected = api.settings.sf_organization_id
    if expected is None:
        return _soap(fault("SFSYNC_SF_ORGANIZATION_ID is not set; refusing", client=False), 403)
    try:
        message = parse_message(await request.body())
        if not _same_org(message.organization_id, expected):
            return _soap(fault("this listener does not accept that organization", client=True), 403)
        await run_in_threadpool(_accept, api, message)
    except InvalidMessage as exc:
        return _soap(fault(str(exc), client=True), 400)
    except EnqueueFailed as exc:
        return _soap(fault(f"{exc}; redeliver later", client=False), 503)
    return _soap(acknowledgement(), 200)


@router.post(
    "/opportunities/{opportunity_id}/provision",
    status_code=202,
    dependencies=[require(ApiScope.WRITE)],
)
def provision(request: Request, opportunity_id: str) -> JSONResponse:
    """Queue one opportunity for provisioning now (a Flow HTTP callout or any webhook)."""
    try:
        normalized = _opportunity_id(opportunity_id)
    except InvalidMessage as exc:
        raise BadRequest(str(exc)) from None
    try:
        state(request).enqueuer.provision_opportunity(normalized)
    except EnqueueFailed as exc:
        return JSONResponse({"message": f"{exc}; retry shortly"}, status_code=503)
    body: dict[str, Any] = {"opportunity_id": normalized, "status": "queued"}
    return JSONResponse(body, status_code=202)
