"""The tables' common ground: the declarative base, constraint naming and the store's limits."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Enum,
    MetaData,
)
from sqlalchemy.orm import DeclarativeBase

__all__ = [
    "MAX_ALIAS",
    "MAX_ALIASES_PER_CUSTOMER",
    "MAX_API_KEY_NAME",
    "MAX_EVENT_KEY",
    "MAX_FIELD_KEY",
    "MAX_FIELD_VALUE",
    "MAX_NAME",
    "MAX_REQUEST_KEY",
    "NAMING",
    "Base",
    "enum_column",
]

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# The store's limits, each defined here once: the columns, their CHECKs, the validators in
# models/ and the mapping of source records in sync/ all read these.
#: A customer's or a contract's name (the billing model's).
MAX_NAME = 160
#: A custom field's key, and its value.
MAX_FIELD_KEY = 128
MAX_FIELD_VALUE = 200
MAX_ALIAS = 128
MAX_ALIASES_PER_CUSTOMER = 2000
MAX_EVENT_KEY = 128
MAX_API_KEY_NAME = 128
#: A client's `Idempotency-Key` or `uniqueness_key`.
MAX_REQUEST_KEY = 255


def enum_column(cls: type[Any], length: int = 32) -> Enum:
    # Stored as plain strings (no native enum type): adding a value needs no DDL.
    return Enum(
        cls,
        native_enum=False,
        length=length,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
