"""Request limits: body size (413), JSON nesting (400) and time (503), before any handler.

The body limit is checked on the declared length and again on the bytes actually received
(a chunked body has no length); the time limit covers reading the body too, so a client
that trickles its body is answered rather than holding a worker. The time limit is a
`Deadline` the request's store transaction shares (`api.state.writer`): a request answered
503 never commits afterwards, and one whose commit began before it is answered.

A `JsonRoute` admits the API key from the headers before reading the body (a refusal
closes the connection, so an unauthenticated body is never received), and parses a body
over `THREADED_PARSE_BYTES` in a worker thread, one at a time, off the event loop.

Errors::

    HTTPException
     └── BodyTooLarge    413, raised while the body is read past the limit
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

from anyio import CapacityLimiter, to_thread
from fastapi import Request, Response
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sfsync.api.auth import admit, required_scope
from sfsync.api.errors import ApiError, BadRequest, error_response
from sfsync.models import exactjson
from sfsync.models.deadline import Deadline

__all__ = [
    "MAX_JSON_DEPTH",
    "THREADED_PARSE_BYTES",
    "BodyTooLarge",
    "EventsRoute",
    "JsonRoute",
    "RequestLimits",
    "json_guard",
    "parse_off_loop",
    "parsed_body",
]

T = TypeVar("T")

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


#: Bodies larger than this are parsed in a worker thread, so the event loop stays free.
THREADED_PARSE_BYTES = 64 * 1024

# One large parse at a time per event loop: parsing holds the GIL, so parses running side
# by side would not finish sooner, only take more turns from the loop answering everyone.
_PARSERS: WeakKeyDictionary[asyncio.AbstractEventLoop, CapacityLimiter] = WeakKeyDictionary()


async def parse_off_loop(parse: Callable[..., T], *args: Any) -> T:
    """`parse(*args)` in a worker thread, one such parse at a time per event loop."""
    loop = asyncio.get_running_loop()
    limiter = _PARSERS.get(loop)
    if limiter is None:
        limiter = _PARSERS[loop] = CapacityLimiter(1)
    return await to_thread.run_sync(parse, *args, limiter=limiter)


def _parse(body: bytes, check_text: bool, plain_too: bool, per_item: bool) -> tuple[Any, Any]:
    """The body parsed exactly (and, with `plain_too`, as FastAPI's own `json.loads` would)."""
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
    return value, (json.loads(body) if plain_too else None)


async def _guarded_json(
    request: Request, *, check_text: bool, plain_too: bool, per_item: bool = False
) -> tuple[Any, Any]:
    body = await request.body()
    if not body:
        return None, None
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json" and not content_type.endswith("+json"):
        raise BadRequest("send the body as JSON, with `Content-Type: application/json`")
    if len(body) <= THREADED_PARSE_BYTES:
        return _parse(body, check_text, plain_too, per_item)
    return await parse_off_loop(_parse, body, check_text, plain_too, per_item)


async def json_guard(request: Request, *, check_text: bool = True, per_item: bool = False) -> Any:
    """The parsed JSON body (None when empty); refused when not JSON or too deeply nested.

    With `check_text`, a string the store cannot hold (NUL, a lone surrogate) is refused
    too; usage events check their own text, so that one bad event does not refuse a batch.
    With `per_item` the depth is counted from each item of a top-level array (a usage
    event), not from the array that carries them. A large body is parsed in a worker thread.
    """
    value, _ = await _guarded_json(
        request, check_text=check_text, plain_too=False, per_item=per_item
    )
    return value


def _closing(exc: ApiError) -> Response:
    # Refused before the body was read: closing keeps the unread body from being received.
    response = error_response(exc.status, exc.message, **exc.extra)
    response.headers["Connection"] = "close"
    return response


class JsonRoute(APIRoute):
    """A route that admits its API key, then passes its JSON body through `json_guard`.

    The key is checked from the headers before a byte of the body is read, so an
    unauthenticated request costs no more than its headers. The body is guarded ahead of
    FastAPI's own parsing so that JSON too deep for the parser is answered with the depth
    limit rather than a generic parse error; a large body is parsed off the event loop,
    FastAPI's model parsing included (its parse is handed over ready).
    """

    check_text = True
    per_item = False

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        scope = required_scope(self.dependencies)
        plain_too = self.body_field is not None

        async def guarded(request: Request) -> Response:
            if scope is not None:
                try:
                    await run_in_threadpool(admit, request, scope)
                except ApiError as exc:
                    return _closing(exc)
            # Kept for handlers that take the parsed body (`parsed_body`) instead of a model.
            value, plain = await _guarded_json(
                request, check_text=self.check_text, plain_too=plain_too, per_item=self.per_item
            )
            request.state.json_body = value
            if plain_too and value is not None:
                # Starlette's cache of `request.json()`, which FastAPI's handler reads.
                request._json = plain
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
