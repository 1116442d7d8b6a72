"""Client-side helpers: point simple-salesforce at the sandbox, over HTTP or in-process.

simple-salesforce always builds `https://{instance}` URLs (and logs in at
`https://{domain}.salesforce.com`). The sandbox serves plain HTTP on loopback, so clients
mount a transport adapter that rewrites those URL prefixes to the sandbox only
(`loopback_session`). Or the org answers inside the test's process, through a transport
that hands each request to it (`in_process_session`, `InProcessTransport`). This is the one
sandbox module that imports `requests`; the server never imports it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

import requests
from requests.adapters import BaseAdapter, HTTPAdapter
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers

from sfsync.sandbox.responses import Request, Response

__all__ = ["InProcessOrg", "InProcessTransport", "in_process_session", "loopback_session"]


class InProcessOrg(Protocol):
    """An org that answers requests in this process: `SandboxOrg` after `open_in_process()`
    (named here so this client-side module does not load the org's server side)."""

    instance_url: str

    def handle(self, request: Request) -> Response | None: ...


class _Rewrite(HTTPAdapter):
    def __init__(self, source: str, target: str) -> None:
        super().__init__(pool_maxsize=8)
        self._source = source
        self._target = target

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        if request.url and request.url.startswith(self._source):
            request.url = self._target + request.url[len(self._source) :]
        return super().send(request, *args, **kwargs)


def loopback_session(
    instance_url: str,
    session: requests.Session | None = None,
    login_domains: Iterable[str] = (),
) -> requests.Session:
    """A requests session whose https:// calls to the sandbox go over plain HTTP.

    `login_domains` (e.g. ("login", "test")) also sends `https://{domain}.salesforce.com`
    to the sandbox, for simple-salesforce's login modes; leave it empty otherwise.
    """
    base = instance_url.rstrip("/")
    netloc = urlsplit(base).netloc
    session = session or requests.Session()
    session.mount(f"https://{netloc}", _Rewrite(f"https://{netloc}", base))
    for domain in login_domains:
        origin = f"https://{domain}.salesforce.com"
        session.mount(origin, _Rewrite(origin, base))
    return session


class InProcessTransport(BaseAdapter):
    """A requests transport that serves one sandbox org inside this process, as httpx's
    `MockTransport` does: the request goes to `SandboxOrg.handle` and its answer comes back
    as a `requests.Response`, with no socket and no thread. Everything above the transport
    (simple-salesforce, sfsync's SalesforceClient: logins, retries, paging) runs for real."""

    def __init__(self, org: InProcessOrg) -> None:
        super().__init__()
        self.org = org

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        parts = urlsplit(request.url or "")
        body = request.body or b""
        answer = self.org.handle(
            Request(
                method=request.method or "GET",
                path=parts.path,
                query=parse_qs(parts.query, keep_blank_values=True),
                headers={k.lower(): v for k, v in request.headers.items()},
                body=body.encode() if isinstance(body, str) else bytes(body),
            )
        )
        if answer is None:  # a fault that drops the connection
            raise requests.ConnectionError(
                "the sandbox org dropped the connection", request=request
            )
        response = requests.Response()
        response.status_code = answer.status
        response.reason = HTTPStatus(answer.status).phrase
        response.headers = CaseInsensitiveDict(answer.headers)
        if answer.content_type:
            response.headers["Content-Type"] = answer.content_type
        response.headers["Content-Length"] = str(len(answer.body))
        response._content = answer.body if request.method != "HEAD" else b""
        # The body is already whole: reading, streaming or closing never reaches `raw`.
        response._content_consumed = True  # type: ignore[attr-defined]
        response.encoding = get_encoding_from_headers(response.headers)
        response.url = request.url or ""
        response.request = request
        return response

    def close(self) -> None:
        """Nothing to release: no connection was opened."""


def in_process_session(
    org: InProcessOrg, session: requests.Session | None = None
) -> requests.Session:
    """A requests session whose calls to `org` (opened with `open_in_process`) are served in
    this process by `InProcessTransport`; calls anywhere else go out as usual."""
    session = session or requests.Session()
    session.mount(org.instance_url.rstrip("/"), InProcessTransport(org))
    return session
