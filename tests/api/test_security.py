"""API keys at the door: 401 without a valid key, 403 without the scope, secrets never shown."""

from __future__ import annotations

import time

import pytest

from sfsync.config import Settings
from sfsync.models.operations.api_keys import revoke_key
from sfsync.models.tables import ApiKey
from sfsync.models.types import ApiScope
from tests.api.conftest import LiveServer

CUSTOMER = {"name": "Scoped"}


def test_no_key_is_401_with_a_bearer_challenge(server: LiveServer) -> None:
    """Without Authorization the answer is 401 saying how to authenticate."""
    with server.http() as http:
        response = http.get("/v1/customers")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "Authorization: Bearer" in response.json()["message"]


@pytest.mark.parametrize(
    "header",
    [
        "Bearer sfsync_0000000000000000_not-a-real-secret",
        "Bearer nonsense",
        "Basic dXNlcjpwdw==",
        "Bearer",
    ],
)
def test_unknown_or_malformed_keys_are_401(server: LiveServer, header: str) -> None:
    """Anything but a known key is refused the same way."""
    with server.http() as http:
        response = http.get("/v1/customers", headers={"Authorization": header})
    assert response.status_code == 401


def test_a_revoked_key_is_401(server: LiveServer) -> None:
    """A key works until it is revoked, and is refused once the default key cache's TTL
    has passed."""
    token = server.key(ApiScope.READ)
    ttl = Settings.model_fields["api_key_cache_seconds"].default
    with server.http(token) as http:
        assert http.get("/v1/customers").status_code == 200
        key_id = token.split("_")[1]
        with server.store.session() as s:
            revoke_key(s, key_id)
        revoked_at = time.monotonic()
        while (status := http.get("/v1/customers").status_code) == 200:
            assert time.monotonic() - revoked_at < ttl + 2, "still admitted past the TTL"
            time.sleep(0.05)  # a poll: the expiry is the server's, not an event to wait on
        assert status == 401


@pytest.mark.parametrize(
    ("scope", "method", "path", "body", "allowed"),
    [
        (ApiScope.INGEST, "POST", "/v1/ingest", [], True),
        (ApiScope.INGEST, "GET", "/v1/customers", None, False),
        (ApiScope.INGEST, "POST", "/v1/customers", CUSTOMER, False),
        (ApiScope.READ, "GET", "/v1/customers", None, True),
        (ApiScope.READ, "POST", "/v1/ingest", [], False),
        (ApiScope.READ, "POST", "/v1/customers", CUSTOMER, False),
        (ApiScope.WRITE, "POST", "/v1/customers", CUSTOMER, True),
        (ApiScope.WRITE, "POST", "/v1/ingest", [], True),
        (ApiScope.WRITE, "POST", "/v1/customers/archive", {"id": "x"}, False),
        (
            ApiScope.WRITE,
            "POST",
            "/v1/customFields/removeKey",
            {"entity": "customer", "key": "k"},
            False,
        ),
        (
            ApiScope.READ,
            "POST",
            "/salesforce/opportunities/0065g000000000QAAQ/provision",
            None,
            False,
        ),
    ],
)
def test_each_scope_reaches_only_its_endpoints(
    server: LiveServer, scope: ApiScope, method: str, path: str, body: object, allowed: bool
) -> None:
    """A key without the scope an endpoint needs gets 403 naming its scope."""
    with server.http(server.key(scope)) as http:
        response = http.request(method, path, json=body)
    if allowed:
        assert response.status_code == 200, response.text
    else:
        assert response.status_code == 403
        assert repr(scope.value) in response.json()["message"]


def test_keys_never_appear_in_logs_responses_or_the_store(server: LiveServer) -> None:
    """Valid and invalid tokens are absent from the server's log, its answers and the table."""
    good = server.key(ApiScope.ADMIN)
    bad = "sfsync_0123456789abcdef_SENTINELsecretDoNotLog"
    seen: list[str] = []
    with server.http(good) as http:
        seen.append(http.post("/v1/customers", json={"name": 7}).text)
        seen.append(http.get("/v1/customers/not-a-uuid").text)
        seen.append(http.post("/v1/plans/list", json={}).text)
    with server.http(bad) as http:
        seen.append(http.get("/v1/customers").text)
    secrets = [good, good.split("_", 2)[2], bad, "SENTINELsecretDoNotLog"]
    log = server.output()
    assert "Traceback" not in log
    for secret in secrets:
        assert secret not in log
        assert all(secret not in text for text in seen)
    with server.store.session() as s:
        stored = [(k.secret_sha256, k.name) for k in s.query(ApiKey)]
    assert all(secret not in value for secret in secrets for row in stored for value in row)
