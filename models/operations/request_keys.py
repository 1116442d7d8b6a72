"""Keys that make a client's retried write safe: `Idempotency-Key` and `uniqueness_key`.

Both are rows of `request_keys`, written in the transaction of the write they guard, so a
write that failed leaves no key behind and a retry runs it afresh; the primary key makes two
racing requests with one key unable to both commit.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from sfsync.models import exactjson
from sfsync.models.dialect import insert
from sfsync.models.errors import (
    IdempotencyKeyRaced,
    IdempotencyKeyReused,
    InvalidInput,
    UniquenessKeyUsed,
)
from sfsync.models.tables import MAX_REQUEST_KEY, RequestKey
from sfsync.models.types import Entity, utcnow

__all__ = [
    "IDEMPOTENCY_WINDOW",
    "StoredResponse",
    "check_uniqueness_key",
    "fingerprint",
    "recall_response",
    "record_response",
    "record_uniqueness_key",
]


#: How long an `Idempotency-Key`'s answer is kept (Stripe's window): a retry comes sooner.
IDEMPOTENCY_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class StoredResponse:
    """The first answer given to a request with this `Idempotency-Key`."""

    status_code: int
    body: Any


def _valid(key: str, what: str) -> str:
    if not 1 <= len(key) <= MAX_REQUEST_KEY or not key.isprintable():
        raise InvalidInput(f"{what} must be 1 to {MAX_REQUEST_KEY} printable characters")
    return key


def fingerprint(method: str, path: str, body: Any) -> str:
    """What identifies a request: the same key with another fingerprint is a client error."""
    text = exactjson.dumps([method.upper(), path, body])
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _idempotency_scope(api_key_id: str) -> str:
    return f"idempotency:{api_key_id}"


def recall_response(
    session: Session, api_key_id: str, key: str, request_fingerprint: str
) -> StoredResponse | None:
    """The answer first given to this key, or None; `IdempotencyKeyReused` for another request."""
    row = session.get(RequestKey, (_idempotency_scope(api_key_id), _valid(key, "Idempotency-Key")))
    if row is None or row.created_at < utcnow() - IDEMPOTENCY_WINDOW:
        return None
    if row.fingerprint != request_fingerprint:
        raise IdempotencyKeyReused(key)
    return StoredResponse(row.status_code or 200, row.response)


def record_response(
    session: Session,
    api_key_id: str,
    key: str,
    request_fingerprint: str,
    response: StoredResponse,
) -> None:
    """Keep the answer to give a retry of this request (in the write's own transaction).

    The key's answers older than `IDEMPOTENCY_WINDOW` go first (the key's own rows, found by
    the primary key's prefix), so the table holds about a day of each key's writes.
    """
    scope = _idempotency_scope(api_key_id)
    session.execute(
        delete(RequestKey).where(
            RequestKey.scope == scope, RequestKey.created_at < utcnow() - IDEMPOTENCY_WINDOW
        )
    )
    if not _insert(
        session,
        scope,
        key,
        fingerprint=request_fingerprint,
        status_code=response.status_code,
        response=response.body,
    ):
        raise IdempotencyKeyRaced(key)


def _uniqueness_scope(entity: Entity) -> str:
    return f"{entity.value}.uniqueness_key"


def check_uniqueness_key(session: Session, entity: Entity, key: str) -> None:
    """Raise `UniquenessKeyUsed`, naming what it created, when `key` was used before."""
    row = session.get(RequestKey, (_uniqueness_scope(entity), _valid(key, "uniqueness_key")))
    if row is not None:
        raise UniquenessKeyUsed(entity.value, key, row.entity_id)


def record_uniqueness_key(session: Session, entity: Entity, key: str, entity_id: uuid.UUID) -> None:
    """Tie `key` to the entity it created; of two racing requests with it, one gets the
    conflict (the primary key decides, not the check before)."""
    scope = _uniqueness_scope(entity)
    if not _insert(session, scope, _valid(key, "uniqueness_key"), entity_id=entity_id):
        check_uniqueness_key(session, entity, key)
        raise UniquenessKeyUsed(entity.value, key, None)


def _insert(session: Session, scope: str, key: str, **values: Any) -> bool:
    """Insert the key's row; False when a row of that scope and key is there already."""
    # RETURNING, not rowcount: through the ORM session psycopg reports -1 for either case.
    inserted = session.execute(
        insert(session, RequestKey)
        .values(scope=scope, key=key, created_at=utcnow(), **values)
        .on_conflict_do_nothing(index_elements=["scope", "key"])
        .returning(RequestKey.key)
    ).first()
    return inserted is not None
