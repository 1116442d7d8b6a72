"""Console sessions kept in the store: the browser holds a random session id, never a key.

Only the id's SHA-256 is stored (a copy of the store signs nobody in), beside the API key it
was opened with; a session ends when it is signed out (its row deleted), when it is older
than its lifetime, or when its key is revoked. Rows of `request_keys` under the scope
``console.session``.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from sfsync.models.operations.api_keys import Principal, principal_of
from sfsync.models.tables import RequestKey
from sfsync.models.types import utcnow

__all__ = ["close_session", "open_session", "session_principal"]

_SCOPE = "console.session"


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8", "surrogatepass")).hexdigest()


def open_session(session: Session, key_id: str, lifetime: timedelta) -> str:
    """A new session for the key `key_id`; returns its id (shown to the browser only)."""
    session.execute(
        delete(RequestKey).where(
            RequestKey.scope == _SCOPE, RequestKey.created_at < utcnow() - lifetime
        )
    )
    session_id = secrets.token_urlsafe(32)
    session.add(RequestKey(scope=_SCOPE, key=_digest(session_id), response={"key_id": key_id}))
    session.flush()
    return session_id


def session_principal(session: Session, session_id: str, lifetime: timedelta) -> Principal | None:
    """Who the session is signed in as; None when unknown, ended, expired or its key revoked."""
    row = session.get(RequestKey, (_SCOPE, _digest(session_id)))
    if row is None or row.created_at < utcnow() - lifetime or not isinstance(row.response, dict):
        return None
    return principal_of(session, str(row.response.get("key_id", "")))


def close_session(session: Session, session_id: str) -> None:
    """End the session at once (signing out): its id signs nobody in from now on."""
    session.execute(
        delete(RequestKey).where(RequestKey.scope == _SCOPE, RequestKey.key == _digest(session_id))
    )
