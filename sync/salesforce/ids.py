"""Salesforce record ids: the 15- and 18-character forms, and telling an id from anything else.

Every id sfsync keeps or compares is the 18-character form: Salesforce hands out both, and
only the 18-character one survives a case-insensitive system (a spreadsheet, a database
collation) unharmed. `normalize_id` is for values that must be ids (a bad one is a
`ValueError` the caller reports); `valid_id` is for values read from records, where
anything that is not an id simply counts as absent.
"""

from __future__ import annotations

import functools
import re
from typing import Any

__all__ = ["normalize_id", "valid_id"]

_ID_CHARS = re.compile(r"[A-Za-z0-9]+")
_CHECKSUM_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def normalize_id(record_id: str) -> str:
    """The 18-character form of a Salesforce id (15 or 18 characters), or ValueError.

    An 18-character id is case-insensitive by design: its last three characters encode the
    case of the first fifteen, so the case is restored from them (an id that went through a
    case-folding system comes back right) and a suffix that cannot match is rejected.
    """
    if not isinstance(record_id, str):
        raise ValueError(f"a Salesforce id must be a string, not {type(record_id).__name__}")
    return _normalize(record_id)


def valid_id(value: Any) -> str | None:
    """The 18-character form of a Salesforce id, or None for anything that is not one."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return normalize_id(value)
    except ValueError:
        return None


@functools.lru_cache(maxsize=16_384)
def _normalize(record_id: str) -> str:
    # Cached: a sync normalises each id of a page several times (look-ups, mapping, keys).
    value = record_id.strip()
    if len(value) not in (15, 18) or not _ID_CHARS.fullmatch(value):
        raise ValueError(f"not a Salesforce id (15 or 18 letters and digits): {record_id!r}")
    if len(value) == 15:
        return value + _checksum(value)
    suffix = value[15:].upper()
    restored = []
    for chunk_index, flag_char in enumerate(suffix):
        if flag_char not in _CHECKSUM_ALPHABET:
            raise ValueError(f"not a Salesforce id (bad checksum characters): {record_id!r}")
        bits = _CHECKSUM_ALPHABET.index(flag_char)
        for offset in range(5):
            char = value[chunk_index * 5 + offset]
            upper = bool(bits >> offset & 1)
            if upper and not char.isalpha():
                raise ValueError(f"not a Salesforce id (checksum does not match): {record_id!r}")
            restored.append(char.upper() if upper else char.lower())
    return "".join(restored) + suffix


def _checksum(id15: str) -> str:
    suffix = ""
    for start in range(0, 15, 5):
        bits = sum(
            1 << offset for offset, char in enumerate(id15[start : start + 5]) if "A" <= char <= "Z"
        )
        suffix += _CHECKSUM_ALPHABET[bits]
    return suffix
