"""Salesforce records parsed once into typed rows: ids in 18 characters, stamps in UTC."""

from __future__ import annotations

from datetime import UTC, datetime

from sfsync.sync.salesforce import AccountRow, OpportunityRow, parse_modstamp

OPP15 = "0065g000000000Q"
OPP18 = "0065g000000000QAAQ"


def test_an_opportunity_row_reads_its_ids_stamp_and_state_once() -> None:
    """Ids come back in their 18-character form; the stamp is aware UTC; the record is kept."""
    record = {
        "Id": OPP15,
        "AccountId": None,
        "Account": {"ParentId": None},
        "SystemModstamp": "2026-11-02T14:05:09.000+0100",
        "IsWon": True,
        "IsDeleted": False,
    }
    row = OpportunityRow.of(record)
    assert (row.id, row.account, row.parent) == (OPP18, None, None)
    assert row.modstamp == datetime(2026, 11, 2, 13, 5, 9, tzinfo=UTC)
    assert (row.won, row.deleted, row.record) == (True, False, record)


def test_malformed_values_are_none_and_never_refuse_the_record() -> None:
    """A bad Id or stamp reads as None; a truthy non-boolean IsWon is not a win."""
    row = OpportunityRow.of({"Id": "nope", "SystemModstamp": "yesterday", "IsWon": "true"})
    assert (row.id, row.modstamp, row.won) == (None, None, False)
    assert [parse_modstamp(v) for v in (None, 5, "2026-11-02", "2026-11-02T14:05:09")] == [
        None,
        None,
        None,
        None,
    ]


def test_an_account_row_reads_its_parent_and_master() -> None:
    """A merged-away account's row names its master; a deleted flag is a boolean."""
    row = AccountRow.of(
        {"Id": "001000000000001", "ParentId": "", "MasterRecordId": "001000000000002AAA"}
    )
    assert row.id is not None and len(row.id) == 18
    assert (row.account, row.master, row.deleted) == (None, "001000000000002AAA", False)


def test_a_row_keeps_the_id_as_sent_for_its_dead_letter() -> None:
    """A dead letter names the record as Salesforce sent it, even an Id that is no id."""
    assert OpportunityRow.of({"Id": OPP15}).reference == OPP15
    assert OpportunityRow.of({"Id": "nope"}).reference == "nope"
    assert AccountRow.of({"Id": "nope"}).reference == "nope"
    assert AccountRow.of({"Id": ""}).reference is None
