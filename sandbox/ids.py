"""Salesforce record ids: 15-character case-sensitive bodies plus the 3-character checksum."""

from __future__ import annotations

import threading

KEY_PREFIXES: dict[str, str] = {"Account": "001", "Opportunity": "006", "Organization": "00D"}
PREFIX_TO_OBJECT: dict[str, str] = {v: k for k, v in KEY_PREFIXES.items()}
#: The org's one id: its Organization row, its tokens, its identity URL and its SOAP login.
ORG_ID = "00D5g000004SbXEEA0"

# Digits in ASCII order so that ids minted later also sort later as plain strings.
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_CHECKSUM_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_POD = "5g"
_COUNTER_WIDTH = 10


def checksum(body: str) -> str:
    """The 3-character suffix that makes a 15-character id case-insensitively unique."""
    suffix = []
    for chunk in range(3):
        bits = 0
        for i, ch in enumerate(body[chunk * 5 : chunk * 5 + 5]):
            if "A" <= ch <= "Z":
                bits |= 1 << i
        suffix.append(_CHECKSUM_ALPHABET[bits])
    return "".join(suffix)


def to18(value: str) -> str:
    """Normalise a 15- or 18-character id to its 18-character form."""
    if len(value) == 15:
        return value + checksum(value)
    if len(value) == 18:
        return value[:15] + checksum(value[:15])
    raise ValueError(f"not a Salesforce id: {value!r}")


def is_valid(value: str) -> bool:
    """True for a well-formed 18-character id whose checksum matches its body."""
    return (
        len(value) == 18
        and value.isalnum()
        and value.isascii()
        and checksum(value[:15]) == value[15:]
    )


def object_for(value: str) -> str | None:
    """The object type an id's key prefix names, if known."""
    return PREFIX_TO_OBJECT.get(value[:3])


def _encode(n: int) -> str:
    digits = []
    for _ in range(_COUNTER_WIDTH):
        n, rem = divmod(n, 62)
        digits.append(_BASE62[rem])
    return "".join(reversed(digits))


class IdFactory:
    """Mints sequential ids per object type; thread-safe."""

    def __init__(self, start: dict[str, int] | None = None) -> None:
        self._lock = threading.Lock()
        self._next: dict[str, int] = dict(start or {})

    def new(self, sobject: str) -> str:
        """A fresh 18-character id for `sobject`."""
        prefix = KEY_PREFIXES[sobject]
        with self._lock:
            n = self._next.get(sobject, 1)
            self._next[sobject] = n + 1
        body = prefix + _POD + _encode(n)
        return body + checksum(body)

    def state(self) -> dict[str, int]:
        """Next counter per object, for saving."""
        with self._lock:
            return dict(self._next)
