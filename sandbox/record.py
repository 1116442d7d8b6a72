"""One immutable version of a record, with its wire (JSON) form computed once."""

from __future__ import annotations

from typing import Any

from sfsync.sandbox.schema import ObjectDef
from sfsync.sandbox.values import Value, format_datetime

API_VERSION = "59.0"


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
