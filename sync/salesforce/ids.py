"""Salesforce record ids: the 15- and 18-character forms, and telling an id from anything else.

Every id sfsync keeps or compares is the 18-character form: Salesforce hands out both, and
only the 18-character one survives a case-insensitive system (a spreadsheet, a database
collation) unharmed. `normalize_id` is for values that must be ids (a bad one is a
`ValueError` the caller reports); `valid_id` is for values read from records, where
anything that is not an id simply counts as absent.
"""

from __future__ import annotations

from typing import Any

from sfsync.config.ids import salesforce_id_18

__all__ = ["normalize_id", "valid_id"]


def normalize_id(record_id: str) -> str:
    """The 18-character form of a Salesforce id (15 or 18 characters), or ValueError.

    An 18-character id is case-insensitive by design: its last three characters encode the
    case of the first fifteen, so the case is restored from them and a suffix that cannot
    match is rejected (`config.ids`, which the store's key rules share).
    """
    if not isinstance(record_id, str):
        raise ValueError(f"a Salesforce id must be a string, not {type(record_id).__name__}")
    return salesforce_id_18(record_id)


def valid_id(value: Any) -> str | None:
    """The 18-character form of a Salesforce id, or None for anything that is not one."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return normalize_id(value)
    except ValueError:
        return None
