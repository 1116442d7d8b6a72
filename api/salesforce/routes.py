"""`POST /salesforce/outbound-message` and `POST /salesforce/opportunities/{id}/provision`.

Both only enqueue `sfsync.sync.provision_opportunity`; the poll stays the safety net, so a
lost call costs latency, never a contract.
"""

from __future__ import annotations

import hmac
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from sfsync.api.auth import require
from sfsync.api.errors import BadRequest
from sfsync.api.limits import THREADED_PARSE_BYTES, parse_off_loop
from sfsync.api.queue import EnqueueFailed
from sfsync.api.salesforce.soap import (
    InvalidMessage,
    OutboundMessage,
    acknowledgement,
    fault,
    parse_message,
)
from sfsync.api.state import state, writer
from sfsync.models.operations.notifications import (
    enqueued_recently,
    mark_enqueued,
    record_notifications,
)
from sfsync.models.types import ApiScope
from sfsync.sync.salesforce import normalize_id

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
    """Whether `sent` is the org `expected` names, compared whole in 18-character form."""
    try:
        return hmac.compare_digest(normalize_id(sent).encode(), normalize_id(expected).encode())
    except ValueError:
        return False


def _token_matches(sent: str, expected: str) -> bool:
    return hmac.compare_digest(sent.encode(), expected.encode())


def _accept(request: Request, expected: str, message: OutboundMessage) -> Response:
    """Record the message's notifications, enqueue the new ones, then mark them.

    Both transactions are bounded by the request's deadline (`writer`): a message answered
    503 recorded nothing, so its redelivery is acted on. Past the deadline after the
    enqueue, the marks are refused and a redelivery enqueues again (provisioning is
    idempotent)."""
    api = state(request)
    settings = api.settings
    if not _same_org(message.organization_id, expected):
        return _soap(fault("this listener does not accept that organization", client=True), 403)
    organization_id = normalize_id(expected)
    for n in message.notifications:
        if n.sobject_type != "Opportunity":
            raise InvalidMessage(
                f"notification {n.notification_id} is about a {n.sobject_type}; "
                "sfsync provisions from Opportunity outbound messages only"
            )
    wanted = {n.notification_id: _opportunity_id(n.object_id) for n in message.notifications}
    retention = timedelta(days=settings.sf_notification_retention_days)
    with writer(request) as session:
        if enqueued_recently(session, organization_id) >= settings.sf_outbound_enqueues_per_minute:
            return _soap(fault(_RATE_LIMITED, client=False), 503)
        todo = record_notifications(session, organization_id, wanted, retention=retention)
    for opportunity_id in dict.fromkeys(k.object_id for k in todo):
        api.enqueuer.provision_opportunity(opportunity_id)
    with writer(request) as session:
        mark_enqueued(session, organization_id, todo)
    return _soap(acknowledgement(), 200)


_RATE_LIMITED = (
    "this org's outbound messages queued more deals in the last minute than "
    "SFSYNC_SF_OUTBOUND_ENQUEUES_PER_MINUTE allows; redeliver later"
)


def _soap(body: bytes, status: int, *, close: bool = False) -> Response:
    # Refused before its body was read: close, so the unread body is never received.
    headers = {"Connection": "close"} if close else None
    return Response(body, status_code=status, media_type=_XML, headers=headers)


@router.post("/outbound-message", response_class=Response, include_in_schema=False)
@router.post("/outbound-message/{token}", response_class=Response)
async def outbound_message(request: Request, token: str = "") -> Response:
    """Salesforce's Outbound Message listener: `Ack` true once the deals are queued.

    The endpoint URL carries the secret `SFSYNC_SF_OUTBOUND_MESSAGE_TOKEN`; without it the
    request is refused from its headers alone.
    """
    api = state(request)
    settings = api.settings
    secret = settings.sf_outbound_message_token
    expected = settings.sf_organization_id
    if expected is None or secret is None:
        missing = "SFSYNC_SF_ORGANIZATION_ID and SFSYNC_SF_OUTBOUND_MESSAGE_TOKEN must be set"
        return _soap(fault(f"{missing}; refusing", client=False), 403, close=True)
    if not _token_matches(token, secret.get_secret_value()):
        lacking = "the endpoint URL lacks this listener's token (SFSYNC_SF_OUTBOUND_MESSAGE_TOKEN)"
        return _soap(fault(lacking, client=True), 403, close=True)
    try:
        body = await request.body()
        if len(body) > THREADED_PARSE_BYTES:
            message = await parse_off_loop(parse_message, body)
        else:
            message = parse_message(body)
        return await run_in_threadpool(_accept, request, expected, message)
    except InvalidMessage as exc:
        return _soap(fault(str(exc), client=True), 400)
    except EnqueueFailed as exc:
        return _soap(fault(f"{exc}; redeliver later", client=False), 503)


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
