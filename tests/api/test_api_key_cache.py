"""`SFSYNC_API_KEY_CACHE_SECONDS` on a live server: a revoked key is refused within the TTL."""

from __future__ import annotations

import time

import httpx

from sfsync.models.operations.api_keys import revoke_key
from sfsync.models.types import ApiScope
from tests.api.conftest import LiveServer, ServerFactory

TTL = 3.0
#: Time a request takes on a busy shared machine, on top of the TTL.
SLACK = 2.0


def _revoke(server: LiveServer, token: str) -> float:
    """Revoke the key; the monotonic time its revocation committed."""
    with server.store.session() as s:
        revoke_key(s, token.removeprefix("sfsync_").partition("_")[0])
    return time.monotonic()


def _ingest(http: httpx.Client) -> int:
    return http.post("/v1/ingest", json=[]).status_code


def test_a_revoked_key_is_admitted_within_the_ttl_and_refused_after_it(
    server_factory: ServerFactory,
) -> None:
    """A key seen valid keeps working until its cache entry expires, then is 401 for good."""
    server = server_factory(SFSYNC_API_KEY_CACHE_SECONDS=str(TTL))
    token = server.key(ApiScope.INGEST)
    with server.http(token) as http:
        cached_at = time.monotonic()
        assert _ingest(http) == 200
        revoked_at = _revoke(server, token)
        status = _ingest(http)
        if time.monotonic() - cached_at < TTL:
            assert status == 200, "within the TTL the cached key answers without the store"
        while (status := _ingest(http)) == 200:
            assert time.monotonic() - revoked_at < TTL + SLACK, "still admitted past the TTL"
            time.sleep(0.05)  # a poll: the expiry is the server's, not an event to wait on
        assert status == 401
        assert time.monotonic() - cached_at >= TTL - 0.5
        assert [_ingest(http) for _ in range(3)] == [401, 401, 401]


def test_a_ttl_of_zero_refuses_a_revoked_key_on_the_next_request(
    server_factory: ServerFactory,
) -> None:
    """With the cache off every request asks the store."""
    server = server_factory(SFSYNC_API_KEY_CACHE_SECONDS="0")
    token = server.key(ApiScope.INGEST)
    with server.http(token) as http:
        assert _ingest(http) == 200
        _revoke(server, token)
        assert _ingest(http) == 401
