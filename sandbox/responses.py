"""Transport-neutral requests and responses shared by the routers and the HTTP server."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

_ENCODER = json.JSONEncoder(separators=(",", ":"))


@dataclass
class Request:
    """One HTTP request, already split into its parts."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: Mapping[str, str]  # lower-cased names
    body: bytes = b""

    def param(self, name: str) -> str | None:
        """First value of a query-string parameter."""
        values = self.query.get(name)
        return values[0] if values else None

    def json(self) -> Any:
        """The body parsed as JSON (None when empty)."""
        return json.loads(self.body) if self.body else None

    def header(self, name: str) -> str | None:
        """Header value by case-insensitive name (`headers` keys are lower-case)."""
        return self.headers.get(name.lower())


@dataclass
class Response:
    """Status, body and headers to send."""

    status: int
    body: bytes = b""
    content_type: str = "application/json;charset=UTF-8"
    headers: dict[str, str] = field(default_factory=dict)


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    """Compact JSON, since encoding dominates the cost of serving large query pages."""
    return Response(status, _ENCODER.encode(payload).encode(), headers=headers or {})


def sf_error(status: int, code: str, message: str, fields: list[str] | None = None) -> Response:
    """Salesforce's REST error shape: a list of {message, errorCode, fields}."""
    return json_response(status, [{"message": message, "errorCode": code, "fields": fields or []}])


def empty(status: int = 204) -> Response:
    """No content."""
    return Response(status, b"", content_type="")
