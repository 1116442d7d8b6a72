"""Credentials, token issue and validation: OAuth grants, SOAP login and session checks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import unescape

try:  # optional: the sandbox runs on the standard library alone, without JWT signatures
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa
except ImportError:  # pragma: no cover - cryptography comes with pyjwt[crypto]
    HAS_CRYPTOGRAPHY = False
else:
    HAS_CRYPTOGRAPHY = True

from sfsync.sandbox.clock import Clock
from sfsync.sandbox.ids import ORG_ID

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
USER_ID = "0055g00000AbCdEAAV"


class OAuthError(Exception):
    """An OAuth failure: 400 with `error` and `error_description`."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


@dataclass(frozen=True)
class KeyPair:
    """RSA key pair for the JWT bearer flow, PEM encoded."""

    private_pem: str
    public_pem: str


def generate_key_pair() -> KeyPair | None:
    """A fresh RSA key pair, or None when `cryptography` is unavailable."""
    if not HAS_CRYPTOGRAPHY:
        return None
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return KeyPair(private, public)


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _verify_rs256(public_pem: str, signed: bytes, signature: bytes) -> bool:
    if not HAS_CRYPTOGRAPHY:
        # Without cryptography the claims are all we can check.
        return True
    key = serialization.load_pem_public_key(public_pem.encode())
    assert isinstance(key, rsa.RSAPublicKey)
    try:
        key.verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


class Auth:
    """The org's one connected app and one user, and the tokens issued to them."""

    def __init__(self, clock: Clock, token_lifetime: float | None) -> None:
        self.clock = clock
        self.token_lifetime = token_lifetime
        self.consumer_key = "3MVG9sandbox." + secrets.token_urlsafe(24)
        self.consumer_secret = secrets.token_hex(32)
        self.username = "integration@sandbox.sfsync.test"
        self.password = "sandbox-" + secrets.token_urlsafe(9)
        self.security_token = secrets.token_urlsafe(18)
        self.keys: KeyPair | None = None
        self.base_url = ""
        self._lock = threading.Lock()
        self._access: dict[str, float] = {}
        self._refresh: set[str] = set()

    # -- tokens --------------------------------------------------------------------
    def issue_access(self) -> str:
        """A new access token, valid until revoked or past the lifetime."""
        token = f"{ORG_ID[:15]}!{secrets.token_urlsafe(48)}"
        with self._lock:
            self._access[token] = self.clock.now().timestamp()
        return token

    def issue_refresh(self) -> str:
        """A new refresh token."""
        token = "5Aep" + secrets.token_urlsafe(48)
        with self._lock:
            self._refresh.add(token)
        return token

    def valid(self, token: str | None) -> bool:
        """True for an issued, unrevoked, unexpired access token."""
        if not token:
            return False
        with self._lock:
            issued = self._access.get(token)
        if issued is None:
            return False
        lifetime = self.token_lifetime
        return lifetime is None or self.clock.now().timestamp() - issued < lifetime

    def revoke(self, token: str | None = None, include_refresh: bool = False) -> None:
        """Invalidate one access token, or all of them (and optionally refresh tokens)."""
        with self._lock:
            if token is not None:
                self._access.pop(token, None)
                return
            self._access.clear()
            if include_refresh:
                self._refresh.clear()

    # -- grants --------------------------------------------------------------------
    def _client(self, form: Mapping[str, str], headers: Mapping[str, str]) -> tuple[str, str]:
        client_id = form.get("client_id", "")
        secret = form.get("client_secret", "")
        auth = headers.get("authorization", "")
        if auth.lower().startswith("basic "):
            try:
                client_id, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                raise OAuthError("invalid_client", "invalid client credentials") from None
        return client_id, secret

    def _check_client(self, client_id: str, secret: str, *, secret_required: bool) -> None:
        if client_id != self.consumer_key:
            raise OAuthError("invalid_client_id", "client identifier invalid")
        if (secret or secret_required) and not hmac.compare_digest(secret, self.consumer_secret):
            raise OAuthError("invalid_client", "invalid client credentials")

    def _password_ok(self, username: str, password: str) -> bool:
        return username == self.username and password in (
            self.password,
            self.password + self.security_token,
        )

    def token(self, form: Mapping[str, str], headers: Mapping[str, str]) -> dict[str, Any]:
        """Handle one /services/oauth2/token request; raises OAuthError."""
        grant = form.get("grant_type", "")
        refresh: str | None = None
        if grant == "client_credentials":
            client_id, secret = self._client(form, headers)
            self._check_client(client_id, secret, secret_required=True)
        elif grant == "password":
            client_id, secret = self._client(form, headers)
            self._check_client(client_id, secret, secret_required=True)
            if not self._password_ok(form.get("username", ""), form.get("password", "")):
                raise OAuthError("invalid_grant", "authentication failure")
            refresh = self.issue_refresh()
        elif grant == "refresh_token":
            client_id, secret = self._client(form, headers)
            self._check_client(client_id, secret, secret_required=False)
            with self._lock:
                known = form.get("refresh_token", "") in self._refresh
            if not known:
                raise OAuthError("invalid_grant", "expired access/refresh token")
        elif grant == JWT_GRANT:
            self._check_assertion(form.get("assertion", ""))
        else:
            raise OAuthError("unsupported_grant_type", "grant type not supported")
        return self._token_response(refresh)

    def _check_assertion(self, assertion: str) -> None:
        parts = assertion.split(".")
        if len(parts) != 3:
            raise OAuthError("invalid_grant", "invalid assertion")
        try:
            header = json.loads(_b64decode(parts[0]))
            claims = json.loads(_b64decode(parts[1]))
            signature = _b64decode(parts[2])
        except (ValueError, UnicodeDecodeError):
            raise OAuthError("invalid_grant", "invalid assertion") from None
        if header.get("alg") != "RS256":
            raise OAuthError("invalid_grant", "invalid assertion")
        if claims.get("iss") != self.consumer_key:
            raise OAuthError("invalid_client_id", "client identifier invalid")
        if claims.get("sub") != self.username:
            raise OAuthError("invalid_grant", "user hasn't approved this consumer")
        audiences = {
            "https://login.salesforce.com",
            "https://test.salesforce.com",
            self.base_url,
        }
        aud = claims.get("aud")
        aud_list = aud if isinstance(aud, list) else [aud]
        if not any(a in audiences for a in aud_list):
            raise OAuthError("invalid_grant", "audience is invalid")
        try:
            exp = float(claims.get("exp"))
        except (TypeError, ValueError):
            raise OAuthError("invalid_grant", "invalid assertion") from None
        # Real time, not the org clock: the client mints `exp` from its own wall clock.
        if exp <= time.time():
            raise OAuthError("invalid_grant", "expired authorization code")
        signed = f"{parts[0]}.{parts[1]}".encode()
        if self.keys is not None and not _verify_rs256(self.keys.public_pem, signed, signature):
            raise OAuthError("invalid_grant", "invalid assertion")

    def _token_response(self, refresh: str | None) -> dict[str, Any]:
        issued_at = str(int(self.clock.now().timestamp() * 1000))
        ident = f"{self.base_url}/id/{ORG_ID}/{USER_ID}"
        signature = base64.b64encode(
            hmac.new(
                self.consumer_secret.encode(), (ident + issued_at).encode(), hashlib.sha256
            ).digest()
        ).decode()
        body: dict[str, Any] = {
            "access_token": self.issue_access(),
            "instance_url": self.base_url,
            "id": ident,
            "token_type": "Bearer",
            "issued_at": issued_at,
            "signature": signature,
            "scope": "api refresh_token",
        }
        if refresh is not None:
            body["refresh_token"] = refresh
        return body

    # -- SOAP ----------------------------------------------------------------------
    def soap_login(self, body: str, version: str) -> tuple[int, str]:
        """Partner API login as simple-salesforce sends it; returns (status, XML)."""
        user = re.search(r"<(?:\w+:)?username>(.*?)</(?:\w+:)?username>", body, re.S)
        pwd = re.search(r"<(?:\w+:)?password>(.*?)</(?:\w+:)?password>", body, re.S)
        if user and pwd and self._password_ok(unescape(user.group(1)), unescape(pwd.group(1))):
            session = self.issue_access()
            server = f"{self.base_url}/services/Soap/u/{version}/{ORG_ID[:15]}"
            return 200, _SOAP_OK.format(
                server=server, session=session, org=ORG_ID, user=USER_ID, name=self.username
            )
        return 500, _SOAP_FAULT


_SOAP_OK = """<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" \
xmlns="urn:partner.soap.sforce.com"><soapenv:Body><loginResponse><result>\
<metadataServerUrl>{server}</metadataServerUrl><passwordExpired>false</passwordExpired>\
<sandbox>true</sandbox><serverUrl>{server}</serverUrl><sessionId>{session}</sessionId>\
<userId>{user}</userId><userInfo><organizationId>{org}</organizationId>\
<userName>{name}</userName></userInfo></result></loginResponse></soapenv:Body>\
</soapenv:Envelope>"""

_SOAP_FAULT = """<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" \
xmlns:sf="urn:fault.partner.soap.sforce.com"><soapenv:Body><soapenv:Fault>\
<faultcode>sf:INVALID_LOGIN</faultcode><faultstring>INVALID_LOGIN: Invalid username, password, \
security token; or user locked out.</faultstring><detail><sf:LoginFault>\
<sf:exceptionCode>INVALID_LOGIN</sf:exceptionCode><sf:exceptionMessage>Invalid username, \
password, security token; or user locked out.</sf:exceptionMessage></sf:LoginFault></detail>\
</soapenv:Fault></soapenv:Body></soapenv:Envelope>"""
