"""Hostile and malformed requests get a one-line 4xx, never a traceback or a 500."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from models.types import ApiScope
from tests.api.conftest import LiveServer, ServerFactory

LIMIT = 4096  # SFSYNC_API_MAX_BODY_BYTES of the module's strict server


@pytest.fixture(scope="module")
def strict(server_factory: ServerFactory) -> LiveServer:
    """A server with a small body limit and a one-second request timeout."""
    return server_factory(SFSYNC_API_MAX_BODY_BYTES=str(LIMIT), SFSYNC_API_REQUEST_TIMEOUT="1")


@pytest.fixture(scope="module")
def http(strict: LiveServer) -> Iterator[httpx.Client]:
    with strict.http(strict.key(ApiScope.ADMIN)) as client:
        yield client


def _one_line_4xx(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    message = response.json()["message"]
    assert isinstance(message, str) and "\n" not in message and "Traceback" not in message
    return message


def test_a_declared_body_over_the_limit_is_413(http: httpx.Client) -> None:
    """Content-Length above SFSYNC_API_MAX_BODY_BYTES is refused before it is read."""
    body = b"[" + b" " * LIMIT + b"]"
    message = _one_line_4xx(
        http.post("/v1/ingest", content=body, headers={"Content-Type": "application/json"}), 413
    )
    assert "SFSYNC_API_MAX_BODY_BYTES" in message


def test_a_chunked_body_over_the_limit_is_413(http: httpx.Client) -> None:
    """A body without a length is counted as it arrives."""

    def chunks() -> Iterator[bytes]:
        yield b"["
        for _ in range(8):
            yield b" " * 1024
        yield b"]"

    response = http.post(
        "/v1/ingest", content=chunks(), headers={"Content-Type": "application/json"}
    )
    _one_line_4xx(response, 413)


@pytest.mark.parametrize("depth", [40, 2000])
def test_deeply_nested_json_is_400(http: httpx.Client, depth: int) -> None:
    """Nesting past 32 levels is refused, however deep (no recursion error)."""
    body = "[" * depth + "]" * depth
    response = http.post("/v1/ingest", content=body, headers={"Content-Type": "application/json"})
    assert "nested deeper than 32" in _one_line_4xx(response, 400)


@pytest.mark.parametrize(
    ("path", "body", "says"),
    [
        ("/v1/ingest", b"[{", "not valid JSON"),
        ("/v1/ingest", b'{"transaction_id": "x"}', "JSON array"),
        ("/v1/customers", b'{"name": 5}', "name"),
        ("/v1/customers", b'{"name": "x", "ingest_aliases": "a"}', "ingest_aliases"),
        ("/v1/customers", b'{"name": "x", "billing_config": {}}', "billing_config"),
        ("/v1/customers", b"[]", "body"),
        ("/v1/contracts/create", b'{"customer_id": "x", "starting_at": "soon"}', "starting_at"),
        (
            "/v1/contracts/create",
            b'{"customer_id": "x", "starting_at": "2026-01-01T00:00:00"}',
            "offset",
        ),
        ("/v1/events/search", b'{"transactionIds": []}', "transactionIds"),
        ("/v1/customers/not-a-uuid/setName", b'{"name": "x"}', "not a valid id"),
        (
            "/v1/customFields/addKey",
            b'{"entity": "plan", "key": "k", "enforce_uniqueness": true}',
            "plan",
        ),
    ],
)
def test_malformed_bodies_and_wrong_types_are_one_line_400s(
    http: httpx.Client, path: str, body: bytes, says: str
) -> None:
    """Each names what is wrong in one line."""
    response = http.post(path, content=body, headers={"Content-Type": "application/json"})
    assert says in _one_line_4xx(response, 400)


def test_wrong_query_types_are_400(http: httpx.Client) -> None:
    """A limit that is not a number, or past the page size, is a 400."""
    assert "limit" in _one_line_4xx(http.get("/v1/customers", params={"limit": "many"}), 400)
    _one_line_4xx(http.get("/v1/customers", params={"limit": "1000"}), 400)
    _one_line_4xx(http.get("/v1/customers", params={"customer_ids": "nope"}), 400)


def test_a_body_that_is_not_json_says_to_send_json(http: httpx.Client) -> None:
    """Form-encoded (curl -d without a Content-Type) is refused saying what to send."""
    response = http.post(
        "/v1/customers",
        content=b'{"name": "x"}',
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert "Content-Type: application/json" in _one_line_4xx(response, 400)


def test_fuzzed_bodies_never_make_a_500(http: httpx.Client, strict: LiveServer) -> None:
    """Odd values on every endpoint: always a 4xx or a 2xx, and no traceback in the log."""
    values: list[object] = [
        None,
        0,
        -1,
        1e308,
        True,
        "",
        "\x00",
        "\ud800"[:0] + "é" * 200,
        [],
        {},
        [[]],
        {"a": {}},
    ]
    paths = [
        "/v1/ingest",
        "/v1/customers",
        "/v1/customers/archive",
        "/v1/customFields/addKey",
        "/v1/customFields/setValues",
        "/v1/customFields/deleteValues",
        "/v1/customFields/listKeys",
        "/v1/contracts/create",
        "/v1/contracts/get",
        "/v1/contracts/list",
        "/v1/events/search",
    ]
    for path in paths:
        for value in values:
            for body in (value, [value], {"name": value, "id": value, "customer_id": value}):
                response = http.post(path, json=body)
                assert response.status_code < 500, (path, body, response.text)
    assert "Traceback" not in strict.output()


def test_an_event_with_nul_and_huge_values_is_a_dead_letter_not_a_500(http: httpx.Client) -> None:
    """Per-event problems reject that event (400 naming it), never the server."""
    events = [
        {
            "transaction_id": "nul\x00",
            "customer_id": "k",
            "event_type": "e",
            "timestamp": "2026-12-01T00:00:00Z",
        },
        {
            "transaction_id": "t" * 500,
            "customer_id": "k",
            "event_type": "e",
            "timestamp": "2026-12-01T00:00:00Z",
        },
    ]
    response = http.post("/v1/ingest", json=events)
    assert response.status_code == 400
    assert [r["index"] for r in response.json()["rejected"]] == [0, 1]


def test_a_request_slower_than_the_timeout_is_answered_503(http: httpx.Client) -> None:
    """A client trickling its body is cut off after SFSYNC_API_REQUEST_TIMEOUT (1 s here)."""

    def trickle() -> Iterator[bytes]:
        yield b"["
        time.sleep(3)  # the slow client under test, not synchronisation
        yield b"]"

    started = time.monotonic()
    response = http.post(
        "/v1/ingest", content=trickle(), headers={"Content-Type": "application/json"}
    )
    assert "longer than 1 s" in _one_line_4xx(response, 503)
    assert time.monotonic() - started < 3 + 2
