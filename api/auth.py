"""Bearer API keys: a dependency per scope (401 without a valid key, 403 without the scope)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Depends, Request

from api.errors import Forbidden, Unauthorized
from api.state import state
from models.api_keys import Principal, authenticate
from models.types import ApiScope

__all__ = ["require"]


def _principal(request: Request) -> Principal:
    header = request.headers.get("authorization")
    if not header:
        raise Unauthorized(
            "no API key: send `Authorization: Bearer <key>` (create one with "
            "`sfsync api-keys create NAME --scope SCOPE`)"
        )
    kind, _, token = header.partition(" ")
    if kind.lower() != "bearer" or not token.strip():
        raise Unauthorized("the Authorization header must be `Bearer <key>`")
    with state(request).store.reader() as session:
        principal = authenticate(session, token.strip())
    if principal is None:
        raise Unauthorized("the API key is unknown or revoked")
    return principal


def require(scope: ApiScope) -> Any:
    """A dependency admitting keys whose scope covers `scope`."""

    def check(request: Request) -> Principal:
        principal = _principal(request)
        if not principal.allows(scope):
            raise Forbidden(
                f"this API key has scope {principal.scope.value!r}, which does not allow "
                f"{scope.value!r} requests"
            )
        # Whose `Idempotency-Key`s a write's answers are kept under.
        request.state.principal = principal
        return principal

    dependency: Callable[[Request], Principal] = check
    return Depends(dependency)
