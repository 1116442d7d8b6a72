"""Text every store can hold: what is written is made storable first, never refused there.

SQLite and PostgreSQL take UTF-8 only, so a lone surrogate (which JSON's ``\\ud800`` escape
and Python strings can carry) makes the driver raise `UnicodeEncodeError` and fails the
whole transaction; PostgreSQL's text also refuses NUL, and its `json` type a lone
surrogate escape. Values that must be written however odd they are — a dead letter's
reference, message and payload, a task letter's arguments — go through here: each such
character is kept visible as its ``\\uXXXX`` escape rather than lost.
"""

from __future__ import annotations

from typing import Any

__all__ = ["UNSTORABLE_TEXT", "is_storable", "storable_json", "storable_text"]

#: Why a key or a name that must be kept exactly as given is refused (`is_storable`).
UNSTORABLE_TEXT = "must be valid Unicode text without NUL or lone surrogates"

_UNSTORABLE = "not storable as it came: characters no store holds are shown as \\u escapes"


def storable_text(value: str) -> str:
    """`value` with NUL and lone surrogates replaced by their ``\\uXXXX`` escapes."""
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            value = value.encode("utf-8", "backslashreplace").decode("utf-8")
    return value.replace("\x00", "\\u0000") if "\x00" in value else value


def is_storable(value: str) -> bool:
    """Whether `value` can be written as it is (a key or a name, which are never escaped
    silently: the caller refuses them with `UNSTORABLE_TEXT`)."""
    return storable_text(value) == value


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, dict):
        return {storable_text(k) if isinstance(k, str) else k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(item) for item in value]
    return value


def _has_surrogate(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if not item.isascii():
                try:
                    item.encode("utf-8")
                except UnicodeEncodeError:
                    return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return False


def storable_json(value: Any) -> Any:
    """A JSON value every store holds: `value` itself, or, when a string in it holds a lone
    surrogate (which PostgreSQL's `json` refuses even escaped), a marked stand-in holding
    it with those characters escaped, so it is never mistaken for what was sent."""
    if not _has_surrogate(value):
        return value
    try:
        cleaned = _clean(value)
    except RecursionError:
        return {"unstorable": "nested too deeply to store"}
    return {"unstorable": _UNSTORABLE, "value": cleaned}
