"""Bearer API keys: a dependency per scope (401 without a valid key, 403 without the scope).

Keys are checked through the server's `KeyCache` (`SFSYNC_API_KEY_CACHE_SECONDS`): a key
seen valid within the TTL costs no store transaction, and a revocation takes effect within it.

A route whose body is read by `api.limits.JsonRoute` is admitted from its headers before
the body is read (`admit`); the dependency then finds the principal already checked.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Depends, Request
from fastapi.params import Depends as DependsParam

from sfsync.api.errors import Forbidden, Unauthorized
from sfsync.api.state import state
from sfsync.models.operations.api_keys import Principal
from sfsync.models.types import ApiScope

__all__ = ["admit", "require", "required_scope"]


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
    api = state(request)
    principal = api.key_cache.principal(api.store, token.strip())
    if principal is None:
        raise Unauthorized("the API key is unknown or revoked")
    return principal


def admit(request: Request, scope: ApiScope) -> Principal:
    """The request's principal if its key allows `scope`; Unauthorized or Forbidden else."""
    admitted: Principal | None = getattr(request.state, "principal", None)
    principal = admitted or _principal(request)
    if not principal.allows(scope):
        raise Forbidden(
            f"this API key has scope {principal.scope.value!r}, which does not allow "
            f"{scope.value!r} requests"
        )
    request.state.principal = principal
    return principal


class _Check:
    """The dependency `require` returns; it carries its scope so a route can admit early."""

    def __init__(self, scope: ApiScope) -> None:
        self.scope = scope

    def __call__(self, request: Request) -> Principal:
        return admit(request, self.scope)


def require(scope: ApiScope) -> Any:
    """A dependency admitting keys whose scope covers `scope`."""
    dependency: Callable[[Request], Principal] = _Check(scope)
    return Depends(dependency)


def required_scope(dependencies: list[DependsParam]) -> ApiScope | None:
    """The scope a route's `require` dependency asks for, if it has one."""
    for dependency in dependencies:
        if isinstance(dependency.dependency, _Check):
            return dependency.dependency.scope
    return None
