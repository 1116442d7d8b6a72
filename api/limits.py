"""Request limits: body size (413), JSON nesting (400) and time (503), before any handler.

The body limit is checked on the declared length and again on the bytes actually received
(a chunked body has no length); the time limit covers reading the body too, so a client
that trickles its body is answered rather than holding a worker. The time limit is a
`Deadline` the request's store transaction shares (`api.state.writer`): a request answered
503 never commits afterwards, and one whose commit began before it is answered.

Errors::

    HTTPException
     └── BodyTooLarge    413, raised while the body is read past the limit
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import BadRequest, error_response
from models import exactjson
from models.deadline import Deadline

__all__ = [
    "MAX_JSON_DEPTH",
    "BodyTooLarge",
    "EventsRoute",
    "JsonRoute",
    "RequestLimits",
    "json_guard",
    "parsed_body",
]

#: Deepest JSON a request may carry: usage properties and custom fields are shallow.
MAX_JSON_DEPTH = 32


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(
            413, f"the request body is larger than {limit} bytes (SFSYNC_API_MAX_BODY_BYTES)"
        )


class RequestLimits:
    """ASGI middleware enforcing the body size and the request time limit."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, timeout: float) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_body_bytes
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await error_response(413, BodyTooLarge(limit).detail)(scope, receive, send)
            return
        if b"%00" in scope.get("query_string", b""):
            message = "query parameters must not contain NUL characters (%00)"
            await error_response(400, message)(scope, receive, send)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        # The handler's store transaction shares this deadline: past it, either the handler
        # has claimed its commit (its answer is awaited: the write happened) or the request
        # is abandoned and its commit refused (the 503 is true: nothing was written).
        deadline = Deadline(self.timeout)
        scope.setdefault("state", {})["deadline"] = deadline
        work = asyncio.ensure_future(self.app(scope, limited_receive, tracking_send))
        try:
            await asyncio.wait_for(asyncio.shield(work), self.timeout)
            return
        except asyncio.CancelledError:
            work.cancel()
            raise
        except TimeoutError:
            if not deadline.abandon():
                await work
                return
        work.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await work
        if not started:
            message = f"the request took longer than {self.timeout:g} s; retry it"
            await error_response(503, message)(scope, receive, send)


def _bad_text(value: Any) -> str | None:
    """Why a string in `value` cannot be stored (NUL, a lone surrogate), or None."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return "strings must not contain NUL characters (\\u0000)"
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return "strings must be valid Unicode (no lone surrogates such as \\ud800)"
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


def _depth(value: Any) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > MAX_JSON_DEPTH:
                return depth
            deepest = max(deepest, depth)
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return deepest


async def json_guard(request: Request, *, check_text: bool = True, per_item: bool = False) -> Any:
    """The parsed JSON body (None when empty); refused when not JSON or too deeply nested.

    With `check_text`, a string the store cannot hold (NUL, a lone surrogate) is refused
    too; usage events check their own text, so that one bad event does not refuse a batch.
    With `per_item` the depth is counted from each item of a top-level array (a usage
    event), not from the array that carries them.
    """
    body = await request.body()
    if not body:
        return None
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json" and not content_type.endswith("+json"):
        raise BadRequest("send the body as JSON, with `Content-Type: application/json`")
    try:
        # Exact numbers: a usage property keeps its digits from the request to `--sum`.
        value = exactjson.loads(body)
    except RecursionError:
        raise BadRequest(f"the JSON body is nested deeper than {MAX_JSON_DEPTH} levels") from None
    except ValueError as exc:
        raise BadRequest(f"the body is not valid JSON: {exc}") from None
    if per_item and isinstance(value, list):
        for index, item in enumerate(value):
            if _depth(item) > MAX_JSON_DEPTH:
                raise BadRequest(f"item {index} is nested deeper than {MAX_JSON_DEPTH} levels")
    elif _depth(value) > MAX_JSON_DEPTH:
        raise BadRequest(f"the JSON body is nested deeper than {MAX_JSON_DEPTH} levels")
    # Only escapes can carry NUL or a surrogate into JSON text: skip the walk without them.
    if check_text and b"\\u" in body and (reason := _bad_text(value)):
        raise BadRequest(reason)
    return value


class JsonRoute(APIRoute):
    """A route whose JSON body passes `json_guard` before FastAPI parses it.

    Ahead of FastAPI's own parsing so that JSON too deep for the parser is answered with
    the depth limit rather than a generic parse error.
    """

    check_text = True
    per_item = False

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            # Kept for handlers that take the parsed body (`parsed_body`) instead of a model.
            request.state.json_body = await json_guard(
                request, check_text=self.check_text, per_item=self.per_item
            )
            return await handler(request)

        return guarded


def parsed_body(request: Request) -> Any:
    """The JSON body `JsonRoute` parsed (so a large body is parsed once)."""
    return request.state.json_body


class EventsRoute(JsonRoute):
    """`JsonRoute` for usage events: each event's validation checks its own text, and the
    nesting limit counts from each event (an event is as deep as it is wherever it is sent)."""

    check_text = False
    per_item = True
