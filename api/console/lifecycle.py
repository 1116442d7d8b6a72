"""Adapters to what other parts of the store may offer: contract revisions.

Contract revisions (`models.revisions.history`) come with the contract lifecycle; where the
store has none, a contract's history is empty and the page says so. Alias provenance and
customer status are read off the rows by the templates when the columns exist.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

History = Callable[[Session, uuid.UUID], list[Any]]


def _revision_history() -> History | None:
    try:
        from models.revisions import history  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    found: History = history
    return found


_HISTORY = _revision_history()


def has_contract_history() -> bool:
    return _HISTORY is not None


def contract_history(session: Session, contract_id: uuid.UUID) -> list[Any]:
    """The contract's revisions, oldest first (none where the store keeps none)."""
    return _HISTORY(session, contract_id) if _HISTORY is not None else []
