"""The API's errors, and the one place exceptions become HTTP answers.

::

    ApiError                 an answer other than success: status and a one-line message
     ├── BadRequest          400  malformed JSON, wrong types, a limit passed
     ├── Unauthorized        401  no key, an unknown or a revoked one
     ├── Forbidden           403  the key lacks the scope
     ├── NotCovered          404  a Metronome endpoint the model does not cover
     ├── PayloadTooLarge     413  the body passes SFSYNC_API_MAX_BODY_BYTES
     └── Unavailable         503  the broker or the store cannot take the request now

The store's errors are translated in `install_handlers`: `NotFound` 404, `Conflict` 409
(an alias conflict names the holder, a used `uniqueness_key` what it created),
`InvalidInput` 400, `StoreUnavailable` 503. Every body is Metronome's ``{"message": ...}``;
anything unexpected is a 500 whose body says nothing of the cause (the server log has it,
with secrets redacted). A 409 carries `x-should-retry: false`: the same request conflicts
again, so the official SDK must not resend it.

The API's other exceptions live beside the code that raises them and are answered where
they are caught (the routes answer in SOAP, the console in HTML), not by these handlers::

    BodyTooLarge        api.limits          413 (a Starlette `HTTPException`, so the
                                            handler here words it): the body limit
    InvalidMessage      api.salesforce.soap a `ValueError`: not an Outbound Message sfsync
                                            acts on → a SOAP client fault, 400
    EnqueueFailed       api.queue           the broker did not take the message (kombu's
                                            errors translated there) → 503, a failed
                                            readiness check
    SignInRequired      api.console.auth    no console session → the sign-in redirect
    ConsoleForbidden    api.console.auth    scope or CSRF token wrong → the console's 403
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from sfsync.models import (
    AliasConflict,
    Conflict,
    InvalidInput,
    NotFound,
    StoreError,
    StoreUnavailable,
    UniquenessKeyUsed,
)

__all__ = [
    "ApiError",
    "BadRequest",
    "Forbidden",
    "NotCovered",
    "PayloadTooLarge",
    "Unauthorized",
    "Unavailable",
    "clip",
    "declare_400",
    "error_response",
    "install_handlers",
]

log = logging.getLogger(__name__)


class ApiError(Exception):
    status = 500

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra


class BadRequest(ApiError):
    status = 400


class Unauthorized(ApiError):
    status = 401


class Forbidden(ApiError):
    status = 403


class NotCovered(ApiError):
    status = 404


class PayloadTooLarge(ApiError):
    status = 413


class Unavailable(ApiError):
    status = 503


#: Answers a retry cannot change: the Stainless-made SDKs read `x-should-retry` first.
_FINAL = {409: {"x-should-retry": "false"}, 401: {"WWW-Authenticate": "Bearer"}}


#: Longest message answered: an echoed input (a 10,000-character key) is cut, not repeated.
MAX_MESSAGE = 400
#: Longest piece of an input named in a validation message (a field path's key).
_MAX_ECHO = 60


def clip(text: str, limit: int = _MAX_ECHO) -> str:
    """`text`, or its start and an ellipsis when longer than `limit` characters."""
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


def error_response(status: int, message: str, **extra: Any) -> JSONResponse:
    body = {"message": clip(message, MAX_MESSAGE), **extra}
    return JSONResponse(body, status_code=status, headers=_FINAL.get(status))


def _one_line(exc: RequestValidationError) -> str:
    errors = exc.errors()
    if not errors:
        return "invalid request"
    first = errors[0]
    where = ".".join(clip(str(p)) for p in first.get("loc", ()) if p != "body") or "body"
    message = str(first.get("msg", "invalid")).removeprefix("Value error, ")
    if first.get("type") == "json_invalid":
        return "the body is not valid JSON"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {message}{more}"


def _store_error(exc: StoreError) -> JSONResponse:
    if isinstance(exc, AliasConflict):
        holder = str(exc.holder_id) if exc.holder_id else None
        return error_response(409, str(exc), conflicting_customer_id=holder)
    if isinstance(exc, UniquenessKeyUsed):
        created = str(exc.holder_id) if exc.holder_id else None
        return error_response(409, str(exc), conflicting_id=created)
    if isinstance(exc, NotFound):
        return error_response(404, str(exc))
    if isinstance(exc, Conflict):
        return error_response(409, str(exc))
    if isinstance(exc, InvalidInput):
        return error_response(400, str(exc))
    if isinstance(exc, StoreUnavailable):
        return error_response(503, "the store is busy or unreachable; retry shortly")
    log.error("store error: %s", exc)
    return error_response(500, "internal error")


_ERROR_SCHEMA = {
    "type": "object",
    "properties": {"message": {"type": "string"}},
    "required": ["message"],
}


def declare_400(app: FastAPI) -> None:
    """Make the OpenAPI document say what the server answers: a 400 `{"message"}`, not 422."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = build()
        for operations in document.get("paths", {}).values():
            for operation in operations.values():
                responses = operation.get("responses", {})
                if responses.pop("422", None) is not None:
                    responses["400"] = {
                        "description": "Bad request: malformed JSON, wrong types, a limit passed",
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                        },
                    }
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        for unused in ("HTTPValidationError", "ValidationError"):
            schemas.pop(unused, None)
        schemas["Error"] = _ERROR_SCHEMA
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def install_handlers(app: FastAPI) -> None:
    """Route every exception to one JSON answer (and declare them so in the OpenAPI document)."""
    declare_400(app)

    @app.exception_handler(ApiError)
    async def _api(_: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.message, **exc.extra)

    @app.exception_handler(StoreError)
    async def _store(_: Request, exc: StoreError) -> JSONResponse:
        return _store_error(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(400, _one_line(exc))

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        if exc.status_code == 404:
            return error_response(404, f"no such endpoint: {request.method} {request.url.path}")
        if exc.status_code == 405:
            return error_response(405, f"{request.method} is not allowed on {request.url.path}")
        return error_response(exc.status_code, str(exc.detail))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(500, "internal error")
