"""Writes a client may retry: one transaction within the request's deadline, and with an
`Idempotency-Key` header the first answer given again to a retry.

The answer is kept in the write's own transaction (`models.operations.request_keys`), so a request that
failed keeps nothing and its retry runs afresh; a retry whose method, path or body differ
from the first request's is a 409 (`IdempotencyKeyReused`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from sfsync.api.state import writer
from sfsync.models.operations.api_keys import Principal
from sfsync.models.operations.request_keys import (
    StoredResponse,
    fingerprint,
    recall_response,
    record_response,
)

__all__ = ["HEADER", "REPLAYED_HEADER", "idempotent_write"]

HEADER = "idempotency-key"
#: Set on an answer given again to a retry (as Stripe's `Idempotent-Replayed`).
REPLAYED_HEADER = "idempotent-replayed"


def _answer(reply: StoredResponse, *, replayed: bool = False) -> Response:
    headers = {REPLAYED_HEADER: "true"} if replayed else None
    if reply.body is None:
        return Response(status_code=reply.status_code, headers=headers)
    return JSONResponse(reply.body, status_code=reply.status_code, headers=headers)


def idempotent_write(request: Request, work: Callable[[Session], Any]) -> Response:
    """Run `work` (its result: a JSON body, None for an empty 200, or a `StoredResponse`)."""
    key = request.headers.get(HEADER)
    with writer(request) as session:
        if key is None:
            return _answer(_reply(work(session)))
        principal: Principal = request.state.principal
        body = getattr(request.state, "json_body", None)
        print_ = fingerprint(request.method, request.url.path, jsonable_encoder(body))
        if (stored := recall_response(session, principal.key_id, key, print_)) is not None:
            return _answer(stored, replayed=True)
        reply = _reply(work(session))
        record_response(session, principal.key_id, key, print_, reply)
        return _answer(reply)


def _reply(result: Any) -> StoredResponse:
    if isinstance(result, StoredResponse):
        return StoredResponse(result.status_code, jsonable_encoder(result.body))
    return StoredResponse(200, jsonable_encoder(result))
