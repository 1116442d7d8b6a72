"""uvicorn's HTTP/1.1 protocol with a deadline for a request's headers.

uvicorn closes a kept-alive connection that stays idle (`timeout_keep_alive`) and answers
503 past `limit_concurrency`, but a connection that never completes its headers — one
that sends nothing, or trickles a header line every few seconds — stays open for ever.
Here the headers of each request must be complete within `header_timeout` seconds of the
connection opening, or of the request's first byte on a kept-alive connection; a client
that misses it is disconnected.
"""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["HeaderTimeoutProtocol", "protocol_with_header_timeout"]


class HeaderTimeoutProtocol(H11Protocol):
    """`H11Protocol` that disconnects a client slower than `header_timeout` with its headers."""

    def __init__(self, *args: Any, header_timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout = header_timeout
        self._header_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_deadline()

    def data_received(self, data: bytes) -> None:
        if self._header_deadline is None and self._awaiting_headers():
            # The first bytes of the next request on a kept-alive connection.
            self._arm_header_deadline()
        super().data_received(data)
        if not self._awaiting_headers():
            self._cancel_header_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_deadline()
        super().connection_lost(exc)

    def _awaiting_headers(self) -> bool:
        return self.conn.their_state is h11.IDLE

    def _arm_header_deadline(self) -> None:
        self._cancel_header_deadline()
        self._header_deadline = self.loop.call_later(self.header_timeout, self._headers_late)

    def _cancel_header_deadline(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _headers_late(self) -> None:
        self._header_deadline = None
        if self._awaiting_headers() and not self.transport.is_closing():
            self.transport.close()


def protocol_with_header_timeout(header_timeout: float) -> Any:
    """The protocol factory for uvicorn's `http` option (picklable, for `--workers`)."""
    return partial(HeaderTimeoutProtocol, header_timeout=header_timeout)
