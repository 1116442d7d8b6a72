"""An unauthenticated request costs its headers only: refused before its body is read, and a
crowd of them with megabyte bodies does not slow `/healthz` for everyone else."""

from __future__ import annotations

import socket
import statistics
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from urllib.parse import urlsplit

import httpx
import pytest

from sfsync.models.types import ApiScope
from tests.api.conftest import LiveServer, ServerFactory

ORG_ID = "00D5g000004ABCDEA4"
TOKEN = "outbound-token-0123456789abcdefghijklmnop"
MEGABYTE = 1_048_576 - 4096
#: Twelve 1 MB bodies of the shapes that were cheapest to send and dearest to parse.
JSON_BODY = b"[" + b",".join([b'{"a":[]}'] * (MEGABYTE // 9)) + b"]"
XML_BODY = b"<x>" + b"<x/>" * (MEGABYTE // 4 - 2) + b"</x>"
CLIENTS = 12
JSON_TYPE = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def listener(server_factory: ServerFactory) -> LiveServer:
    """A server whose Outbound Message listener is configured (org id and URL token)."""
    return server_factory(SFSYNC_SF_ORGANIZATION_ID=ORG_ID, SFSYNC_SF_OUTBOUND_MESSAGE_TOKEN=TOKEN)


def _connect(server: LiveServer) -> socket.socket:
    url = urlsplit(server.url)
    return socket.create_connection((url.hostname or "127.0.0.1", url.port or 80), timeout=10)


def _answer_without_sending_the_body(
    server: LiveServer, path: str, content_type: str, headers: str = ""
) -> bytes:
    """Send a POST's headers announcing 1 MB, never its body; return all the server sends."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: sfsync\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {MEGABYTE}\r\n{headers}\r\n"
    )
    with _connect(server) as sock:
        sock.sendall(head.encode())
        received = b""
        while chunk := sock.recv(65536):  # the server closes once it has answered
            received += chunk
    return received


@pytest.mark.parametrize(
    ("path", "content_type", "headers", "status"),
    [
        ("/v1/ingest", "application/json", "", b"401"),
        ("/v1/ingest", "application/json", "Authorization: Bearer sfsync_00_nope\r\n", b"401"),
        ("/v1/customers", "application/json", "", b"401"),
        ("/v1/contracts/create", "application/json", "", b"401"),
        ("/salesforce/outbound-message", "text/xml", "", b"403"),
        ("/salesforce/outbound-message/not-the-token", "text/xml", "", b"403"),
    ],
)
def test_an_unauthenticated_post_is_answered_before_its_body_is_sent(
    listener: LiveServer, path: str, content_type: str, headers: str, status: bytes
) -> None:
    """The refusal comes from the headers alone, and the connection is closed after it."""
    answer = _answer_without_sending_the_body(listener, path, content_type, headers)
    status_line = answer.split(b"\r\n", 1)[0]
    assert status_line.startswith(b"HTTP/1.1 " + status), answer[:200]
    assert b"connection: close" in answer.lower()


def test_a_scope_too_narrow_is_refused_before_the_body_is_sent(listener: LiveServer) -> None:
    """A valid key without the endpoint's scope is 403 from the headers alone."""
    key = listener.key(ApiScope.INGEST)
    answer = _answer_without_sending_the_body(
        listener, "/v1/customers", "application/json", f"Authorization: Bearer {key}\r\n"
    )
    assert answer.startswith(b"HTTP/1.1 403"), answer[:200]


def _healthz_seconds(server: LiveServer, times: int) -> list[float]:
    spent = []
    with httpx.Client(base_url=server.url, timeout=30) as http:
        for _ in range(times):
            started = time.perf_counter()
            assert http.get("/healthz").status_code == 200
            spent.append(time.perf_counter() - started)
    return spent


UNAUTHENTICATED = [
    ("/v1/ingest", "application/json", JSON_BODY),
    ("/salesforce/outbound-message", "text/xml", XML_BODY),
]


@contextmanager
def megabyte_crowd(
    server: LiveServer, targets: list[tuple[str, str, bytes]], key: str | None = None
) -> Iterator[list[int]]:
    """CLIENTS threads posting 1 MB bodies to `targets` in turn while the block runs."""
    stop = threading.Event()
    sent = [0] * CLIENTS

    def post(slot: int) -> None:
        path, content_type, body = targets[slot % len(targets)]
        with server.http(key) as http:
            while not stop.is_set():
                # Refused mid-body, the server closes without reading the rest.
                with suppress(httpx.TransportError):
                    http.post(path, content=body, headers={"Content-Type": content_type})
                sent[slot] += 1

    threads = [threading.Thread(target=post, args=(i,), daemon=True) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    try:
        yield sent
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=120)


def test_megabyte_posts_without_credentials_do_not_starve_healthz(listener: LiveServer) -> None:
    """With twelve clients posting 1 MB bodies, /healthz stays within 0.5 s of its idle median."""
    baseline, loaded = _healthz_under(listener, UNAUTHENTICATED)
    median = statistics.median(loaded)
    report = f"baseline {baseline * 1000:.0f} ms, under load {[round(t * 1000) for t in loaded]} ms"
    assert median < baseline + 0.5, report
    assert max(loaded) < 2.0, report


def test_megabyte_json_bodies_with_a_key_are_parsed_off_the_event_loop(
    listener: LiveServer,
) -> None:
    """Twelve clients with a valid key posting 1 MB of JSON: /healthz stays answered."""
    key = listener.key(ApiScope.INGEST)
    with listener.http(key) as http:
        refused = http.post("/v1/ingest", content=JSON_BODY, headers=JSON_TYPE)
    assert refused.status_code == 400 and "at most 100" in refused.json()["message"]
    baseline, loaded = _healthz_under(
        listener, [("/v1/ingest", JSON_TYPE["Content-Type"], JSON_BODY)], key
    )
    median = statistics.median(loaded)
    report = f"baseline {baseline * 1000:.0f} ms, under load {[round(t * 1000) for t in loaded]} ms"
    assert median < baseline + 0.5, report
    assert max(loaded) < 2.0, report


def _healthz_under(
    server: LiveServer, targets: list[tuple[str, str, bytes]], key: str | None = None
) -> tuple[float, list[float]]:
    """/healthz's idle median, then its times while a crowd posts to `targets`."""
    baseline = statistics.median(_healthz_seconds(server, 20))
    with megabyte_crowd(server, targets, key) as sent:
        deadline = time.monotonic() + 30
        while sum(sent) < CLIENTS and time.monotonic() < deadline:
            time.sleep(0.05)  # poll until every client has had an answer
        loaded = _healthz_seconds(server, 20)
    assert sum(sent) >= CLIENTS
    return baseline, loaded
