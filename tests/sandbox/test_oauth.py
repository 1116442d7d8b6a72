"""The OAuth token endpoint with every grant, and the SOAP login simple-salesforce uses."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator

import jwt
import pytest
import requests
from simple_salesforce.api import Salesforce

from sfsync.sandbox import SandboxOrg
from sfsync.sandbox.client import loopback_session


@pytest.fixture(scope="module")
def auth_org() -> Iterator[SandboxOrg]:
    """An org for login tests."""
    with SandboxOrg(opportunities=20) as org:
        yield org


def _token(org: SandboxOrg, data: dict[str, str], **kwargs: object) -> requests.Response:
    return requests.post(org.login_url + "/services/oauth2/token", data=data, timeout=5, **kwargs)  # type: ignore[arg-type]


def _works(org: SandboxOrg, body: dict[str, str]) -> bool:
    reply = requests.get(
        body["instance_url"] + "/services/data/v59.0/limits/",
        headers={"Authorization": f"Bearer {body['access_token']}"},
        timeout=5,
    )
    return reply.status_code == 200


def test_client_credentials_grant(auth_org: SandboxOrg):
    """client_credentials with the client id/secret as form fields or Basic auth."""
    form = {"grant_type": "client_credentials"}
    body = _token(
        auth_org,
        {**form, "client_id": auth_org.consumer_key, "client_secret": auth_org.consumer_secret},
    ).json()
    assert body["token_type"] == "Bearer" and body["instance_url"] == auth_org.instance_url
    assert body["issued_at"].isdigit() and body["signature"]
    assert _works(auth_org, body)
    basic = base64.b64encode(f"{auth_org.consumer_key}:{auth_org.consumer_secret}".encode())
    reply = _token(auth_org, form, headers={"Authorization": "Basic " + basic.decode()})
    assert _works(auth_org, reply.json())


def test_password_grant_accepts_password_with_or_without_token(auth_org: SandboxOrg):
    """The password grant issues access and refresh tokens."""
    for password in (auth_org.password, auth_org.password + auth_org.security_token):
        body = _token(
            auth_org,
            {
                "grant_type": "password",
                "client_id": auth_org.consumer_key,
                "client_secret": auth_org.consumer_secret,
                "username": auth_org.username,
                "password": password,
            },
        ).json()
        assert body["refresh_token"] and _works(auth_org, body)


def test_refresh_grant_survives_revocation_of_access_tokens(auth_org: SandboxOrg):
    """After revoke_tokens() the refresh token still mints a working access token."""
    auth_org.revoke_tokens()
    body = _token(
        auth_org,
        {
            "grant_type": "refresh_token",
            "refresh_token": auth_org.refresh_token,
            "client_id": auth_org.consumer_key,
            "client_secret": auth_org.consumer_secret,
        },
    ).json()
    assert _works(auth_org, body)


def test_jwt_bearer_grant_verifies_the_signature(auth_org: SandboxOrg):
    """A JWT signed with the org's private key works; one signed with another key does not."""
    claims = {
        "iss": auth_org.consumer_key,
        "sub": auth_org.username,
        "aud": "https://login.salesforce.com",
        "exp": str(int(time.time()) + 180),
    }
    assert auth_org.private_key_pem is not None
    grant = "urn:ietf:params:oauth:grant-type:jwt-bearer"
    good = jwt.encode(claims, auth_org.private_key_pem, algorithm="RS256")
    assert _works(auth_org, _token(auth_org, {"grant_type": grant, "assertion": good}).json())
    other = SandboxOrg(opportunities=0).start()
    try:
        assert other.private_key_pem is not None
        forged = jwt.encode(claims, other.private_key_pem, algorithm="RS256")
    finally:
        other.stop()
    reply = _token(auth_org, {"grant_type": grant, "assertion": forged})
    assert reply.status_code == 400 and reply.json()["error"] == "invalid_grant"
    expired = jwt.encode(
        {**claims, "exp": int(time.time()) - 5}, auth_org.private_key_pem, algorithm="RS256"
    )
    assert _token(auth_org, {"grant_type": grant, "assertion": expired}).status_code == 400


@pytest.mark.parametrize(
    ("override", "error"),
    [
        ({"client_id": "nobody"}, "invalid_client_id"),
        ({"password": "wrong"}, "invalid_grant"),
        ({"grant_type": "authorization_code"}, "unsupported_grant_type"),
    ],
)
def test_bad_credentials_are_oauth_errors(
    auth_org: SandboxOrg, override: dict[str, str], error: str
):
    """Unknown clients, wrong passwords and unknown grants answer 400 with Salesforce's error."""
    form = {
        "grant_type": "password",
        "client_id": auth_org.consumer_key,
        "client_secret": auth_org.consumer_secret,
        "username": auth_org.username,
        "password": auth_org.password,
        **override,
    }
    reply = _token(auth_org, form)
    assert reply.status_code == 400
    assert reply.json()["error"] == error
    if error == "invalid_grant":
        assert reply.json()["error_description"] == "authentication failure"


def test_simple_salesforce_soap_login(auth_org: SandboxOrg):
    """username + password + security_token logs in through the SOAP endpoint."""
    host = auth_org.instance_url.removeprefix("http://")
    session = loopback_session(auth_org.instance_url, login_domains=["test"])
    sf = Salesforce(
        username=auth_org.username,
        password=auth_org.password,
        security_token=auth_org.security_token,
        session=session,
        domain="test",
    )
    assert sf.sf_instance == host
    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] >= 10


def test_simple_salesforce_password_grant_login(auth_org: SandboxOrg):
    """username + password + consumer key/secret logs in through the OAuth password grant."""
    session = loopback_session(auth_org.instance_url, login_domains=["login"])
    sf = Salesforce(
        username=auth_org.username,
        password=auth_org.password,
        consumer_key=auth_org.consumer_key,
        consumer_secret=auth_org.consumer_secret,
        session=session,
    )
    assert sf.query("SELECT COUNT() FROM Opportunity")["totalSize"] == 20
