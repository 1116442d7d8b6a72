"""The client's HTTP details: plain http for a loopback instance only (the sandbox org, a
local proxy), and Salesforce's clock read from a response's ``Date`` header.

Errors: `SalesforceConfigError` (drawn in `sync.salesforce.errors`) for an http:// instance
that is not on loopback.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from sfsync.sync.salesforce.errors import SalesforceConfigError

__all__ = ["allow_plain_http_loopback", "http_date"]


class _PlainHttp(HTTPAdapter):
    """Sends simple-salesforce's https:// URLs for one loopback instance over plain HTTP."""

    def __init__(self, netloc: str) -> None:
        super().__init__()
        self._prefix = f"https://{netloc}"
        self._target = f"http://{netloc}"

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        if request.url and request.url.startswith(self._prefix):
            request.url = self._target + request.url[len(self._prefix) :]
        return super().send(request, *args, **kwargs)


_LOOPBACK_HOSTS = ("localhost", "::1")


def allow_plain_http_loopback(http: requests.Session, instance_url: str) -> None:
    """simple-salesforce always builds https:// URLs; an http:// instance URL (the sandbox
    org, a local proxy) is honoured for loopback hosts only, so a token never crosses a
    network in clear text."""
    parts = urlsplit(instance_url)
    if parts.scheme != "http":
        return
    host = parts.hostname or ""
    if not (host.startswith("127.") or host in _LOOPBACK_HOSTS):
        raise SalesforceConfigError(
            f"SFSYNC_SF_INSTANCE_URL / the login's instance_url must be https:// "
            f"(plain http is allowed for loopback only): {parts.scheme}://{parts.netloc}"
        )
    http.mount(f"https://{parts.netloc}", _PlainHttp(parts.netloc))


def http_date(value: str | None) -> datetime | None:
    """An HTTP ``Date`` header as an aware UTC datetime; None if absent or malformed."""
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return when.astimezone(UTC) if when.tzinfo is not None else when.replace(tzinfo=UTC)
