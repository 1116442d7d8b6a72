"""Deletes, undeletes and the recycle bin, seen through queryAll with the real simple-salesforce."""

from __future__ import annotations

from typing import Any

import pytest
from simple_salesforce.api import Salesforce
from simple_salesforce.format import format_soql

from sfsync.sandbox import SandboxOrg, StoreError
from sfsync.sandbox.control import Steering
from tests.sandbox.conftest import ControlError, HttpControl, sobject

DELETED = "SELECT Id, IsDeleted, SystemModstamp FROM Opportunity WHERE IsDeleted = true ORDER BY Id"


def _opportunity_ids(org: SandboxOrg, n: int) -> list[str]:
    return [r.id for r in org.store.rows("Opportunity") if not r.deleted][:n]


def _one(sf: Salesforce, record_id: str, include_deleted: bool) -> dict[str, Any] | None:
    soql = format_soql(
        "SELECT Id, IsDeleted, SystemModstamp, LastModifiedDate FROM Opportunity WHERE Id = {}",
        record_id,
    )
    records = sf.query(soql, include_deleted=include_deleted)["records"]
    return records[0] if records else None


def test_query_all_iter_with_include_deleted_pages_through_the_recycle_bin(
    org: SandboxOrg, sf: Salesforce
):
    """query_all_iter(include_deleted=True) follows queryAll nextRecordsUrl to every deleted row."""
    victims = _opportunity_ids(org, 15)
    for victim in victims:
        sobject(sf, "Opportunity").delete(victim)
    first = sf.query(DELETED, include_deleted=True)
    assert "/queryAll/" in first["nextRecordsUrl"]
    org.reset_counters()
    rows = list(sf.query_all_iter(DELETED, include_deleted=True))
    assert [r["Id"] for r in rows] == sorted(victims)
    assert all(r["IsDeleted"] is True for r in rows)
    assert org.counters()["calls"] == {"query": 1, "query_more": 1}
    assert list(sf.query_all_iter(DELETED)) == []


def test_is_deleted_filters_and_selects_in_query_all(org: SandboxOrg, sf: Salesforce):
    """queryAll splits on IsDeleted = false / true; query alone never returns a deleted row."""
    victim = _opportunity_ids(org, 1)[0]
    sobject(sf, "Opportunity").delete(victim)
    live_truth = sorted(r.id for r in org.store.rows("Opportunity") if not r.values["IsDeleted"])
    live = "SELECT Id, IsDeleted FROM Opportunity WHERE IsDeleted = false ORDER BY Id"
    everything = "SELECT Id, IsDeleted FROM Opportunity ORDER BY Id"
    assert [r["Id"] for r in sf.query_all_iter(live, include_deleted=True)] == live_truth
    assert [r["Id"] for r in sf.query_all_iter(everything)] == live_truth
    both = {r["Id"]: r["IsDeleted"] for r in sf.query_all_iter(everything, include_deleted=True)}
    assert both[victim] is True and len(both) == len(live_truth) + 1


def test_undelete_restores_the_same_row_with_a_newer_stamp(
    org: SandboxOrg, sf: Salesforce, steer: Steering
):
    """Undelete brings the same Id back to query with IsDeleted false and SystemModstamp bumped."""
    victim = _opportunity_ids(org, 1)[0]
    org.clock.advance(5)
    steer.delete("Opportunity", victim)
    deleted = _one(sf, victim, include_deleted=True)
    assert deleted is not None and deleted["IsDeleted"] is True
    assert _one(sf, victim, include_deleted=False) is None
    org.clock.advance(5)
    steer.undelete("Opportunity", victim)
    restored = _one(sf, victim, include_deleted=False)
    assert restored is not None
    assert restored["IsDeleted"] is False
    assert restored["SystemModstamp"] > deleted["SystemModstamp"]
    assert restored["LastModifiedDate"] == restored["SystemModstamp"]
    assert sobject(sf, "Opportunity").get(victim)["Id"] == victim


def test_undelete_of_a_live_record_is_refused(org: SandboxOrg):
    """A record that is not in the recycle bin cannot be undeleted: UNDELETE_FAILED."""
    live = _opportunity_ids(org, 1)[0]
    with pytest.raises(ControlError) as exc:
        HttpControl(org).undelete("Opportunity", live)
    assert (exc.value.status, exc.value.code) == (400, "UNDELETE_FAILED")


def test_purge_removes_only_rows_deleted_long_enough_ago(
    org: SandboxOrg, sf: Salesforce, steer: Steering
):
    """Purging 'older than 2 days' keeps a fresh delete; purging everything empties the bin."""
    old, fresh = _opportunity_ids(org, 2)
    steer.delete("Opportunity", old)
    org.clock.advance(3 * 86_400)
    steer.delete("Opportunity", fresh)
    assert steer.purge_recycle_bin(older_than_days=2) == 1
    assert [r["Id"] for r in sf.query_all_iter(DELETED, include_deleted=True)] == [fresh]
    assert steer.purge_recycle_bin() == 1
    assert list(sf.query_all_iter(DELETED, include_deleted=True)) == []
    with pytest.raises((ControlError, StoreError)) as gone:
        steer.undelete("Opportunity", fresh)
    assert getattr(gone.value, "code", None) == "NOT_FOUND"


def test_the_recycle_bin_forgets_deletes_after_15_days(org: SandboxOrg, sf: Salesforce):
    """As in Salesforce, queryAll still shows a delete after 14 days and no longer after 16."""
    victim = _opportunity_ids(org, 1)[0]
    sobject(sf, "Opportunity").delete(victim)
    org.clock.advance(14 * 86_400)
    assert _one(sf, victim, include_deleted=True) is not None
    org.clock.advance(2 * 86_400)
    assert _one(sf, victim, include_deleted=True) is None


def test_an_opportunity_can_leave_closed_won(org: SandboxOrg, sf: Salesforce):
    """Leaving Closed Won turns IsWon false and bumps SystemModstamp; the deal can win again."""
    won = next(r.id for r in org.store.rows("Opportunity") if r.values["StageName"] == "Closed Won")
    handle = sobject(sf, "Opportunity")
    before = handle.get(won)
    assert before["IsWon"] is True
    org.clock.advance(5)
    handle.update(won, {"StageName": "Negotiation"})
    after = handle.get(won)
    assert (after["IsWon"], after["IsClosed"]) == (False, False)
    assert after["SystemModstamp"] > before["SystemModstamp"]
    soql = format_soql("SELECT Id FROM Opportunity WHERE IsWon = true AND Id = {}", won)
    assert sf.query(soql)["totalSize"] == 0
    handle.update(won, {"StageName": "Signed"})
    assert sf.query(soql)["totalSize"] == 1


def test_deleting_an_account_takes_its_opportunities_and_undelete_brings_them_back(
    org: SandboxOrg, sf: Salesforce, steer: Steering
):
    """As in Salesforce: an account's live opportunities go to the recycle bin with it (won
    ones too) and return with it; one deleted earlier on its own stays deleted."""
    account = steer.create("Account", {"Name": "Doomed Inc"})
    deals = [
        steer.create(
            "Opportunity",
            {"Name": f"Deal {i}", "AccountId": account, "StageName": stage}
            | {"CloseDate": "2026-01-01"},
        )
        for i, stage in enumerate(("Closed Won", "Proposal", "Closed Won"))
    ]
    steer.delete("Opportunity", deals[2])
    org.clock.advance(5)
    steer.delete("Account", account)
    gone = {d: _one(sf, d, include_deleted=True) for d in deals}
    assert all(row is not None and row["IsDeleted"] for row in gone.values())
    assert all(_one(sf, d, include_deleted=False) is None for d in deals)
    org.clock.advance(5)
    steer.undelete("Account", account)
    back = {d: _one(sf, d, include_deleted=False) for d in deals[:2]}
    for deal, row in back.items():
        before = gone[deal]
        assert row is not None and before is not None
        assert row["SystemModstamp"] > before["SystemModstamp"]
    assert _one(sf, deals[2], include_deleted=False) is None
