"""Connections cost the server bounded time: header and keep-alive timeouts, and a cap."""

from __future__ import annotations

import socket
import time
from contextlib import ExitStack
from urllib.parse import urlsplit

import httpx
import pytest

from tests.api.conftest import LiveServer, ServerFactory

HEALTHZ = b"GET /healthz HTTP/1.1\r\nHost: sfsync\r\n\r\n"


@pytest.fixture(scope="module")
def impatient(server_factory: ServerFactory) -> LiveServer:
    """A server that gives a client one second for its headers and one idle second after."""
    return server_factory(SFSYNC_API_HEADER_TIMEOUT="1", SFSYNC_API_KEEP_ALIVE_TIMEOUT="1")


def _connect(server: LiveServer) -> socket.socket:
    url = urlsplit(server.url)
    return socket.create_connection((url.hostname or "127.0.0.1", url.port or 80), timeout=10)


def _closed_after(sock: socket.socket, limit: float) -> tuple[float, bytes]:
    """Read until the server closes (or `limit` seconds pass); seconds taken and bytes read."""
    started = time.monotonic()
    received = b""
    sock.settimeout(limit)
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except TimeoutError:
        return float("inf"), received
    return time.monotonic() - started, received


def test_an_idle_keep_alive_connection_is_closed_after_the_keep_alive_timeout(
    impatient: LiveServer,
) -> None:
    """After its answer, a connection that sends nothing more is closed (1 s setting)."""
    with _connect(impatient) as sock:
        sock.sendall(HEALTHZ)
        seconds, received = _closed_after(sock, 4)
    assert received.startswith(b"HTTP/1.1 200")
    assert seconds < 3, "the kept-alive connection stayed open"


def test_a_connection_that_never_sends_its_headers_is_closed(impatient: LiveServer) -> None:
    """A silent connection is cut off at the header timeout, with nothing sent back."""
    with _connect(impatient) as sock:
        seconds, received = _closed_after(sock, 5)
    assert received == b""
    assert seconds < 3, "the silent connection stayed open"


def test_a_client_trickling_header_lines_is_cut_off_at_the_header_timeout(
    impatient: LiveServer,
) -> None:
    """A header line every 0.2 s keeps the connection busy but not open past the deadline."""
    with _connect(impatient) as sock:
        started = time.monotonic()
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: sfsync\r\n")
        sock.settimeout(0.2)
        closed_after = float("inf")
        line = 0
        while time.monotonic() - started < 6:
            try:
                sock.sendall(f"X-Trickle-{line}: 1\r\n".encode())
                line += 1
                if sock.recv(65536) == b"":
                    closed_after = time.monotonic() - started
                    break
            except TimeoutError:
                continue  # the client's pace: the server has said nothing yet
            except OSError:
                closed_after = time.monotonic() - started
                break
    assert closed_after < 3, "the trickling client was never cut off"


@pytest.fixture(scope="module")
def capped(server_factory: ServerFactory) -> LiveServer:
    """A server that serves while fewer than four connections are open."""
    return server_factory(SFSYNC_API_MAX_CONNECTIONS="4", SFSYNC_API_HEADER_TIMEOUT="60")


def _healthz_status(server: LiveServer) -> int:
    """The status of /healthz on a new connection (accepted after those opened before it)."""
    with _connect(server) as sock:
        sock.sendall(HEALTHZ)
        received = b""
        while b"\r\n" not in received and (chunk := sock.recv(65536)):
            received += chunk
    return int(received.split(b" ", 2)[1])


def test_requests_past_the_connection_cap_are_refused_with_503(capped: LiveServer) -> None:
    """With the cap's worth of connections open, a new request is 503; below it, 200."""
    with ExitStack() as stack:
        for _ in range(2):
            stack.enter_context(_connect(capped))
        assert _healthz_status(capped) == 200
        for _ in range(2):
            stack.enter_context(_connect(capped))
        assert _healthz_status(capped) == 503
    with httpx.Client(base_url=capped.url, timeout=10) as http:
        deadline = time.monotonic() + 10
        while http.get("/healthz").status_code != 200:  # the server sees the closes
            assert time.monotonic() < deadline, "the cap never let requests through again"
