"""Hostile and malformed requests get a one-line 4xx, never a traceback or a 500."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import text

from sfsync.models.types import ApiScope
from tests.api.conftest import LiveServer, ServerFactory

LIMIT = 4096  # SFSYNC_API_MAX_BODY_BYTES of the module's strict server


@pytest.fixture(scope="module")
def strict(server_factory: ServerFactory) -> LiveServer:
    """A server with a small body limit and a three-second request timeout."""
    return server_factory(SFSYNC_API_MAX_BODY_BYTES=str(LIMIT), SFSYNC_API_REQUEST_TIMEOUT="3")


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


HOSTILE: list[object] = [
    None,
    0,
    -1,
    1e308,
    True,
    "",
    "\x00",
    "a\x00b",
    "\ud800",
    "é" * 300,
    [],
    {},
    [[]],
    {"a": {}},
    # Numbers past every range: integers over 64 bits, exponents no decimal context holds.
    2**64 + 1,
    -(10**30),
    "1e999999999",
    "-1e-999999999",
    "99999999999999999999999",
    # Instants whose offset moves them outside years 1..9999, and dates that do not exist.
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-05:00",
    "2026-02-30T00:00:00Z",
    "10000-01-01T00:00:00Z",
]
#: Sent as bare JSON numbers (no Python float holds them): replaced in the encoded body.
RAW_NUMBERS = {"\u2063huge": "1e999999999", "\u2063tiny": "-1e-999999999"}
HOSTILE += ["\u2063huge", "\u2063tiny"]
VALID = "00000000-0000-7000-8000-000000000000"
BODIES: dict[str, dict[str, object]] = {
    "/v1/customers": {
        "name": "n",
        "ingest_aliases": ["a"],
        "custom_fields": {},
        "external_id": "e",
    },
    "/v1/customers/archive": {"id": VALID},
    "/v1/customFields/addKey": {"entity": "customer", "key": "k", "enforce_uniqueness": False},
    "/v1/customFields/setValues": {"entity": "customer", "entity_id": VALID, "custom_fields": {}},
    "/v1/customFields/deleteValues": {"entity": "customer", "entity_id": VALID, "keys": ["k"]},
    "/v1/customFields/listKeys": {"entities": ["customer"]},
    "/v1/contracts/create": {
        "customer_id": VALID,
        "starting_at": "2026-01-01T00:00:00Z",
        "ending_before": "2027-01-01T00:00:00Z",
        "amount": "100",
    },
    "/v1/contracts/get": {"contract_id": VALID, "customer_id": VALID},
    "/v1/contracts/list": {
        "customer_id": VALID,
        "limit": 5,
        "covering_date": "2026-01-01T00:00:00Z",
        "starting_at": "2026-01-01T00:00:00Z",
    },
    "/v1/events/search": {"transactionIds": ["t"]},
}


def _post_ascii_json(http: httpx.Client, path: str, body: object) -> httpx.Response:
    # Escaped, so a lone surrogate travels as JSON's \\ud800 (as other clients send it).
    content = json.dumps(body)
    for marker, number in RAW_NUMBERS.items():
        content = content.replace(json.dumps(marker), number)
    return http.post(path, content=content.encode(), headers={"Content-Type": "application/json"})


def _mutations(body: dict[str, object]) -> list[object]:
    """The body with each field replaced by each hostile value, and inside lists and maps."""
    out: list[object] = [value for value in HOSTILE]
    for name in body:
        for value in HOSTILE:
            out.append({**body, name: value})
            out.append({**body, name: [value]})
            if isinstance(value, str):
                out.append({**body, name: {value: value}})
    return out


def test_fuzzed_bodies_never_make_a_500(http: httpx.Client, strict: LiveServer) -> None:
    """Every field of every body set to odd values: a 4xx or a 2xx, never a 5xx or traceback."""
    for path, body in BODIES.items():
        for mutated in _mutations(body):
            response = _post_ascii_json(http, path, mutated)
            assert response.status_code < 500, (path, mutated, response.text)
    # Percent-encoded: NUL, an encoded surrogate, invalid UTF-8, a long value.
    for value in ("a%00b", "%ED%A0%80", "%FF%FE", "x" * 5000):
        for name in ("ingest_alias", "customer_ids", "salesforce_account_ids", "next_page"):
            response = http.get(f"/v1/customers?{name}={value}")
            assert response.status_code < 500, (name, value, response.text)
    events = [
        {
            "transaction_id": f"fz-{i}",
            "customer_id": "k",
            "event_type": "e",
            "timestamp": "2026-12-01T00:00:00Z",
            "properties": {"p": value},
        }
        for i, value in enumerate(HOSTILE)
    ]
    for half in (events[: len(events) // 2], events[len(events) // 2 :]):  # under LIMIT
        assert _post_ascii_json(http, "/v1/ingest", half).status_code in (200, 400)
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
    """A client trickling its body is cut off after SFSYNC_API_REQUEST_TIMEOUT (3 s here)."""

    def trickle() -> Iterator[bytes]:
        yield b"["
        time.sleep(6)  # the slow client under test, not synchronisation
        yield b"]"

    started = time.monotonic()
    response = http.post(
        "/v1/ingest", content=trickle(), headers={"Content-Type": "application/json"}
    )
    assert "longer than 3 s" in _one_line_4xx(response, 503)
    assert time.monotonic() - started < 6 + 2


def _recent() -> str:
    return (datetime.now(UTC) - timedelta(minutes=5)).isoformat().replace("+00:00", "Z")


def test_property_numbers_keep_their_digits_over_http(
    http: httpx.Client, strict: LiveServer
) -> None:
    """A number no float can hold reaches the store with every digit it was sent with."""
    digits = "123456789012345678901234567890.123456789"
    tx = f"exact-{uuid.uuid4().hex[:8]}"
    body = (
        f'[{{"transaction_id": "{tx}", "customer_id": "k", "event_type": "e", '
        f'"timestamp": "{_recent()}", "properties": {{"amt": {digits}}}}}]'
    )
    response = http.post(
        "/v1/ingest", content=body.encode(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 200, response.text
    with strict.store.session() as s:
        stored = s.execute(
            text("SELECT CAST(properties AS TEXT) FROM usage_events WHERE transaction_id = :t"),
            {"t": tx},
        ).scalar_one()
    assert digits in stored


@pytest.mark.parametrize(
    ("field", "raw", "says"),
    [
        ("amount", '"1e999999999"', "digits before the point"),
        ("amount", "1e999999999", "amount"),
        ("amount", '"1e-999999999"', "decimal places"),
        ("starting_at", '"0001-01-01T00:00:00+01:00"', "out of range"),
        ("ending_before", '"9999-12-31T23:59:59-05:00"', "out of range"),
    ],
)
def test_contract_values_past_every_range_are_one_line_400s(
    http: httpx.Client, strict: LiveServer, field: str, raw: str, says: str
) -> None:
    """The issue's inputs to contracts/create: a 400 saying why, the connection kept."""
    customer = http.post("/v1/customers", json={"name": "Ranges"}).json()["data"]["id"]
    body = {"customer_id": customer, "starting_at": "2026-01-01T00:00:00Z", field: "@"}
    content = json.dumps(body).replace('"@"', raw)
    response = http.post(
        "/v1/contracts/create", content=content, headers={"Content-Type": "application/json"}
    )
    assert says in _one_line_4xx(response, 400)
    assert http.get("/healthz").status_code == 200
    assert "Traceback" not in strict.output()


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/customers", {"name": "n", "custom_fields": {"k" * 10_000: "v"}}),
        ("/v1/customers", {"name": "n", "ingest_aliases": ["a" * 10_000]}),
        (
            "/v1/customFields/addKey",
            {"entity": "e" * 10_000, "key": "k", "enforce_uniqueness": False},
        ),
        ("/v1/contracts/get", {"contract_id": "c" * 10_000, "customer_id": VALID}),
        ("/v1/customers", {"name": "n", "k" * 10_000: 1}),
    ],
)
def test_error_messages_do_not_echo_a_10000_character_input(
    server: LiveServer, path: str, body: dict[str, object]
) -> None:
    """An echoed input is cut: the message stays short and one line."""
    with server.http(server.key(ApiScope.ADMIN)) as http:
        message = _one_line_4xx(http.post(path, json=body), 400)
    assert len(message) <= 400, message
