"""Account merges do what Salesforce does: losers deleted with MasterRecordId, children moved."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from simple_salesforce.api import Salesforce
from simple_salesforce.format import format_soql

from sfsync.sandbox import SandboxOrg, StoreError
from sfsync.sandbox.control import Steering
from tests.sandbox.conftest import ControlError

ACCOUNT_FIELDS = "Id, Name, ParentId, IsDeleted, MasterRecordId, SystemModstamp"


@dataclass
class Family:
    """A master and two losers, the losers with child accounts and opportunities."""

    master: str
    losers: list[str]
    children: list[str]
    opportunities: list[str]
    bystander_opportunity: str


def _family(steer: Steering) -> Family:
    master = steer.create("Account", {"Name": "Initech"})
    losers = [steer.create("Account", {"Name": f"Initech dup {i}"}) for i in range(2)]
    children = [
        steer.create("Account", {"Name": f"Initech {region}", "ParentId": loser})
        for region, loser in zip(("EU", "US"), losers, strict=True)
    ]
    opportunities = [
        steer.create(
            "Opportunity",
            {"Name": f"Deal {i}", "AccountId": loser, "StageName": "Closed Won"}
            | {"CloseDate": "2026-01-01"},
        )
        for i, loser in enumerate(losers + losers[:1])
    ]
    bystander = steer.create(
        "Opportunity",
        {"Name": "Elsewhere", "AccountId": master, "StageName": "Proposal"}
        | {"CloseDate": "2026-01-01"},
    )
    return Family(master, losers, children, opportunities, bystander)


def _accounts(sf: Salesforce, ids: list[str], include_deleted: bool) -> dict[str, Any]:
    soql = format_soql(f"SELECT {ACCOUNT_FIELDS} FROM Account WHERE Id IN {{}}", ids)
    return {r["Id"]: r for r in sf.query_all_iter(soql, include_deleted=include_deleted)}


def _opportunities(sf: Salesforce, ids: list[str]) -> dict[str, Any]:
    soql = format_soql("SELECT Id, AccountId, SystemModstamp FROM Opportunity WHERE Id IN {}", ids)
    return {r["Id"]: r for r in sf.query_all_iter(soql)}


def test_merge_deletes_losers_and_moves_their_children_to_the_master(
    org: SandboxOrg, sf: Salesforce, steer: Steering
):
    """Losers: IsDeleted, MasterRecordId = master; their opportunities and child accounts move,
    with the master, to one newer stamp; records the merge did not touch keep theirs."""
    fam = _family(steer)
    everyone = [fam.master, *fam.losers, *fam.children]
    before = _accounts(sf, everyone, include_deleted=False)
    opps_before = _opportunities(sf, [*fam.opportunities, fam.bystander_opportunity])
    org.clock.advance(10)
    steer.merge(fam.master, fam.losers)

    live = _accounts(sf, everyone, include_deleted=False)
    assert set(live) == {fam.master, *fam.children}
    every = _accounts(sf, everyone, include_deleted=True)
    for loser in fam.losers:
        assert every[loser]["IsDeleted"] is True
        assert every[loser]["MasterRecordId"] == fam.master
        assert every[loser]["SystemModstamp"] > before[loser]["SystemModstamp"]
    assert live[fam.master]["MasterRecordId"] is None
    assert live[fam.master]["SystemModstamp"] > before[fam.master]["SystemModstamp"]
    for child in fam.children:
        assert live[child]["ParentId"] == fam.master
        assert live[child]["SystemModstamp"] > before[child]["SystemModstamp"]

    opps = _opportunities(sf, [*fam.opportunities, fam.bystander_opportunity])
    for opp in fam.opportunities:
        assert opps[opp]["AccountId"] == fam.master
        assert opps[opp]["SystemModstamp"] > opps_before[opp]["SystemModstamp"]
    bystander = fam.bystander_opportunity
    assert opps[bystander]["SystemModstamp"] == opps_before[bystander]["SystemModstamp"]


def test_master_record_id_is_filterable_through_query_all(
    org: SandboxOrg, sf: Salesforce, steer: Steering
):
    """`MasterRecordId != null` in queryAll finds exactly the merge losers; plain deletes do not."""
    fam = _family(steer)
    steer.delete("Account", fam.children[0])
    steer.merge(fam.master, fam.losers[:1])
    soql = "SELECT Id, MasterRecord.Name FROM Account WHERE MasterRecordId != null"
    rows = list(sf.query_all_iter(soql, include_deleted=True))
    assert [r["Id"] for r in rows] == fam.losers[:1]
    assert rows[0]["MasterRecord"]["Name"] == "Initech"
    assert list(sf.query_all_iter(soql)) == []


def test_merge_applies_the_chosen_field_values_to_the_master(
    org: SandboxOrg, sf: Salesforce, steer: Steering
):
    """The values the merging user picks (here the loser's name) land on the master."""
    fam = _family(steer)
    steer.merge(fam.master, fam.losers[:1], {"Name": "Initech dup 0"})
    assert org.get("Account", fam.master)["Name"] == "Initech dup 0"


def test_a_master_under_its_loser_leaves_the_merged_hierarchy(org: SandboxOrg, steer: Steering):
    """A master whose parent was the loser does not become its own parent: ParentId is null."""
    loser = steer.create("Account", {"Name": "Parent Co"})
    master = steer.create("Account", {"Name": "Child Co", "ParentId": loser})
    steer.merge(master, [loser])
    assert org.get("Account", master)["ParentId"] is None


@pytest.mark.parametrize("shape", ["itself", "three", "deleted"])
def test_impossible_merges_are_refused_and_change_nothing(
    org: SandboxOrg, steer: Steering, shape: str
):
    """Merging into itself, more than two losers, or a deleted loser fails; nothing moves."""
    fam = _family(steer)
    if shape == "deleted":
        steer.delete("Account", fam.children[0])
    losers = {
        "itself": [fam.master],
        "three": [*fam.losers, fam.children[0]],
        "deleted": [fam.children[0]],
    }[shape]
    before = org.store.dump()["objects"]
    with pytest.raises((ControlError, StoreError)) as exc:
        steer.merge(fam.master, losers)
    assert getattr(exc.value, "code", None) == (
        "NOT_FOUND" if shape == "deleted" else "MERGE_FAILED"
    )
    assert org.store.dump()["objects"] == before


def test_undeleting_a_merge_loser_clears_master_record_id(
    org: SandboxOrg, sf: Salesforce, steer: Steering
):
    """MasterRecordId is set only while the loser is deleted; its moved children stay moved."""
    fam = _family(steer)
    steer.merge(fam.master, fam.losers[:1])
    steer.undelete("Account", fam.losers[0])
    back = _accounts(sf, [fam.losers[0], fam.children[0]], include_deleted=False)
    assert back[fam.losers[0]]["MasterRecordId"] is None
    assert back[fam.children[0]]["ParentId"] == fam.master
