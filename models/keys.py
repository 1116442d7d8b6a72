"""Canonical keys: the one spelling under which the store keeps and compares a key.

A key is what names a customer from outside: an ingest alias, the account id custom field
(`KEY_FIELDS`), an event's `customer_id`, an `external_id`. Two spellings of one identity
must never be two keys, or usage keyed on one misses the customer holding the other (and a spelling
of a victim's id could be attached elsewhere and capture its usage). So every key is
passed through `canonical_key` where it is written and where it is looked up:

- a key that parses as a UUID (any case, ``{…}``, ``urn:uuid:…``, 32 hex digits, with
  surrounding whitespace: whatever Python's `uuid.UUID` reads) is that UUID in canonical
  text form (lower-case 8-4-4-4-12), and is a customer id wherever that customer exists;
- a key shaped like an Account record id (``001`` and 12 letters or digits, or 15 with
  a checksum suffix that matches, in any letter case) is its 18-character form
  (`config.ids`, the algorithm the source's adapter uses too);
- any other key is kept as given (keys are case-sensitive).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable

from sfsync.config.ids import salesforce_id_18

__all__ = ["canonical_key", "canonical_keys", "customer_id_of_key"]

_ACCOUNT_ID_SHAPE = re.compile(r"001[A-Za-z0-9]{12}(?:[A-Za-z0-9]{3})?")
# The shortest spelling `uuid.UUID` reads is 32 hex digits; shorter keys are never parsed.
_UUID_MIN = 32
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def customer_id_of_key(key: str) -> uuid.UUID | None:
    """The UUID a key spells (so the customer id it names, if that customer exists), or None."""
    if len(key) < _UUID_MIN:
        return None
    if len(key) == 36 and _CANONICAL_UUID.fullmatch(key):
        return uuid.UUID(key)
    try:
        return uuid.UUID(key.strip())
    except ValueError:
        return None


def canonical_key(key: str) -> str:
    """The spelling under which the store keeps and compares `key` (see the module's rules)."""
    size = len(key)
    if size < _UUID_MIN:
        if size in (15, 18) and _ACCOUNT_ID_SHAPE.fullmatch(key):
            try:
                return salesforce_id_18(key)
            except ValueError:  # an 18-character key whose suffix is no checksum
                return key
        return key
    if size == 36 and _CANONICAL_UUID.fullmatch(key):
        return key
    parsed = customer_id_of_key(key)
    return key if parsed is None else str(parsed)


def canonical_keys(keys: Iterable[str]) -> dict[str, str]:
    """key → its canonical form, for look-ups that answer in the caller's spellings."""
    return {key: canonical_key(key) for key in keys}
