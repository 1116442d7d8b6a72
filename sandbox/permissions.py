"""The integration user's field-level security, and the describe results it shapes.

Salesforce hides a field the user may not read from everything the API shows: it is absent
from `/sobjects/X/describe`, selecting or filtering on it is ``INVALID_FIELD`` ("No such
column"), and a record read leaves it out. A field the user may read but not edit is in the
describe with ``updateable: false`` and a write to it is ``INVALID_FIELD_FOR_INSERT_UPDATE``.
The org's own control surface (`/__sandbox__/`) is an administrator and sees every field.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from enum import Enum
from typing import Any

from sfsync.sandbox.ids import KEY_PREFIXES
from sfsync.sandbox.schema import FieldDef, FieldType, ObjectDef, Objects

__all__ = ["Access", "FieldPermissions", "describe"]


class Access(Enum):
    """What the integration user may do with one field."""

    NONE = "none"
    READ = "read"
    EDIT = "edit"


class FieldPermissions:
    """Per-field access of the API user; every field is editable (as its type allows) until
    a test revokes it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._access: dict[tuple[str, str], Access] = {}
        self._cache: tuple[int, Objects] | None = None

    def set(self, objects: Objects, sobject: str, field: str, access: Access) -> None:
        """Give the user `access` to `sobject`.`field` (a ValueError for an unknown one)."""
        obj = objects.get(sobject.lower())
        if obj is None or obj.field(field) is None:
            raise ValueError(f"no field {sobject}.{field} in this org")
        with self._lock:
            key = (obj.name.lower(), field.lower())
            if access is Access.EDIT:
                self._access.pop(key, None)
            else:
                self._access[key] = access
            self._cache = None

    def reset(self) -> None:
        """Every field back to editable."""
        with self._lock:
            self._access.clear()
            self._cache = None

    def visible(self, objects: Objects) -> Objects:
        """`objects` as the API user sees them: hidden fields gone, read-only ones unwritable."""
        with self._lock:
            if not self._access:
                return objects
            if self._cache is not None and self._cache[0] == id(objects):
                return self._cache[1]
            seen = {name: _restricted(obj, self._access) for name, obj in objects.items()}
            self._cache = (id(objects), seen)
            return seen


def _restricted(obj: ObjectDef, access: dict[tuple[str, str], Access]) -> ObjectDef:
    fields: list[FieldDef] = []
    for f in obj.fields:
        level = access.get((obj.name.lower(), f.name.lower()), Access.EDIT)
        if level is Access.NONE:
            continue
        fields.append(replace(f, writable=False) if level is Access.READ else f)
    return ObjectDef(obj.name, tuple(fields), createable=obj.createable)


_LENGTHS = {
    FieldType.ID: 18,
    FieldType.REFERENCE: 18,
    FieldType.STRING: 255,
    FieldType.PICKLIST: 255,
}
#: Fields Salesforce computes: readable, never createable nor updateable by anyone.
_COMPUTED = frozenset({"Id", "IsWon", "IsClosed", "IsDeleted", "MasterRecordId"})


def describe(obj: ObjectDef) -> dict[str, Any]:
    """The `/sobjects/{obj}/describe` body, in the shape (and subset) Salesforce sends."""
    writable = obj.createable
    return {
        "name": obj.name,
        "label": obj.name,
        "labelPlural": obj.name + "s",
        "keyPrefix": KEY_PREFIXES.get(obj.name),
        "custom": obj.name.endswith("__c"),
        "queryable": True,
        "retrieveable": True,
        "searchable": obj.createable,
        "createable": writable,
        "updateable": writable,
        "deletable": writable,
        "undeletable": writable,
        "mergeable": obj.name == "Account",
        "fields": [_field(obj, f) for f in obj.fields],
        "childRelationships": [],
        "recordTypeInfos": [],
        "urls": {"sobject": f"/sobjects/{obj.name}", "describe": f"/sobjects/{obj.name}/describe"},
    }


def _field(obj: ObjectDef, f: FieldDef) -> dict[str, Any]:
    writable = obj.createable and f.writable and f.name not in _COMPUTED
    return {
        "name": f.name,
        "label": f.name.removesuffix("__c").replace("_", " "),
        "type": f.type.value,
        "soapType": _SOAP_TYPES[f.type],
        "length": _LENGTHS.get(f.type, 0),
        "custom": f.name.endswith("__c"),
        "nillable": not f.required and f.type is not FieldType.BOOLEAN and f.name != "Id",
        "createable": writable,
        "updateable": writable,
        "filterable": True,
        "sortable": True,
        "calculated": False,
        "defaultValue": None,
        "referenceTo": [f.target] if f.target is not None else [],
        "relationshipName": f.relationship,
    }


_SOAP_TYPES = {
    FieldType.ID: "tns:ID",
    FieldType.REFERENCE: "tns:ID",
    FieldType.STRING: "xsd:string",
    FieldType.PICKLIST: "xsd:string",
    FieldType.BOOLEAN: "xsd:boolean",
    FieldType.CURRENCY: "xsd:double",
    FieldType.DOUBLE: "xsd:double",
    FieldType.DATE: "xsd:date",
    FieldType.DATETIME: "xsd:dateTime",
}
