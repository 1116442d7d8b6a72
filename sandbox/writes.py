"""Salesforce's rules for one write: fields that exist and may be written, typed values,
live references, restricted picklists, required fields and derived fields."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sfsync.sandbox.record import Record
from sfsync.sandbox.schema import STAGES, SYSTEM_TIMESTAMPS, FieldType, ObjectDef
from sfsync.sandbox.values import FieldValueError, Value, from_wire

#: (object, id) -> the record, live or deleted, or None.
Finder = Callable[[str, str | None], Record | None]


class StoreError(Exception):
    """A rejected write or read, shaped like a Salesforce REST error."""

    def __init__(self, status: int, code: str, message: str, fields: list[str] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields or []


def derive(obj: ObjectDef, values: dict[str, Value]) -> None:
    """Formula-like fields: an opportunity's IsClosed and IsWon follow its stage."""
    if obj.name == "Opportunity":
        stage = values.get("StageName")
        closed, won = STAGES.get(str(stage), (False, False))
        values["IsClosed"] = closed
        values["IsWon"] = won


def convert(
    obj: ObjectDef, fields: Mapping[str, Any], system: bool, find: Finder
) -> dict[str, Value]:
    """Typed values of a write's `fields`, or the StoreError Salesforce would answer;
    `system` lets the org's own API set the timestamps, `find` resolves references."""
    out: dict[str, Value] = {}
    for name, raw in fields.items():
        f = obj.field(name)
        if f is None:
            raise StoreError(
                400,
                "INVALID_FIELD",
                f"No such column '{name}' on sobject of type {obj.name}",
                [name],
            )
        if not f.writable and not (system and f.name in SYSTEM_TIMESTAMPS):
            raise StoreError(
                400,
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                f"Unable to create/update fields: {f.name}. Please check the security "
                "settings of this field and verify that it is read/write for your profile "
                "or permission set.",
                [f.name],
            )
        try:
            value = from_wire(f, raw)
        except FieldValueError as exc:
            raise StoreError(400, exc.code, exc.message, [exc.field]) from None
        if f.type is FieldType.REFERENCE and value is not None:
            parent = find(str(f.target), str(value))
            if parent is None or parent.deleted:
                raise StoreError(
                    400,
                    "INVALID_CROSS_REFERENCE_KEY",
                    f"{f.name}: id value of incorrect type: {value}",
                    [f.name],
                )
        if f.name == "StageName" and value is not None and value not in STAGES:
            raise StoreError(
                400,
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                f"Stage: bad value for restricted picklist field: {value}",
                [f.name],
            )
        out[f.name] = value
    return out


def check_required(obj: ObjectDef, values: Mapping[str, Value]) -> None:
    """REQUIRED_FIELD_MISSING for any required field left null."""
    missing = [f.name for f in obj.fields if f.required and values.get(f.name) is None]
    if missing:
        raise StoreError(
            400,
            "REQUIRED_FIELD_MISSING",
            f"Required fields are missing: [{', '.join(missing)}]",
            missing,
        )


def refuse_type(obj: ObjectDef, operation: str) -> None:
    """INVALID_TYPE_FOR_OPERATION for objects the API can read but not insert or delete."""
    if not obj.createable:
        raise StoreError(
            400,
            "INVALID_TYPE_FOR_OPERATION",
            f"entity type cannot be {operation}: {obj.name}",
        )
