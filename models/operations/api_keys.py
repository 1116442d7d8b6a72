"""API keys of the HTTP API: created with a secret shown once, stored hashed, revocable.

A key reads ``sfsync_<key_id>_<secret>``: the key id finds the row, the secret's SHA-256 is
compared in constant time. 32 random bytes of secret make a plain SHA-256 enough (there is
nothing to brute-force that a slow hash would protect).

`KeyCache` keeps the principals of keys it has seen valid for a few seconds, so a server
asks the store about a key once per TTL rather than once per request; a revocation takes
effect within that TTL (0: no cache, every request asks the store).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from sfsync.models.engine import Store
from sfsync.models.errors import InvalidInput, NotFound
from sfsync.models.tables import MAX_API_KEY_NAME, ApiKey
from sfsync.models.types import ApiScope, utcnow

__all__ = [
    "PREFIX",
    "SCOPE_GRANTS",
    "IssuedKey",
    "KeyCache",
    "Principal",
    "authenticate",
    "create_key",
    "list_keys",
    "principal_of",
    "revoke_key",
]

PREFIX = "sfsync_"

#: Which scopes each scope covers: `admin` everything, `write` reads and ingest too.
SCOPE_GRANTS: dict[ApiScope, frozenset[ApiScope]] = {
    ApiScope.INGEST: frozenset({ApiScope.INGEST}),
    ApiScope.READ: frozenset({ApiScope.READ}),
    ApiScope.WRITE: frozenset({ApiScope.WRITE, ApiScope.READ, ApiScope.INGEST}),
    ApiScope.ADMIN: frozenset(ApiScope),
}


@dataclass(frozen=True)
class IssuedKey:
    """A new key: `token` is the only time the secret exists outside the caller's hands."""

    key_id: str
    name: str
    scope: ApiScope
    token: str


@dataclass(frozen=True)
class Principal:
    """Who a valid, unrevoked key says the caller is."""

    key_id: str
    name: str
    scope: ApiScope

    def allows(self, needed: ApiScope) -> bool:
        return needed in SCOPE_GRANTS[self.scope]


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_key(session: Session, name: str, scope: ApiScope) -> IssuedKey:
    """Create a key; the returned token is never stored."""
    name = name.strip()
    if not 1 <= len(name) <= MAX_API_KEY_NAME:
        raise InvalidInput(f"an API key name has 1 to {MAX_API_KEY_NAME} characters")
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    session.add(ApiKey(key_id=key_id, name=name, scope=scope, secret_sha256=_digest(secret)))
    session.flush()
    return IssuedKey(key_id, name, scope, f"{PREFIX}{key_id}_{secret}")


def list_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.id)))


def revoke_key(session: Session, key_id: str) -> ApiKey:
    """Revoke a key (idempotent); it authenticates nothing from now on."""
    row = session.scalars(select(ApiKey).where(ApiKey.key_id == key_id)).first()
    if row is None:
        raise NotFound(f"no API key {key_id!r}; `sfsync api-keys list` shows them")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.flush()
    return row


def _split(token: str) -> tuple[str, str] | None:
    if not token.startswith(PREFIX):
        return None
    key_id, sep, secret = token[len(PREFIX) :].partition("_")
    if not sep or not key_id or not secret or len(key_id) > 32:
        return None
    return key_id, secret


def authenticate(session: Session, token: str) -> Principal | None:
    """The principal of a valid, unrevoked key, or None (never says which part was wrong)."""
    parts = _split(token)
    if parts is None:
        return None
    key_id, secret = parts
    row = session.scalars(select(ApiKey).where(ApiKey.key_id == key_id)).first()
    # Compare even when there is no row, so timing does not tell whether a key id exists.
    expected = row.secret_sha256 if row is not None else "0" * 64
    matches = hmac.compare_digest(_digest(secret), expected)
    if row is None or not matches or row.revoked_at is not None:
        return None
    return Principal(row.key_id, row.name, row.scope)


def principal_of(session: Session, key_id: str) -> Principal | None:
    """The principal of the unrevoked key `key_id` (a console session's), or None."""
    row = session.scalars(select(ApiKey).where(ApiKey.key_id == key_id)).first()
    if row is None or row.revoked_at is not None:
        return None
    return Principal(row.key_id, row.name, row.scope)


class KeyCache:
    """Principals of keys found valid in the last `ttl` seconds, at most `size` of them.

    Only valid keys are kept (a key refused once is asked about again next time, so a new
    key works at once and random tokens cannot fill the cache); entries are keyed by the
    token's SHA-256, so the cache holds no secret.
    """

    def __init__(
        self, ttl: float, *, size: int = 1024, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl = ttl
        self.size = size
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, Principal]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def principal(self, store: Store, token: str) -> Principal | None:
        """The principal of `token`: from the cache while fresh, else from the store."""
        if self.ttl <= 0:
            return self._ask(store, token)
        digest = _digest(token)
        now = self._clock()
        with self._lock:
            entry = self._entries.get(digest)
            if entry is not None and entry[0] > now:
                return entry[1]
        found = self._ask(store, token)
        with self._lock:
            if found is None:
                self._entries.pop(digest, None)
            else:
                self._entries[digest] = (now + self.ttl, found)
                self._entries.move_to_end(digest)
                while len(self._entries) > self.size:
                    self._entries.popitem(last=False)
        return found

    @staticmethod
    def _ask(store: Store, token: str) -> Principal | None:
        with store.reader() as session:
            return authenticate(session, token)
