"""In-memory records with Salesforce write semantics: validation, soft delete, timestamps."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Any

from sandbox import ids
from sandbox.clock import Clock
from sandbox.schema import OBJECTS, STAGES, SYSTEM_TIMESTAMPS, FieldType, ObjectDef, lookup
from sandbox.values import FieldValueError, Value, format_datetime, from_wire, truncate_ms

API_VERSION = "59.0"


class StoreError(Exception):
    """A rejected write or read, shaped like a Salesforce REST error."""

    def __init__(self, status: int, code: str, message: str, fields: list[str] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields or []


class Record:
    """One immutable version of a record.

    Writes replace the Record rather than mutate it, so a query cursor holding a list
    of Records keeps a consistent snapshot. The wire form is computed once per version
    because serialising datetimes per query per row would dominate query cost.
    """

    __slots__ = ("attributes", "id", "sobject", "values", "wire")

    def __init__(self, sobject: ObjectDef, values: dict[str, Value]) -> None:
        self.sobject = sobject
        self.values = values
        self.id = str(values["Id"])
        wire: dict[str, Any] = {name: values.get(name) for name in sobject.names}
        for name in sobject.datetime_names:
            stamp = wire[name]
            if stamp is not None:
                wire[name] = format_datetime(stamp)
        for name in sobject.date_names:
            day = wire[name]
            if day is not None:
                wire[name] = day.isoformat()
        self.wire = wire
        self.attributes = {
            "type": sobject.name,
            "url": f"/services/data/v{API_VERSION}/sobjects/{sobject.name}/{self.id}",
        }

    @property
    def deleted(self) -> bool:
        """Soft-deleted records stay visible to queryAll only."""
        return bool(self.values.get("IsDeleted"))

    def as_json(self) -> dict[str, Any]:
        """The full record as the REST sObject endpoint returns it."""
        return {"attributes": self.attributes, **self.wire}


def _derive(obj: ObjectDef, values: dict[str, Value]) -> None:
    if obj.name == "Opportunity":
        stage = values.get("StageName")
        closed, won = STAGES.get(str(stage), (False, False))
        values["IsClosed"] = closed
        values["IsWon"] = won


class Store:
    """All records of the org, keyed by object then id (insertion ordered)."""

    def __init__(self, clock: Clock, id_state: dict[str, int] | None = None) -> None:
        self.clock = clock
        self.ids = ids.IdFactory(id_state)
        self._lock = threading.RLock()
        self._tables: dict[str, dict[str, Record]] = {o.name: {} for o in OBJECTS.values()}

    def object(self, sobject: str) -> ObjectDef:
        """The object definition, or a 404-shaped error for an unknown type."""
        obj = lookup(sobject)
        if obj is None:
            raise StoreError(404, "NOT_FOUND", "The requested resource does not exist")
        return obj

    def rows(self, sobject: str) -> list[Record]:
        """Snapshot of every record version of `sobject`, deleted ones included."""
        obj = self.object(sobject)
        with self._lock:
            return list(self._tables[obj.name].values())

    def find(self, sobject: str, record_id: str | None) -> Record | None:
        """Live or deleted record by id (15 or 18 characters), or None."""
        if record_id is None:
            return None
        try:
            key = ids.to18(record_id)
        except ValueError:
            return None
        return self._tables[self.object(sobject).name].get(key)

    def get(self, sobject: str, record_id: str) -> Record:
        """A live record, or a NOT_FOUND error."""
        rec = self.find(sobject, record_id)
        if rec is None or rec.deleted:
            raise StoreError(404, "NOT_FOUND", "The requested resource does not exist")
        return rec

    def _convert(self, obj: ObjectDef, fields: Mapping[str, Any], system: bool) -> dict[str, Value]:
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
                parent = self.find(str(f.target), str(value))
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

    def _check_required(self, obj: ObjectDef, values: Mapping[str, Value]) -> None:
        missing = [f.name for f in obj.fields if f.required and values.get(f.name) is None]
        if missing:
            raise StoreError(
                400,
                "REQUIRED_FIELD_MISSING",
                f"Required fields are missing: [{', '.join(missing)}]",
                missing,
            )

    def create(self, sobject: str, fields: Mapping[str, Any], *, system: bool = False) -> str:
        """Insert a record; `system` lets callers back-date its timestamps."""
        obj = self.object(sobject)
        given = self._convert(obj, fields, system)
        now = truncate_ms(self.clock.now())
        values: dict[str, Value] = {f.name: None for f in obj.fields}
        values.update(CreatedDate=now, LastModifiedDate=now, SystemModstamp=now, IsDeleted=False)
        values.update(given)
        self._check_required(obj, values)
        _derive(obj, values)
        with self._lock:
            values["Id"] = self.ids.new(obj.name)
            self._tables[obj.name][str(values["Id"])] = Record(obj, values)
        return str(values["Id"])

    def update(
        self, sobject: str, record_id: str, fields: Mapping[str, Any], *, system: bool = False
    ) -> None:
        """Change fields and bump LastModifiedDate and SystemModstamp."""
        obj = self.object(sobject)
        given = self._convert(obj, fields, system)
        with self._lock:
            current = self.get(obj.name, record_id)
            now = truncate_ms(self.clock.now())
            values = dict(current.values)
            values.update(LastModifiedDate=now, SystemModstamp=now)
            values.update(given)
            self._check_required(obj, values)
            _derive(obj, values)
            self._tables[obj.name][current.id] = Record(obj, values)

    def delete(self, sobject: str, record_id: str) -> None:
        """Soft delete: the row stays for queryAll with IsDeleted = true."""
        obj = self.object(sobject)
        with self._lock:
            current = self.get(obj.name, record_id)
            now = truncate_ms(self.clock.now())
            values = dict(current.values)
            values.update(IsDeleted=True, LastModifiedDate=now, SystemModstamp=now)
            self._tables[obj.name][current.id] = Record(obj, values)

    def undelete(self, sobject: str, record_id: str) -> None:
        """Restore a soft-deleted record (same Id), bumping its timestamps as Salesforce does."""
        obj = self.object(sobject)
        with self._lock:
            current = self.find(obj.name, record_id)
            if current is None or not current.deleted:
                raise StoreError(
                    400, "UNDELETE_FAILED", f"entity is not in the recycle bin: {record_id}"
                )
            now = truncate_ms(self.clock.now())
            values = dict(current.values)
            values.update(IsDeleted=False, LastModifiedDate=now, SystemModstamp=now)
            self._tables[obj.name][current.id] = Record(obj, values)

    def bulk_load(self, sobject: str, rows: Iterable[dict[str, Value]]) -> None:
        """Insert already-typed, already-valid rows (seed and load), skipping validation."""
        obj = self.object(sobject)
        with self._lock:
            table = self._tables[obj.name]
            for values in rows:
                _derive(obj, values)
                rec = Record(obj, values)
                table[rec.id] = rec

    def dump(self) -> dict[str, Any]:
        """JSON-ready snapshot of every record and the id counters."""
        with self._lock:
            return {
                "format": "sfsync-sandbox/1",
                "ids": self.ids.state(),
                "objects": {
                    name: [rec.wire for rec in table.values()]
                    for name, table in self._tables.items()
                },
            }

    def restore(self, data: Mapping[str, Any]) -> None:
        """Replace contents with a `dump()` snapshot."""
        self.ids = ids.IdFactory({k: int(v) for k, v in data.get("ids", {}).items()})
        with self._lock:
            for table in self._tables.values():
                table.clear()
        for name, rows in data.get("objects", {}).items():
            obj = self.object(name)
            self.bulk_load(
                obj.name,
                ({f.name: from_wire(f, row.get(f.name)) for f in obj.fields} for row in rows),
            )
