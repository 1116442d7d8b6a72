"""HTTP plumbing: a threaded loopback server that hands requests to the routers."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from sfsync.sandbox.responses import Request, Response

Dispatch = Callable[[Request], Response | None]


class _Server(ThreadingHTTPServer):
    # Hung handlers must not keep stop() (or the interpreter) waiting.
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    dispatch: Dispatch


class _Handler(BaseHTTPRequestHandler):
    # Keep-alive lets clients page through big queries without reconnecting.
    protocol_version = "HTTP/1.1"
    server: _Server

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = Request(
            method=self.command,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        response = self.server.dispatch(request)
        if response is None:
            self.close_connection = True
            return
        # send_response() would add a Date from the host's clock; the org's clock decides.
        self.send_response_only(response.status)
        self.send_header("Server", self.version_string())
        self.send_header("Date", response.headers.get("Date") or self.date_time_string())
        if response.content_type:
            self.send_header("Content-Type", response.content_type)
        for name, value in response.headers.items():
            if name.lower() != "date":
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if response.body and self.command != "HEAD":
            self.wfile.write(response.body)

    do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = do_HEAD = _serve

    def log_message(self, format: str, *args: object) -> None:
        # Request logs would drown test and benchmark output.
        return


class HttpServer:
    """Owns the listening socket and the serving thread."""

    def __init__(self, host: str, port: int, dispatch: Dispatch) -> None:
        self._server = _Server((host, port), _Handler)
        self._server.dispatch = dispatch

    @property
    def address(self) -> tuple[str, int]:
        """Bound host and port."""
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def serve_forever(self) -> None:
        """Serve until shutdown() is called from another thread."""
        self._server.serve_forever(poll_interval=0.1)

    def shutdown(self) -> None:
        """Stop serving and close the listening socket."""
        self._server.shutdown()
        with contextlib.suppress(OSError):
            self._server.socket.shutdown(socket.SHUT_RDWR)
        self._server.server_close()
