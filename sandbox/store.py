"""In-memory records with Salesforce write semantics: soft delete (an account's with its
opportunities), undelete, merge, the recycle bin and timestamps (`sandbox.writes` checks
each write's fields)."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sfsync.sandbox import ids
from sfsync.sandbox.clock import Clock
from sfsync.sandbox.record import Record
from sfsync.sandbox.schema import OBJECTS, ObjectDef, Objects, lookup
from sfsync.sandbox.values import Value, from_wire, truncate_ms
from sfsync.sandbox.writes import StoreError, check_required, convert, derive, refuse_type

__all__ = ["Store"]

#: Salesforce empties its recycle bin of rows deleted more than about 15 days ago.
RECYCLE_BIN_DAYS = 15.0


class Store:
    """All records of the org, keyed by object then id (insertion ordered)."""

    def __init__(
        self,
        clock: Clock,
        id_state: dict[str, int] | None = None,
        objects: Objects | None = None,
        recycle_bin_days: float | None = RECYCLE_BIN_DAYS,
    ) -> None:
        self.clock = clock
        self.ids = ids.IdFactory(id_state)
        #: The org's object definitions (a single-currency org has its own Opportunity).
        self.objects: Objects = OBJECTS if objects is None else objects
        #: Deleted rows older than this are purged on the next queryAll; None keeps them.
        self.recycle_bin_days = recycle_bin_days
        self._lock = threading.RLock()
        self._tables: dict[str, dict[str, Record]] = {o.name: {} for o in self.objects.values()}
        # Ids in the recycle bin per object, so purging never scans whole tables.
        self._bin: dict[str, set[str]] = {o.name: set() for o in self.objects.values()}
        # Deleted account id -> the opportunities its delete took along (undelete restores).
        self._cascaded: dict[str, list[str]] = {}

    def object(self, sobject: str) -> ObjectDef:
        """The object definition, or a 404-shaped error for an unknown type."""
        obj = lookup(sobject, self.objects)
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

    def _put(self, obj: ObjectDef, values: dict[str, Value]) -> Record:
        """Store a new version of a record (the caller holds the lock)."""
        rec = Record(obj, values)
        self._tables[obj.name][rec.id] = rec
        if rec.deleted:
            self._bin[obj.name].add(rec.id)
        else:
            self._bin[obj.name].discard(rec.id)
        return rec

    def _stamp(self, commit_at: datetime | None = None) -> datetime:
        if commit_at is None:
            return truncate_ms(self.clock.now())
        # Naive instants are UTC, like the clock's `set`; stored values are always aware UTC.
        aware = commit_at.replace(tzinfo=UTC) if commit_at.tzinfo is None else commit_at
        return truncate_ms(aware.astimezone(UTC))

    def create(
        self,
        sobject: str,
        fields: Mapping[str, Any],
        *,
        system: bool = False,
        commit_at: datetime | None = None,
    ) -> str:
        """Insert a record; `system` lets callers back-date its timestamps, and `commit_at`
        stamps all three with one (older) instant, as a late-committing transaction does."""
        obj = self.object(sobject)
        refuse_type(obj, "inserted")
        given = convert(obj, fields, system, self.find)
        now = self._stamp(commit_at)
        values: dict[str, Value] = {f.name: None for f in obj.fields}
        values.update(CreatedDate=now, LastModifiedDate=now, SystemModstamp=now, IsDeleted=False)
        values.update(given)
        check_required(obj, values)
        derive(obj, values)
        with self._lock:
            values["Id"] = self.ids.new(obj.name)
            self._put(obj, values)
        return str(values["Id"])

    def update(
        self,
        sobject: str,
        record_id: str,
        fields: Mapping[str, Any],
        *,
        system: bool = False,
        commit_at: datetime | None = None,
    ) -> None:
        """Change fields and bump LastModifiedDate and SystemModstamp (to `commit_at` for a
        late commit: a transaction whose stamp is older than rows committed before it)."""
        obj = self.object(sobject)
        given = convert(obj, fields, system, self.find)
        with self._lock:
            current = self.get(obj.name, record_id)
            now = self._stamp(commit_at)
            values = dict(current.values)
            values.update(LastModifiedDate=now, SystemModstamp=now)
            values.update(given)
            check_required(obj, values)
            derive(obj, values)
            self._put(obj, values)

    def delete(self, sobject: str, record_id: str) -> None:
        """Soft delete: the row stays for queryAll with IsDeleted = true.

        Deleting an account takes its live opportunities into the recycle bin with it, as
        Salesforce does; undeleting the account brings those back.
        """
        obj = self.object(sobject)
        refuse_type(obj, "deleted")
        with self._lock:
            current = self.get(obj.name, record_id)
            now = self._stamp()
            gone: dict[str, Value] = {"IsDeleted": True, "LastModifiedDate": now}
            gone["SystemModstamp"] = now
            self._put(obj, {**current.values, **gone})
            if obj.name == "Account":
                opportunity = self.object("Opportunity")
                taken = [
                    opp
                    for opp in self._tables[opportunity.name].values()
                    if not opp.deleted and opp.values["AccountId"] == current.id
                ]
                for opp in taken:
                    self._put(opportunity, {**opp.values, **gone})
                self._cascaded[current.id] = [opp.id for opp in taken]

    def undelete(self, sobject: str, record_id: str) -> None:
        """Restore a row from the recycle bin: same Id, IsDeleted false, stamps bumped, and
        for an account the opportunities its delete took along.

        MasterRecordId is cleared, since Salesforce keeps it only on deleted merge losers.
        """
        obj = self.object(sobject)
        with self._lock:
            current = self.find(obj.name, record_id)
            if current is None:
                raise StoreError(404, "NOT_FOUND", "The requested resource does not exist")
            if not current.deleted:
                raise StoreError(400, "UNDELETE_FAILED", "Entity is not in recycle bin", ["Id"])
            now = self._stamp()
            back: dict[str, Value] = {"IsDeleted": False, "LastModifiedDate": now}
            back["SystemModstamp"] = now
            values = {**current.values, **back}
            if "MasterRecordId" in values:
                values["MasterRecordId"] = None
            self._put(obj, values)
            opportunity = self.object("Opportunity")
            for opp_id in self._cascaded.pop(current.id, []):
                opp = self._tables[opportunity.name].get(opp_id)
                if opp is not None and opp.deleted:
                    self._put(opportunity, {**opp.values, **back})

    def merge(
        self,
        sobject: str,
        master_id: str,
        loser_ids: Sequence[str],
        fields: Mapping[str, Any] | None = None,
    ) -> None:
        """Merge one or two accounts into `master_id`, as Salesforce does.

        The losers are deleted with MasterRecordId = the master; their live opportunities
        and child accounts are re-parented to the master; the master takes `fields` (the
        values the merging user chose). Every record touched gets the same new stamp.
        """
        obj = self.object(sobject)
        if obj.name != "Account":
            raise StoreError(
                400, "INVALID_TYPE_FOR_OPERATION", f"the sandbox merges Accounts, not {obj.name}"
            )
        given = convert(obj, fields or {}, False, self.find)
        with self._lock:
            master = self.get(obj.name, master_id)
            losers = [self.get(obj.name, x) for x in loser_ids]
            gone = {rec.id for rec in losers}
            if not 1 <= len(losers) <= 2 or len(gone) != len(losers) or master.id in gone:
                raise StoreError(
                    400,
                    "MERGE_FAILED",
                    "A merge takes a master and one or two other, distinct records",
                )
            now = self._stamp()
            touched = {"LastModifiedDate": now, "SystemModstamp": now}
            opportunity = self.object("Opportunity")
            for opp in list(self._tables[opportunity.name].values()):
                if not opp.deleted and opp.values["AccountId"] in gone:
                    self._put(opportunity, {**opp.values, "AccountId": master.id, **touched})
            for child in list(self._tables[obj.name].values()):
                if child.deleted or child.id in gone or child.values["ParentId"] not in gone:
                    continue
                # The master cannot become its own parent: it leaves the merged hierarchy.
                parent = None if child.id == master.id else master.id
                self._put(obj, {**child.values, "ParentId": parent, **touched})
            for loser in losers:
                merged: dict[str, Value] = {"IsDeleted": True, "MasterRecordId": master.id}
                self._put(obj, {**loser.values, **merged, **touched})
            survivor = dict(self._tables[obj.name][master.id].values)
            survivor.update(given)
            survivor.update(touched)
            check_required(obj, survivor)
            self._put(obj, survivor)

    def purge_deleted(self, older_than: timedelta | None = None) -> int:
        """Empty the recycle bin of rows deleted at least `older_than` ago (all if None);
        the rows vanish from queryAll too. Returns how many were purged."""
        cutoff = None if older_than is None else self.clock.now() - older_than
        purged = 0
        with self._lock:
            for name, binned in self._bin.items():
                table = self._tables[name]
                for key in list(binned):
                    stamp = table[key].values["SystemModstamp"]
                    if cutoff is None or (isinstance(stamp, datetime) and stamp <= cutoff):
                        del table[key]
                        binned.discard(key)
                        self._cascaded.pop(key, None)
                        purged += 1
        return purged

    def purge_expired(self) -> int:
        """Purge what Salesforce's recycle bin would no longer hold."""
        if self.recycle_bin_days is None:
            return 0
        return self.purge_deleted(timedelta(days=self.recycle_bin_days))

    def bulk_load(self, sobject: str, rows: Iterable[dict[str, Value]]) -> None:
        """Insert already-typed, already-valid rows (seed and load), skipping validation."""
        obj = self.object(sobject)
        names = obj.names
        with self._lock:
            table, binned = self._tables[obj.name], self._bin[obj.name]
            for values in rows:
                if len(values) < len(names):
                    # Rows written before a field existed read it as null, as in Salesforce.
                    for name in names:
                        values.setdefault(name, None)
                # Objects without the field (Organization) are never deleted.
                values.setdefault("IsDeleted", False)
                derive(obj, values)
                rec = Record(obj, values)
                table[rec.id] = rec
                if values["IsDeleted"]:
                    binned.add(rec.id)

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
            for binned in self._bin.values():
                binned.clear()
            self._cascaded.clear()
        for name, rows in data.get("objects", {}).items():
            obj = self.object(name)
            self.bulk_load(
                obj.name,
                ({f.name: from_wire(f, row.get(f.name)) for f in obj.fields} for row in rows),
            )
