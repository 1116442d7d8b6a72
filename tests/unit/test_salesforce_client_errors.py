"""How the client fails: error classification (`translate`), and the client's and the logins'
HTTP edge cases (`responses` plays Salesforce)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import jwt
import pytest
import requests
import responses
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)
from tenacity import wait_none

from sfsync.config import Settings
from sfsync.sync.salesforce import (
    SalesforceAuthError,
    SalesforceClient,
    SalesforceError,
    SalesforcePermanentError,
    SalesforceQueryLocatorExpired,
    SalesforceQueryTimeout,
    SalesforceSessionExpired,
    SalesforceThrottled,
    SalesforceTransientError,
)
from sfsync.sync.salesforce.errors import translate

INSTANCE = "https://acme.my.salesforce.com"
QUERY_URL = f"{INSTANCE}/services/data/v59.0/query/"
TOKEN_URL = "https://login.salesforce.com/services/oauth2/token"
SOAP_URL = "https://login.salesforce.com/services/Soap/u/59.0"
PASSWORD = "hunter2-password"
SECURITY_TOKEN = "sec-token-XYZ"
CONSUMER_SECRET = "consumer-secret-ABC"
REFRESH = "5Aep-refresh-token"
ACCESS = "00D!old-access-token"
NEW_ACCESS = "00D!new-access-token"


def sf_error(code: str, message: str = "boom") -> Any:
    # simple-salesforce annotates `content` as bytes but hands over the parsed JSON list.
    return [{"errorCode": code, "message": message, "fields": []}]


def page(records: int, *, done: bool = True, next_url: str | None = None) -> dict[str, object]:
    body: dict[str, object] = {
        "totalSize": records,
        "done": done,
        "records": [
            {"attributes": {"type": "Account"}, "Id": f"001{n:015d}"} for n in range(records)
        ],
    }
    if next_url:
        body["nextRecordsUrl"] = next_url
    return body


def token_body(token: str = NEW_ACCESS) -> dict[str, str]:
    return {"access_token": token, "instance_url": INSTANCE, "token_type": "Bearer"}


# --- translate -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (
            SalesforceGeneralError(QUERY_URL, 503, "query", sf_error("SERVER_UNAVAILABLE")),
            SalesforceTransientError,
        ),
        (
            SalesforceGeneralError(QUERY_URL, 500, "query", b"<html>oops</html>"),
            SalesforceTransientError,
        ),
        (
            SalesforceMalformedRequest(QUERY_URL, 400, "query", sf_error("QUERY_TIMEOUT")),
            SalesforceQueryTimeout,
        ),
        (
            SalesforceMalformedRequest(QUERY_URL, 400, "update", sf_error("UNABLE_TO_LOCK_ROW")),
            SalesforceTransientError,
        ),
        (
            SalesforceRefusedRequest(QUERY_URL, 403, "query", sf_error("REQUEST_LIMIT_EXCEEDED")),
            SalesforceThrottled,
        ),
        (
            SalesforceRefusedRequest(QUERY_URL, 403, "query", sf_error("INSUFFICIENT_ACCESS")),
            SalesforcePermanentError,
        ),
        (
            SalesforceExpiredSession(QUERY_URL, 401, "query", sf_error("INVALID_SESSION_ID")),
            SalesforceSessionExpired,
        ),
        (
            SalesforceResourceNotFound(QUERY_URL, 404, "query", sf_error("NOT_FOUND")),
            SalesforcePermanentError,
        ),
        (
            SalesforceMalformedRequest(QUERY_URL, 400, "query", sf_error("INVALID_QUERY_LOCATOR")),
            SalesforceQueryLocatorExpired,
        ),
        (
            SalesforceMalformedRequest(QUERY_URL, 400, "query", sf_error("MALFORMED_QUERY")),
            SalesforcePermanentError,
        ),
        (requests.ReadTimeout("read timed out"), SalesforceTransientError),
        (requests.ConnectionError("refused"), SalesforceTransientError),
    ],
)
def test_translate_classifies_by_error_code_then_status(exc: Exception, expected: type) -> None:
    """The errorCode decides first (403 can be throttling or permissions), the status second."""
    error = translate(exc)
    assert type(error) is expected
    assert isinstance(error, SalesforceError)


def test_an_invalid_field_names_the_setting_that_configured_it() -> None:
    """INVALID_FIELD mentioning a configured alias field tells which variable to fix."""
    exc = SalesforceMalformedRequest(
        QUERY_URL,
        400,
        "query",
        sf_error("INVALID_FIELD", "No such column 'Tenant__c' on entity 'Account'"),
    )
    error = translate(exc, field_settings={"Tenant__c": "SFSYNC_SF_ALIAS_FIELDS"})
    assert isinstance(error, SalesforcePermanentError)
    assert "SFSYNC_SF_ALIAS_FIELDS" in str(error)
    assert error.error_code == "INVALID_FIELD" and error.status == 400


def test_translate_applies_the_redactor_to_salesforce_text() -> None:
    """Whatever Salesforce echoes back passes through the redactor."""
    exc = SalesforceMalformedRequest(
        QUERY_URL, 400, "query", sf_error("MALFORMED_QUERY", f"near {PASSWORD}")
    )
    error = translate(exc, redact=lambda text: text.replace(PASSWORD, "[REDACTED]"))
    assert PASSWORD not in str(error)


# --- the client over HTTP --------------------------------------------------------------------


@pytest.fixture
def http() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def client_for(make_settings) -> Iterator[Callable[..., SalesforceClient]]:
    """A client that never really sleeps between retries."""
    clients: list[SalesforceClient] = []

    def make(**overrides: object) -> SalesforceClient:
        values: dict[str, object] = {
            "sf_access_token": ACCESS,
            "sf_instance_url": INSTANCE,
            "sf_refresh_token": REFRESH,
            "sf_consumer_key": "3MVG9key",
            "sf_consumer_secret": CONSUMER_SECRET,
            "sf_retry_attempts": 3,
        }
        values.update(overrides)
        settings: Settings = make_settings(**{k: v for k, v in values.items() if v is not None})
        client = SalesforceClient(settings, wait=wait_none())
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def test_401_then_success_refreshes_the_token_and_repeats_the_call(http, client_for) -> None:
    """INVALID_SESSION_ID triggers one refresh grant; the repeat carries the new token."""
    http.get(QUERY_URL, status=401, json=sf_error("INVALID_SESSION_ID"))
    http.post(TOKEN_URL, json=token_body())
    http.get(QUERY_URL, json=page(2))
    client = client_for()
    assert len(client.query_all("SELECT Id FROM Account")) == 2
    calls = http.calls
    assert calls[0].request.headers["Authorization"] == f"Bearer {ACCESS}"
    assert parse_qs(calls[1].request.body)["grant_type"] == ["refresh_token"]
    assert calls[2].request.headers["Authorization"] == f"Bearer {NEW_ACCESS}"
    assert (client.api_calls, client.login_calls) == (2, 1)


def test_every_request_carries_the_configured_timeouts(http, client_for) -> None:
    """Token and REST requests all get (connect, read) timeouts."""
    http.get(QUERY_URL, status=401, json=sf_error("INVALID_SESSION_ID"))
    http.post(TOKEN_URL, json=token_body())
    http.get(QUERY_URL, json=page(1))
    client = client_for(sf_connect_timeout=1.5, sf_read_timeout=7.0)
    client.query_all("SELECT Id FROM Account")
    assert [call.request.req_kwargs["timeout"] for call in http.calls] == [(1.5, 7.0)] * 3


def test_pages_follow_next_records_url_with_the_batch_size_header(http, client_for) -> None:
    """query_more follows nextRecordsUrl; each page asks for batches of 2,000."""
    more = "/services/data/v59.0/query/01gXX-2000"
    http.get(QUERY_URL, json=page(2, done=False, next_url=more))
    http.get(f"{INSTANCE}{more}", json=page(1))
    pages = list(client_for().query_pages("SELECT Id FROM Account"))
    assert [len(p) for p in pages] == [2, 1]
    assert all(c.request.headers["Sforce-Query-Options"] == "batchSize=2000" for c in http.calls)


def test_503_is_retried_with_the_injected_wait(http, client_for) -> None:
    """Two 503s then success: three REST calls, no real sleeping."""
    http.get(QUERY_URL, status=503, json=sf_error("SERVER_UNAVAILABLE"))
    http.get(QUERY_URL, status=503, json=sf_error("SERVER_UNAVAILABLE"))
    http.get(QUERY_URL, json=page(1))
    client = client_for()
    assert client.query_all("SELECT Id FROM Account")
    assert client.api_calls == 3


def test_403_request_limit_exceeded_is_throttled_and_not_retried(http, client_for) -> None:
    """The allowance is gone: stop now."""
    http.get(QUERY_URL, status=403, json=sf_error("REQUEST_LIMIT_EXCEEDED"))
    client = client_for()
    with pytest.raises(SalesforceThrottled):
        client.query_all("SELECT Id FROM Account")
    assert client.api_calls == 1


def test_403_insufficient_access_is_permanent_and_names_the_user_setting(http, client_for) -> None:
    """A permissions 403 is not throttling; the message points at the integration user."""
    http.get(
        QUERY_URL, status=403, json=sf_error("INSUFFICIENT_ACCESS", "insufficient access rights")
    )
    client = client_for()
    with pytest.raises(SalesforcePermanentError, match="SFSYNC_SF_USERNAME") as caught:
        client.query_all("SELECT Id FROM Account")
    assert not isinstance(caught.value, SalesforceThrottled)
    assert client.api_calls == 1


@pytest.mark.parametrize(
    ("failure", "code"),
    [
        (requests.ReadTimeout("read timed out"), "TIMEOUT"),
        (requests.ConnectTimeout("connect timed out"), "TIMEOUT"),
        (requests.ConnectionError("connection refused"), "CONNECTION_ERROR"),
    ],
)
def test_network_failures_are_transient_after_all_attempts(
    http, client_for, failure: Exception, code: str
) -> None:
    """Timeouts and refused connections are retried, then reported as transient."""
    http.get(QUERY_URL, body=failure)
    client = client_for()
    with pytest.raises(SalesforceTransientError) as caught:
        client.query_all("SELECT Id FROM Account")
    assert caught.value.error_code == code
    assert client.api_calls == 3


def test_an_expired_query_locator_is_reported_for_a_restart(http, client_for) -> None:
    """INVALID_QUERY_LOCATOR is its own error so the pipeline restarts from its cursor."""
    http.get(QUERY_URL, status=400, json=sf_error("INVALID_QUERY_LOCATOR"))
    with pytest.raises(SalesforceQueryLocatorExpired):
        client_for().query_all("SELECT Id FROM Account")


def test_usage_above_the_limit_is_throttled_before_the_next_call(http, client_for) -> None:
    """Sforce-Limit-Info 81/100 with an 80% limit: the answer is returned, the next call refused."""
    http.get(QUERY_URL, json=page(1), headers={"Sforce-Limit-Info": "api-usage=81/100"})
    client = client_for()
    client.query_all("SELECT Id FROM Account")
    assert client.api_usage == (81, 100)
    with pytest.raises(SalesforceThrottled):
        client.query_all("SELECT Id FROM Account")
    assert client.api_calls == 1


# --- login responses -------------------------------------------------------------------------


def password_client(client_for: Callable[..., SalesforceClient]) -> SalesforceClient:
    return client_for(
        sf_access_token=None,
        sf_instance_url=None,
        sf_refresh_token=None,
        sf_username="integration@acme.com",
        sf_password=PASSWORD,
        sf_security_token=SECURITY_TOKEN,
    )


@pytest.mark.parametrize(
    "response",
    [
        {"status": 200, "body": "<html>Maintenance</html>", "content_type": "text/html"},
        {"status": 200, "json": {"instance_url": INSTANCE}},
        {"status": 200, "json": {"access_token": "x", "instance_url": "javascript:alert(1)"}},
        {"status": 200, "json": ["not", "an", "object"]},
    ],
)
def test_a_malformed_token_response_is_permanent_and_points_at_the_login_url(
    http, client_for, response: dict[str, object]
) -> None:
    """A 200 that is not a token means the login URL is wrong, not that Salesforce is down."""
    http.post(TOKEN_URL, **response)
    with pytest.raises(SalesforcePermanentError, match="SFSYNC_SF_LOGIN_URL"):
        password_client(client_for).login()


def test_a_token_endpoint_5xx_is_retried(http, client_for) -> None:
    """Login trouble on Salesforce's side is transient like any other 5xx."""
    http.post(TOKEN_URL, status=503, body="unavailable")
    http.post(TOKEN_URL, json=token_body())
    client = password_client(client_for)
    client.login()
    assert client.login_calls == 2


def test_rejected_password_grant_names_settings_and_hides_secrets(http, client_for) -> None:
    """invalid_grant is an auth error; nothing secret survives even if Salesforce echoes it."""
    http.post(
        TOKEN_URL,
        status=400,
        json={"error": "invalid_grant", "error_description": f"bad {PASSWORD}{SECURITY_TOKEN}"},
    )
    client = password_client(client_for)
    with pytest.raises(SalesforceAuthError) as caught:
        client.login()
    message = str(caught.value)
    assert "SFSYNC_SF_PASSWORD" in message and "SFSYNC_SF_CONSUMER_SECRET" in message
    for secret in (PASSWORD, SECURITY_TOKEN, CONSUMER_SECRET, REFRESH, ACCESS):
        assert secret not in message
    form = parse_qs(http.calls[0].request.body)
    assert form["password"] == [PASSWORD + SECURITY_TOKEN]


def test_soap_login_posts_the_envelope_and_reads_session_and_server(http, make_settings) -> None:
    """The SOAP answer's serverUrl gives the instance; sessionId becomes the bearer token."""
    http.post(
        SOAP_URL,
        body=(
            '<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"'
            ' xmlns="urn:partner.soap.sforce.com"><soapenv:Body><loginResponse><result>'
            f"<serverUrl>{INSTANCE}/services/Soap/u/59.0/00D</serverUrl><sessionId>{NEW_ACCESS}</sessionId>"
            "</result></loginResponse></soapenv:Body></soapenv:Envelope>"
        ),
        content_type="text/xml",
    )
    http.get(QUERY_URL, json=page(1))
    settings = make_settings(
        sf_username="a&b@acme.com", sf_password="p<w>d", sf_security_token=SECURITY_TOKEN
    )
    client = SalesforceClient(settings, wait=wait_none())
    assert client.query_all("SELECT Id FROM Account")
    envelope = http.calls[0].request.body.decode()
    assert "<n1:username>a&amp;b@acme.com</n1:username>" in envelope
    assert f"<n1:password>p&lt;w&gt;d{SECURITY_TOKEN}</n1:password>" in envelope
    assert http.calls[1].request.headers["Authorization"] == f"Bearer {NEW_ACCESS}"


def test_soap_invalid_login_is_an_auth_error_naming_the_settings(http, make_settings) -> None:
    """A SOAP INVALID_LOGIN fault names username, password and security token."""
    http.post(
        SOAP_URL,
        status=500,
        body=(
            '<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
            "<soapenv:Body><soapenv:Fault><faultcode>sf:INVALID_LOGIN</faultcode>"
            "<faultstring>INVALID_LOGIN: Invalid username, password, security token</faultstring>"
            "</soapenv:Fault></soapenv:Body></soapenv:Envelope>"
        ),
        content_type="text/xml",
    )
    settings = make_settings(
        sf_username="u@acme.com", sf_password=PASSWORD, sf_security_token=SECURITY_TOKEN
    )
    with pytest.raises(SalesforceAuthError, match="SFSYNC_SF_SECURITY_TOKEN") as caught:
        SalesforceClient(settings, wait=wait_none()).login()
    assert caught.value.error_code == "INVALID_LOGIN"


def test_jwt_assertion_is_rs256_with_short_expiry_and_login_audience(
    http, make_settings, tmp_path: Path
) -> None:
    """The assertion names the consumer key, the user and the login URL, valid ≤ 3 minutes."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    key_file = tmp_path / "server.key"
    key_file.write_bytes(pem)
    http.post("https://test.salesforce.com/services/oauth2/token", json=token_body())
    settings = make_settings(
        sf_username="u@acme.com",
        sf_consumer_key="3MVG9key",
        sf_private_key_file=key_file,
        sf_domain="test",
    )
    SalesforceClient(settings, wait=wait_none()).login()
    assertion = parse_qs(http.calls[0].request.body)["assertion"][0]
    claims = jwt.decode(
        assertion, key.public_key(), algorithms=["RS256"], audience="https://test.salesforce.com"
    )
    assert claims["iss"] == "3MVG9key" and claims["sub"] == "u@acme.com"
    assert 0 < claims["exp"] - time.time() <= 180


def test_client_credentials_go_to_the_my_domain(http, make_settings) -> None:
    """With a My Domain, the token request goes to https://{domain}.salesforce.com."""
    http.post("https://acme.my.salesforce.com/services/oauth2/token", json=token_body())
    settings = make_settings(
        sf_consumer_key="k", sf_consumer_secret=CONSUMER_SECRET, sf_domain="acme.my"
    )
    client = SalesforceClient(settings, wait=wait_none())
    client.login()
    assert parse_qs(http.calls[0].request.body)["grant_type"] == ["client_credentials"]


@pytest.mark.parametrize(
    "response",
    [
        {"status": 403, "json": [{"errorCode": "REQUEST_LIMIT_EXCEEDED", "message": "limit"}]},
        {
            "status": 400,
            "json": {"error": "invalid_grant", "error_description": "login rate exceeded"},
        },
    ],
)
def test_a_spent_allowance_at_the_token_endpoint_throttles_instead_of_failing(
    http, client_for, response: dict[str, object]
) -> None:
    """REQUEST_LIMIT_EXCEEDED or a login rate limit at login stops the run as throttled."""
    http.post(TOKEN_URL, **response)
    with pytest.raises(SalesforceThrottled):
        password_client(client_for).login()
