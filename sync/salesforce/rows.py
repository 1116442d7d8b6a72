"""Salesforce records parsed once, where they enter: typed frozen rows.

A REST record is a dict whose ids may be 15 or 18 characters and whose SystemModstamp is
text; each row reads those once (`OpportunityRow.of`, `AccountRow.of`) so the rest of
`sync/` asks `row.id` and `row.modstamp` instead of re-reading and re-parsing the dict.
The raw record travels with the row for what reads the rest of it (the mapping, the
dead letters' payloads). A value Salesforce sent malformed is None in the row: the row
never refuses a record, the stream decides what a missing id or stamp means.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from sfsync.sync.salesforce.ids import valid_id
from sfsync.sync.salesforce.records import record_value

__all__ = ["AccountRow", "OpportunityRow", "Row", "parse_modstamp"]


def parse_modstamp(value: object) -> datetime | None:
    """A Salesforce datetime (``2026-11-02T14:05:09.000+0000``) as aware UTC, else None."""
    if not isinstance(value, str) or "T" not in value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.utcoffset() is not None else None


class Row(Protocol):
    """What every row offers the runner: its id, its version, and the record it came from."""

    @property
    def id(self) -> str | None: ...

    @property
    def modstamp(self) -> datetime | None: ...

    @property
    def record(self) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class OpportunityRow:
    """An Opportunity as the stream reads it."""

    id: str | None
    #: The Id as Salesforce sent it, malformed or not: a dead letter's reference.
    reference: str | None
    #: The account it is on (AccountId), None when absent or malformed.
    account: str | None
    #: The account's parent (Account.ParentId), when the query selected it.
    parent: str | None
    modstamp: datetime | None
    won: bool
    deleted: bool
    record: Mapping[str, Any]

    @classmethod
    def of(cls, record: Mapping[str, Any]) -> OpportunityRow:
        raw = record.get("Id")
        return cls(
            id=valid_id(raw),
            reference=str(raw) if raw else None,
            account=valid_id(record.get("AccountId")),
            parent=valid_id(record_value(record, "Account.ParentId")),
            modstamp=parse_modstamp(record.get("SystemModstamp")),
            won=record.get("IsWon") is True,
            deleted=bool(record.get("IsDeleted")),
            record=record,
        )


@dataclass(frozen=True)
class AccountRow:
    """An Account as the account stream reads it."""

    id: str | None
    #: The Id as Salesforce sent it, malformed or not: a dead letter's reference.
    reference: str | None
    #: Its parent (ParentId): the account above it in its hierarchy.
    account: str | None
    #: The account it was merged into (MasterRecordId), for a merged-away one.
    master: str | None
    modstamp: datetime | None
    deleted: bool
    record: Mapping[str, Any]

    @classmethod
    def of(cls, record: Mapping[str, Any]) -> AccountRow:
        raw = record.get("Id")
        return cls(
            id=valid_id(raw),
            reference=str(raw) if raw else None,
            account=valid_id(record.get("ParentId")),
            master=valid_id(record.get("MasterRecordId")),
            modstamp=parse_modstamp(record.get("SystemModstamp")),
            deleted=bool(record.get("IsDeleted")),
            record=record,
        )
