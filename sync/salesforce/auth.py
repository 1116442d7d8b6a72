"""Getting a Salesforce session: the OAuth grants and the SOAP login, done by sfsync itself.

sfsync performs every login itself, so timeouts, retries, error classification and secret
handling are the same in every mode (`sync.salesforce.modes` picks the mode); the session is
then handed to simple-salesforce in its direct mode.

A login fails with an error of the tree in `sync.salesforce.errors`: mostly
`SalesforceAuthError` (the message names the settings to check), and
`SalesforceConfigError` for a private key file that cannot be read or used.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit
from xml.etree import ElementTree
from xml.sax.saxutils import escape

import jwt
import requests

from sfsync.config import Settings
from sfsync.sync.salesforce.errors import (
    Redactor,
    SalesforceAuthError,
    SalesforceConfigError,
    SalesforceError,
    SalesforcePermanentError,
    SalesforceThrottled,
    SalesforceTransientError,
    classify,
    translate,
)
from sfsync.sync.salesforce.modes import (
    MODE_SETTINGS,
    AuthMode,
    choose_mode,
    login_url,
    secret_value,
)

__all__ = ["JWT_LIFETIME_SECONDS", "Authenticator", "SessionInfo"]

log = logging.getLogger(__name__)

JWT_LIFETIME_SECONDS = 180  # Salesforce rejects assertions valid for more than 3 minutes.
_AUTH_FAILURES = frozenset(
    {
        "invalid_grant",
        "invalid_client_id",
        "invalid_client",
        "invalid_client_credentials",
        "unauthorized_client",
        "inactive_user",
        "inactive_org",
        "invalid_request",
        "unsupported_grant_type",
    }
)
_SOAP_NS = "urn:partner.soap.sforce.com"


@dataclass(frozen=True)
class SessionInfo:
    """A live session: the instance to call and the bearer token to call it with."""

    instance_url: str
    access_token: str


class Authenticator:
    """Obtains sessions for one `Settings`; knows whether a session can be renewed."""

    def __init__(
        self,
        settings: Settings,
        http: requests.Session,
        *,
        redact: Redactor,
        timeout: tuple[float, float],
    ) -> None:
        self.settings = settings
        self.mode = choose_mode(settings)
        self._http = http
        self._redact = redact
        self._timeout = timeout
        self._login_url = login_url(settings)
        self._private_key: str | None = None
        if self.mode is AuthMode.JWT:
            self._private_key = self._read_private_key()

    @property
    def can_renew(self) -> bool:
        """False only for a bare access token: nothing to log in again with."""
        return (
            self.mode is not AuthMode.TOKEN
            or secret_value(self.settings.sf_refresh_token) is not None
        )

    def initial_session(self) -> SessionInfo | None:
        """A session usable without a login (a configured access token), if any."""
        access = secret_value(self.settings.sf_access_token)
        if self.mode is AuthMode.TOKEN and access and self.settings.sf_instance_url:
            return SessionInfo(self.settings.sf_instance_url.rstrip("/"), access)
        return None

    def login(self) -> SessionInfo:
        """Obtain a fresh session (one HTTP request)."""
        s = self.settings
        log.info("logging in to Salesforce (%s) at %s", self.mode.value, self._login_url)
        if self.mode is AuthMode.SOAP:
            return self._soap_login()
        form: dict[str, str]
        if self.mode is AuthMode.TOKEN:
            form = {
                "grant_type": "refresh_token",
                "refresh_token": secret_value(s.sf_refresh_token) or "",
                "client_id": s.sf_consumer_key or "",
            }
            consumer_secret = secret_value(s.sf_consumer_secret)
            if consumer_secret:
                form["client_secret"] = consumer_secret
        elif self.mode is AuthMode.JWT:
            form = {
                "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                "assertion": self._jwt_assertion(),
            }
        elif self.mode is AuthMode.PASSWORD:
            form = {
                "grant_type": "password",
                "client_id": s.sf_consumer_key or "",
                "client_secret": secret_value(s.sf_consumer_secret) or "",
                "username": s.sf_username or "",
                # Salesforce expects the security token appended to the password.
                "password": (secret_value(s.sf_password) or "")
                + (secret_value(s.sf_security_token) or ""),
            }
        else:
            form = {
                "grant_type": "client_credentials",
                "client_id": s.sf_consumer_key or "",
                "client_secret": secret_value(s.sf_consumer_secret) or "",
            }
        return self._oauth_token(form)

    # --- OAuth ------------------------------------------------------------------------------

    def _oauth_token(self, form: Mapping[str, str]) -> SessionInfo:
        url = f"{self._login_url}/services/oauth2/token"
        response = self._post(url, data=dict(form), headers={"Accept": "application/json"})
        body: Any
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code >= 500:
            raise SalesforceTransientError(
                f"Salesforce token endpoint answered HTTP {response.status_code}",
                status=response.status_code,
                error_code="SERVER_UNAVAILABLE",
            )
        if response.status_code >= 400:
            raise self._token_error(response.status_code, body)
        if not isinstance(body, Mapping):
            raise self._unexpected(url, "a body that is not a JSON object")
        token, instance = body.get("access_token"), body.get("instance_url")
        if not isinstance(token, str) or not token:
            raise self._unexpected(url, "no access_token")
        if not isinstance(instance, str) or not instance.startswith(("https://", "http://")):
            raise self._unexpected(url, "no instance_url")
        return SessionInfo(instance.rstrip("/"), token)

    def _token_error(self, status: int, body: Any) -> SalesforceError:
        error = str(body.get("error") or "") if isinstance(body, Mapping) else ""
        description = str(body.get("error_description") or "") if isinstance(body, Mapping) else ""
        description = self._redact(description)[:200]
        codes = (
            {str(e.get("errorCode")) for e in body if isinstance(e, Mapping)}
            if isinstance(body, list)
            else set()
        )
        # The org's allowance or the login rate is spent: like any throttle, the run stops
        # cleanly and the next tick resumes; the credentials are not at fault.
        if codes & {"REQUEST_LIMIT_EXCEEDED"} or "rate exceeded" in description.lower():
            return SalesforceThrottled(
                f"Salesforce refused the {self.mode.value} login: "
                f"{description or 'REQUEST_LIMIT_EXCEEDED'}",
                error_code="REQUEST_LIMIT_EXCEEDED",
                status=status,
            )
        if error in _AUTH_FAILURES or status in (400, 401, 403):
            return SalesforceAuthError(
                f"Salesforce rejected the {self.mode.value} login ({error or status}"
                f"{': ' + description if description else ''}); check {self._settings_to_check()}",
                error_code=error or None,
                status=status,
            )
        return SalesforcePermanentError(
            f"Salesforce token endpoint answered HTTP {status} ({error or 'no error code'}); "
            "check SFSYNC_SF_LOGIN_URL / SFSYNC_SF_DOMAIN",
            error_code=error or None,
            status=status,
        )

    def _settings_to_check(self) -> str:
        if self.mode is AuthMode.TOKEN:
            return (
                "SFSYNC_SF_REFRESH_TOKEN (expired or revoked?), SFSYNC_SF_CONSUMER_KEY "
                "and SFSYNC_SF_CONSUMER_SECRET"
            )
        return MODE_SETTINGS[self.mode] + ", and SFSYNC_SF_DOMAIN / SFSYNC_SF_LOGIN_URL"

    def _unexpected(self, url: str, what: str) -> SalesforcePermanentError:
        return SalesforcePermanentError(
            f"the login endpoint {url} answered with {what}; "
            "check SFSYNC_SF_LOGIN_URL / SFSYNC_SF_DOMAIN",
            error_code="UNEXPECTED_LOGIN_RESPONSE",
        )

    def _post(self, url: str, **kwargs: Any) -> requests.Response:
        try:
            return self._http.post(url, timeout=self._timeout, **kwargs)
        except requests.RequestException as exc:
            raise translate(exc, operation="login", redact=self._redact) from exc

    # --- JWT bearer -------------------------------------------------------------------------

    def _read_private_key(self) -> str:
        path = self.settings.sf_private_key_file
        assert path is not None  # choose_mode guarantees it for JWT
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise SalesforceConfigError(
                f"SFSYNC_SF_PRIVATE_KEY_FILE: cannot read {path} "
                f"({exc.strerror or type(exc).__name__})"
            ) from None
        if "PRIVATE KEY-----" not in text:
            raise SalesforceConfigError(
                f"SFSYNC_SF_PRIVATE_KEY_FILE: {path} is not a PEM private key"
            )
        return text

    def _jwt_assertion(self) -> str:
        claims = {
            "iss": self.settings.sf_consumer_key,
            "sub": self.settings.sf_username,
            "aud": self._login_url,
            "exp": int(time.time()) + JWT_LIFETIME_SECONDS,
        }
        try:
            return jwt.encode(claims, self._private_key or "", algorithm="RS256")
        except (ValueError, TypeError, jwt.PyJWTError) as exc:
            raise SalesforceConfigError(
                f"SFSYNC_SF_PRIVATE_KEY_FILE: cannot sign with the key ({type(exc).__name__}); "
                "it must be an RSA private key in PEM form without a passphrase"
            ) from None

    # --- SOAP login -------------------------------------------------------------------------

    def _soap_login(self) -> SessionInfo:
        s = self.settings
        version = s.sf_api_version
        url = f"{self._login_url}/services/Soap/u/{version}"
        password = (secret_value(s.sf_password) or "") + (secret_value(s.sf_security_token) or "")
        envelope = (
            '<?xml version="1.0" encoding="utf-8" ?>'
            '<env:Envelope xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            'xmlns:env="http://schemas.xmlsoap.org/soap/envelope/" '
            f'xmlns:urn="{_SOAP_NS}">'
            "<env:Header><urn:CallOptions><urn:client>sfsync</urn:client>"
            "<urn:defaultNamespace>sf</urn:defaultNamespace></urn:CallOptions></env:Header>"
            '<env:Body><n1:login xmlns:n1="urn:partner.soap.sforce.com">'
            f"<n1:username>{escape(s.sf_username or '')}</n1:username>"
            f"<n1:password>{escape(password)}</n1:password>"
            "</n1:login></env:Body></env:Envelope>"
        )
        response = self._post(
            url,
            data=envelope.encode("utf-8"),
            headers={"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": "login"},
        )
        try:
            root = ElementTree.fromstring(response.content)
        except ElementTree.ParseError:
            if response.status_code >= 500:
                raise SalesforceTransientError(
                    f"Salesforce SOAP login answered HTTP {response.status_code}",
                    status=response.status_code,
                ) from None
            raise self._unexpected(
                url, f"HTTP {response.status_code} and no SOAP envelope"
            ) from None
        fault = _find(root, "faultcode")
        if fault is not None:
            code = (fault.text or "").rsplit(":", 1)[-1] or None
            fault_string = _find(root, "faultstring")
            text = self._redact(fault_string.text or "" if fault_string is not None else "")[:200]
            raise self._soap_fault(response.status_code, code, text)
        session_id = _find(root, "sessionId")
        server_url = _find(root, "serverUrl")
        if session_id is None or not session_id.text or server_url is None or not server_url.text:
            raise self._unexpected(url, "no sessionId/serverUrl")
        parts = urlsplit(server_url.text)
        return SessionInfo(f"{parts.scheme}://{parts.netloc}", session_id.text)

    def _soap_fault(self, status: int, code: str | None, text: str) -> SalesforceError:
        if code and (
            code.startswith("INVALID_LOGIN")
            or code.startswith("LOGIN_")
            or code
            in {
                "INVALID_CREDENTIALS",
                "PASSWORD_LOCKOUT",
                "INVALID_OPERATION_WITH_EXPIRED_PASSWORD",
            }
        ):
            return SalesforceAuthError(
                f"Salesforce rejected the SOAP login ({code}: {text}); "
                f"check {self._settings_to_check()}",
                error_code=code,
                status=status,
            )
        error = classify(status, code, text, operation="SOAP login", field_settings={})
        if isinstance(error, SalesforceThrottled | SalesforceTransientError):
            return error
        return SalesforceAuthError(
            f"{error.message}; check {self._settings_to_check()}", error_code=code, status=status
        )


def _find(root: ElementTree.Element, local_name: str) -> ElementTree.Element | None:
    for element in root.iter():
        if element.tag == local_name or element.tag.endswith("}" + local_name):
            return element
    return None
