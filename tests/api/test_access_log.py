"""The access log: every request is written, the credentials a client put in its URL are not."""

from __future__ import annotations

import time

from sfsync.models.types import ApiScope
from tests.api.conftest import LiveServer


def _logged(server: LiveServer, fragment: str) -> str:
    """The server's log once `fragment` is in it (polled: the log is written asynchronously)."""
    deadline = time.monotonic() + 10
    while fragment not in (log := server.output()):
        assert time.monotonic() < deadline, f"{fragment!r} never logged:\n{log[-2000:]}"
        time.sleep(0.05)
    return log


def test_an_api_key_in_the_query_string_is_refused_and_not_logged(server: LiveServer) -> None:
    """`?api_key=<key>` is 401 (keys go in the header); the log shows the parameter, masked."""
    key = server.key(ApiScope.ADMIN)
    with server.http() as http:
        refused = http.get("/v1/customers", params={"api_key": key, "limit": "5"})
        also = http.get("/v1/customers", params={"token": key})
    assert refused.status_code == 401 and also.status_code == 401
    log = _logged(server, '"GET /v1/customers?token=*** HTTP/1.1" 401')
    assert '"GET /v1/customers?api_key=***&limit=*** HTTP/1.1" 401' in log
    assert key not in log and key.split("_", 2)[2] not in log
