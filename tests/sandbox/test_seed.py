"""Seed determinism, save/load round trips, and id checksums."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sfsync.sandbox import SandboxOrg
from sfsync.sandbox.ids import checksum, is_valid, to18


def _snapshot(org: SandboxOrg) -> Any:
    return org.store.dump()["objects"]


def test_same_seed_gives_the_same_org():
    """Two orgs from one seed hold identical records; another seed differs."""
    a = _snapshot(SandboxOrg(seed=5, opportunities=300))
    assert a == _snapshot(SandboxOrg(seed=5, opportunities=300))
    assert a != _snapshot(SandboxOrg(seed=6, opportunities=300))


def test_seed_shape():
    """Accounts default to opportunities/5 (min 10), with children, aliases and varied stages."""
    org = SandboxOrg(seed=7, opportunities=2000)
    accounts = org.store.rows("Account")
    opps = org.store.rows("Opportunity")
    assert len(accounts) == 400 and len(opps) == 2000
    children = [a for a in accounts if a.values["ParentId"]]
    assert children and all(str(c.values["Ingest_Alias__c"]).count("-") >= 2 for c in children)
    stages = {o.values["StageName"] for o in opps}
    assert {"Closed Won", "Signed", "Closed Lost", "Prospecting"} <= stages
    assert {o.values["CurrencyIsoCode"] for o in opps} == {"USD", "EUR", "GBP", "JPY"}
    assert any(o.values["Contract_Term_Months__c"] for o in opps)
    assert all(is_valid(r.id) for r in accounts + opps)
    assert len(SandboxOrg(opportunities=5).store.rows("Account")) == 10


def test_save_and_load_round_trip(tmp_path: Path):
    """save() then load= reproduces every record, deletes and later ids included."""
    org = SandboxOrg(seed=9, opportunities=100)
    victim = org.store.rows("Opportunity")[0].id
    org.delete("Opportunity", victim)
    path = tmp_path / "org.json"
    org.save(path)
    loaded = SandboxOrg(load=path)
    assert _snapshot(loaded) == _snapshot(org)
    assert loaded.store.find("Opportunity", victim).deleted  # type: ignore[union-attr]
    assert loaded.create("Account", {"Name": "New"}) == org.create("Account", {"Name": "New"})


def test_ids_have_correct_checksums():
    """The 18-character suffix follows Salesforce's case-checksum algorithm."""
    assert checksum("001A0000006Vm9r") == "IAC"
    assert to18("001A0000006Vm9r") == "001A0000006Vm9rIAC"
    assert not is_valid("001A0000006Vm9rAAA")
