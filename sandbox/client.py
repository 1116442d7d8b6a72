"""Client-side helper: point simple-salesforce at the plain-HTTP sandbox.

simple-salesforce always builds `https://{instance}` URLs (and logs in at
`https://{domain}.salesforce.com`). The sandbox serves plain HTTP on loopback, so clients
mount a transport adapter that rewrites those URL prefixes to the sandbox only. This is
the one sandbox module that imports `requests`; the server never imports it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter


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
