"""Every other Metronome path: a clear 404 rather than a silent or a 500 answer."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from sfsync.api.errors import error_response

__all__ = ["router", "uncovered"]

router = APIRouter(include_in_schema=False)

_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


@router.api_route("/v1/{rest:path}", methods=_METHODS)
@router.api_route("/v2/{rest:path}", methods=_METHODS)
def uncovered(request: Request, rest: str) -> JSONResponse:
    return error_response(
        404,
        f"{request.method} {request.url.path} is a Metronome endpoint that sfsync does not "
        "cover (its model has customers, custom fields, contracts and usage events); "
        "see /docs for the endpoints it serves",
    )
