"""The Salesforce id algorithm: 15 characters to 18, and the case an 18-character id encodes.

It lives here, in the lowest layer, because two layers that may not import each other need
the one algorithm: the Salesforce adapter (`sync.salesforce`, which may import `config`
only) and the store (`models.keys`, whose canonical key rules decide how an account id is
kept as an alias, a custom field value or an event's key). Pure string code, no settings.
"""

from __future__ import annotations

import functools
import re

__all__ = ["salesforce_id_18"]

_ID_CHARS = re.compile(r"[A-Za-z0-9]+")
_CHECKSUM_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


@functools.lru_cache(maxsize=16_384)
def salesforce_id_18(record_id: str) -> str:
    """The 18-character form of a Salesforce id (15 or 18 characters), or ValueError.

    An 18-character id is case-insensitive by design: its last three characters encode the
    case of the first fifteen, so the case is restored from them (an id that went through a
    case-folding system comes back right) and a suffix that cannot match is rejected.
    Cached: a sync normalises each id of a page several times (look-ups, mapping, keys).
    """
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
