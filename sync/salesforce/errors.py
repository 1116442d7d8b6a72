"""What can go wrong talking to Salesforce, and the one place that decides which is which.

The adapter's error tree, drawn here only (the client, auth, modes and SOQL modules raise
from it and refer to it)::

    SalesforceError                       base; .error_code, .status
     ├── SalesforceTransientError         connection errors, timeouts, 5xx, SERVER_UNAVAILABLE,
     │                                    UNABLE_TO_LOCK_ROW — retried by the client, raised
     │                                    once its retries are spent
     ├── SalesforceQueryTimeout           QUERY_TIMEOUT: the same query fails again, so it is not
     │                                    retried; the runner halves its time window
     ├── SalesforceThrottled              REQUEST_LIMIT_EXCEEDED (a SOAP login's too), or API
     │                                    usage above SFSYNC_SF_API_USAGE_MAX_PERCENT — stops a
     │                                    run cleanly
     ├── SalesforceSessionExpired         INVALID_SESSION_ID; internal: the client logs in again
     │                                    and repeats the call once, and reports a session it
     │                                    cannot renew as SalesforceAuthError
     ├── SalesforceQueryLocatorExpired    INVALID_QUERY_LOCATOR (re-query from what the run
     │                                    committed)
     └── SalesforcePermanentError         MALFORMED_QUERY, INVALID_FIELD, INVALID_TYPE, 404,
          │                               other 4xx, a login answer that is not a token —
          │                               the message names what to fix
          └── SalesforceAuthError         bad credentials — the message names the settings
    SalesforceConfigError(ConfigError)    a bad setting, named in the message: an incomplete
                                          auth combination (the client's constructor), an
                                          unusable private key file, a plain-http instance URL
                                          off loopback, a field name that is not a SOQL
                                          identifier (`QueryRules.of`), an opportunity filter
                                          Salesforce refuses

`translate` is the only function that turns a library exception (simple-salesforce,
requests) into one of these; callers ``raise translate(exc) from exc``. Classification
goes by Salesforce's ``errorCode`` first and the HTTP status second, because one status
means different things (403 is both ``REQUEST_LIMIT_EXCEEDED`` and a missing permission).

Messages never contain secrets: they are built from Salesforce's error text and our own
words, and every message passes through the caller's redactor as a last line of defence.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import requests
from simple_salesforce.exceptions import SalesforceError as LibrarySalesforceError

from sfsync.config import ConfigError

__all__ = [
    "FIELD_CODES",
    "Redactor",
    "SalesforceAuthError",
    "SalesforceConfigError",
    "SalesforceError",
    "SalesforcePermanentError",
    "SalesforceQueryLocatorExpired",
    "SalesforceQueryTimeout",
    "SalesforceSessionExpired",
    "SalesforceThrottled",
    "SalesforceTransientError",
    "classify",
    "error_details",
    "field_hint",
    "translate",
]

Redactor = Callable[[str], str]

TRANSIENT_CODES = frozenset(
    {"SERVER_UNAVAILABLE", "UNABLE_TO_LOCK_ROW", "REQUEST_RUNNING_TOO_LONG"}
)
THROTTLED_CODES = frozenset({"REQUEST_LIMIT_EXCEEDED", "TXN_SECURITY_API_LIMIT"})
FIELD_CODES = frozenset(
    {"INVALID_FIELD", "INVALID_TYPE", "MALFORMED_QUERY", "INVALID_FIELD_FOR_INSERT_UPDATE"}
)


class SalesforceError(Exception):
    """Base of every Salesforce failure sfsync reports; `str()` is safe to log."""

    def __init__(
        self, message: str, *, error_code: str | None = None, status: int | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.error_code = error_code
        self.status = status


class SalesforceTransientError(SalesforceError):
    """Worth retrying: the network, a timeout, a 5xx or a lock/timeout error code."""


class SalesforceQueryTimeout(SalesforceError):
    """QUERY_TIMEOUT: the query's range is too wide to run; deterministic, so a narrower
    range is asked for instead of the same query again."""


class SalesforceThrottled(SalesforceError):
    """The org's API allowance is (nearly) used up; stop the run and try again later."""


class SalesforceSessionExpired(SalesforceError):
    """The session id was rejected; the client logs in again and repeats the call."""


class SalesforceQueryLocatorExpired(SalesforceError):
    """A query cursor (`nextRecordsUrl`) expired; re-query from what the run committed."""


class SalesforcePermanentError(SalesforceError):
    """Retrying will not help: a bad query, field, object, id or permission."""


class SalesforceAuthError(SalesforcePermanentError):
    """Salesforce rejected the credentials; the message names the settings to check."""


class SalesforceConfigError(ConfigError):
    """The Salesforce settings are incomplete or malformed; names the SFSYNC_ variables."""


def _no_redaction(text: str) -> str:
    return text


def error_details(content: Any) -> tuple[str | None, str]:
    """The first ``(errorCode, message)`` of a Salesforce error body (list, dict or text)."""
    if isinstance(content, list) and content and isinstance(content[0], Mapping):
        first = content[0]
        code = first.get("errorCode")
        return (str(code) if code else None), str(first.get("message") or "")
    if isinstance(content, Mapping):
        code = content.get("errorCode") or content.get("error")
        message = content.get("message") or content.get("error_description") or ""
        return (str(code) if code else None), str(message)
    if isinstance(content, bytes):
        content = content.decode("utf-8", "replace")
    text = str(content or "").strip()
    # An HTML error page says nothing useful and can be long; keep a short hint only.
    return None, ("" if text.startswith("<") else text[:200])


def field_hint(message: str, field_settings: Mapping[str, str]) -> str:
    """Name the settings whose configured field appears in Salesforce's message."""
    named = sorted(
        {
            setting
            for field, setting in field_settings.items()
            if re.search(
                rf"(?<![\w.]){re.escape(field.split('.')[-1])}(?!\w)", message, re.IGNORECASE
            )
        }
    )
    if named:
        return "; check " + " and ".join(named)
    if field_settings:
        return (
            "; check the field settings (" + ", ".join(sorted(set(field_settings.values()))) + ")"
        )
    return ""


def translate(
    exc: BaseException,
    *,
    operation: str = "call",
    field_settings: Mapping[str, str] | None = None,
    redact: Redactor = _no_redaction,
) -> SalesforceError:
    """Classify a simple-salesforce or requests exception as one of our errors.

    `field_settings` maps configured Salesforce field names to the setting that named them,
    so an INVALID_FIELD message can say which setting to fix.
    """
    if isinstance(exc, SalesforceError):
        return exc
    if isinstance(exc, requests.Timeout):
        return SalesforceTransientError(
            f"Salesforce {operation} timed out "
            "(SFSYNC_SF_CONNECT_TIMEOUT / SFSYNC_SF_READ_TIMEOUT)",
            error_code="TIMEOUT",
        )
    if isinstance(exc, requests.ConnectionError):
        return SalesforceTransientError(
            f"Salesforce {operation} could not connect: {type(exc).__name__}",
            error_code="CONNECTION_ERROR",
        )
    if isinstance(exc, requests.RequestException):
        return SalesforceTransientError(
            f"Salesforce {operation} failed: {type(exc).__name__}", error_code="REQUEST_ERROR"
        )
    if isinstance(exc, LibrarySalesforceError):
        code, text = error_details(exc.content)
        return classify(
            exc.status,
            code,
            redact(text),
            operation=operation,
            field_settings=field_settings or {},
        )
    return SalesforceError(redact(f"Salesforce {operation} failed: {type(exc).__name__}"))


def classify(
    status: int | None,
    code: str | None,
    text: str,
    *,
    operation: str,
    field_settings: Mapping[str, str],
) -> SalesforceError:
    """Pick the error class for a status and errorCode; `text` must already be redacted."""
    detail = f"{code}: {text}" if code else (text or f"HTTP {status}")
    message = f"Salesforce {operation} failed ({status}) {detail}"
    kwargs: dict[str, Any] = {"error_code": code, "status": status}
    if code in THROTTLED_CODES:
        return SalesforceThrottled(
            f"{message}; the org's API allowance is used up, the run stops until it recovers",
            **kwargs,
        )
    if code in TRANSIENT_CODES:
        return SalesforceTransientError(message, **kwargs)
    if code == "QUERY_TIMEOUT":
        return SalesforceQueryTimeout(message, **kwargs)
    if code == "INVALID_SESSION_ID" or (status == 401 and code is None):
        return SalesforceSessionExpired(message, **kwargs)
    if code == "INVALID_QUERY_LOCATOR":
        return SalesforceQueryLocatorExpired(message, **kwargs)
    if status is not None and (status >= 500 or status in (408, 429)):
        return SalesforceTransientError(message, **kwargs)
    if code in FIELD_CODES:
        return SalesforcePermanentError(message + field_hint(text, field_settings), **kwargs)
    if status == 404 or code == "NOT_FOUND":
        return SalesforcePermanentError(
            f"{message}; check the record id, the object name and SFSYNC_SF_API_VERSION", **kwargs
        )
    if status == 403 or code in {
        "INSUFFICIENT_ACCESS",
        "INSUFFICIENT_ACCESS_OR_READONLY",
        "API_DISABLED_FOR_ORG",
    }:
        return SalesforcePermanentError(
            f"{message}; give the integration user (SFSYNC_SF_USERNAME) the missing permission",
            **kwargs,
        )
    return SalesforcePermanentError(message, **kwargs)
