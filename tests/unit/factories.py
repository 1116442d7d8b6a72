"""Factories shared by unit and integration tests."""

from __future__ import annotations

import uuid
from typing import Any

from sfsync.config import Settings
from sfsync.models import Store
from sfsync.models.operations.deadletters import Failure, add_letter
from sfsync.models.types import DeadLetterSource


def build_settings(**overrides: Any) -> Settings:
    """`Settings` from keyword arguments only, never from a .env file."""
    return Settings(_env_file=None, **overrides)


# (given, how the store gives it back): the amounts that once came back as 2.063E+4 or 0.00.
AWKWARD_AMOUNTS = [
    ("20630", "20630"),
    ("100", "100"),
    ("0", "0"),
    ("0.00", "0"),
    ("0.000001", "0.000001"),
    ("123456789012.345678", "123456789012.345678"),
]


def uuid_spellings(value: uuid.UUID) -> list[str]:
    """The seven spellings of a customer id that must all name it (issue 24)."""
    canonical = str(value)
    return [
        canonical,
        canonical.upper(),
        "{" + canonical + "}",
        "urn:uuid:" + canonical,
        value.hex,
        value.hex.upper(),
        f"  {canonical}\t",
    ]


def open_deal_letter(store: Store) -> int:
    """An open dead letter for a deal that had no account; its id."""
    with store.session() as s:
        failure = Failure(
            source=DeadLetterSource.OPPORTUNITY,
            reference="0065g0000000001AAA",
            error_class="MappingError",
            error_message="no account",
            payload={"Id": "0065g0000000001AAA"},
        )
        return add_letter(s, failure).id
