"""Reading the records the REST API returns: dotted field paths, and the records as payloads.

A REST record nests its relationships (``{"Account": {"Name": ...}}``) and tags every
level with an ``attributes`` object (type and URL) that says nothing about the data, so a
record kept as a dead letter's payload goes without it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["record_value", "strip_attributes"]


def record_value(record: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted field path of a REST record (`Account.Name`), or None."""
    value: Any = record
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def strip_attributes(record: Mapping[str, Any]) -> dict[str, Any]:
    """The record without REST `attributes` noise, at every level, for a dead letter's payload."""
    return {
        key: strip_attributes(value) if isinstance(value, Mapping) else value
        for key, value in record.items()
        if key != "attributes"
    }
