"""Database errors in the store's terms: which are worth retrying, and what each one means.

The one place a database exception becomes a `StoreError` (the engine's sessions and
statements raise only those).
"""

from __future__ import annotations

import re

from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from sfsync.models.errors import Conflict, InvalidInput, StoreError, StoreUnavailable

__all__ = ["constraint_name", "is_transient", "translate"]

# SQLSTATEs that mean "try again": serialization failure, deadlock, lock timeout, and the
# connection classes.
_TRANSIENT_SQLSTATES = {"40001", "40P01", "55P03", "57P01", "57014"}


def is_transient(exc: BaseException) -> bool:
    """Whether a database error is worth retrying."""
    if isinstance(exc, OperationalError):
        return True
    if isinstance(exc, DBAPIError):
        sqlstate = getattr(exc.orig, "sqlstate", None)
        if sqlstate in _TRANSIENT_SQLSTATES or exc.connection_invalidated:
            return True
    return False


def constraint_name(exc: IntegrityError) -> str:
    """The name (PostgreSQL) or the failing columns (SQLite) of the violated constraint."""
    diag = getattr(exc.orig, "diag", None)
    name = getattr(diag, "constraint_name", None)
    if name:
        return str(name)
    message = str(exc.orig)
    match = re.search(r"constraint failed: (.+)$", message, re.MULTILINE)
    return match.group(1).strip() if match else message


def translate(exc: BaseException) -> StoreError:
    """Turn a database exception into the store's own error."""
    if isinstance(exc, IntegrityError):
        name = constraint_name(exc)
        if "UNIQUE" in str(exc.orig).upper() or "duplicate key" in str(exc.orig):
            return Conflict(f"already exists ({name})")
        return InvalidInput(f"rejected by the store's rule {name}")
    if is_transient(exc):
        return StoreUnavailable(f"database temporarily unavailable: {type(exc.orig).__name__}")  # type: ignore[attr-defined]
    return StoreError(f"database error: {type(exc).__name__}")
