"""`sync run --dry-run`: the plan a real run then applies, with nothing written meanwhile.

The org is changed in every way the plan reports (a new enterprise, an edited amount, an
un-won deal, a deal moved between accounts, a renamed account, an acquired enterprise, a
new and a detached sub-organisation, a deal without an account); the truth is what the real
run that follows writes to the store, read here with plain SQL.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import func, select, text

from sfsync.config import Settings
from sfsync.models import Store
from sfsync.models.tables import (
    AliasMove,
    Base,
    ContractRevision,
    Customer,
    CustomFieldValue,
    DeadLetter,
    IngestAlias,
)
from sfsync.models.types import Entity, Stream
from sfsync.sandbox import SandboxOrg
from sfsync.sync.dry_run import dry_run
from sfsync.sync.salesforce import SalesforceClient
from sfsync.sync.streams.accounts import poll_accounts
from sfsync.sync.streams.opportunities import poll_opportunities

#: The streams in the order `sync run` runs them, as polls and as names.
STREAMS = [poll_opportunities, poll_accounts]
STREAM_NAMES = [Stream.OPPORTUNITIES, Stream.ACCOUNTS]


@pytest.fixture
def sandbox_org() -> Iterator[SandboxOrg]:
    """A small org of its own per test, in small pages: a run spans several pages (several
    savepoints); the scenario's aliases would collide with another test's in a shared org."""
    with SandboxOrg(seed=11, accounts=8, opportunities=25, port=0, page_size=6) as org:
        yield org


def won(org: SandboxOrg, account: str | None, name: str, amount: float = 1000.0) -> str:
    values: dict[str, Any] = {
        "Name": name,
        "StageName": "Closed Won",
        "CloseDate": "2026-11-02",
        "Amount": amount,
        "CurrencyIsoCode": "USD",
    }
    if account is not None:
        values["AccountId"] = account
    return org.create("Opportunity", values)


def dump(store: Store) -> str:
    """Every row of every table (and the schema revision), in key order, as text."""
    out: dict[str, Any] = {}
    with store.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            order = list(table.primary_key.columns) or list(table.columns)
            rows = conn.execute(select(table).order_by(*order)).all()
            out[table.name] = [[repr(v) for v in row] for row in rows]
        out["alembic_version"] = conn.execute(text("SELECT * FROM alembic_version")).all()
    return json.dumps(out, default=repr, sort_keys=True)


def accounts_of(store: Store) -> dict[uuid.UUID, str]:
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(CustomFieldValue.entity_id, CustomFieldValue.value).where(
                CustomFieldValue.entity == Entity.CUSTOMER,
                CustomFieldValue.key == "sfdc_account_id",
            )
        )
        return dict(rows.tuples().all())


def deals_of(store: Store) -> dict[uuid.UUID, str]:
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(CustomFieldValue.entity_id, CustomFieldValue.value).where(
                CustomFieldValue.entity == Entity.CONTRACT,
                CustomFieldValue.key == "sfdc_opportunity_id",
            )
        )
        return dict(rows.tuples().all())


def state(store: Store) -> dict[str, Any]:
    """What the test compares a real run's writes against: marks, customers and aliases."""
    with store.engine.connect() as conn:
        last = {
            t.__tablename__: conn.scalar(select(func.coalesce(func.max(t.id), 0)))
            for t in (ContractRevision, AliasMove, DeadLetter)
        }
        customers = {r.id: r.name for r in conn.execute(select(Customer.id, Customer.name))}
        aliases = dict(
            conn.execute(select(IngestAlias.alias, IngestAlias.customer_id)).tuples().all()
        )
    return {"last": last, "customers": customers, "aliases": aliases}


def written(store: Store, before: dict[str, Any]) -> dict[str, Any]:
    """What a real run wrote since `before`, customers named by their Salesforce account."""
    accounts, deals = accounts_of(store), deals_of(store)

    def terms(t: dict[str, Any] | None) -> dict[str, Any] | None:
        if t is None:
            return None
        return {**t, "customer_id": accounts[uuid.UUID(t["customer_id"])]}

    after = state(store)
    with store.engine.connect() as conn:
        revisions = conn.execute(
            select(ContractRevision).where(
                ContractRevision.id > before["last"]["contract_revisions"]
            )
        ).all()
        letters = conn.execute(
            select(DeadLetter).where(DeadLetter.id > before["last"]["dead_letters"])
        ).all()
    old, new = before["aliases"], after["aliases"]
    return {
        "contracts": sorted(
            (deals[r.contract_id], str(r.kind), terms(r.before), terms(r.after)) for r in revisions
        ),
        "aliases": sorted(
            (
                a,
                accounts[old[a]] if a in old else None,
                accounts[new[a]] if a in new else None,
            )
            for a in set(old) | set(new)
            if old.get(a) != new.get(a)
        ),
        "created": sorted(accounts[c] for c in after["customers"] if c not in before["customers"]),
        "renamed": sorted(
            (accounts[c], name)
            for c, name in after["customers"].items()
            if c in before["customers"] and before["customers"][c] != name
        ),
        "letters": sorted((str(r.source), r.reference, r.error_class) for r in letters),
    }


def planned(doc: dict[str, Any]) -> dict[str, Any]:
    """The same facts from the dry run's `--json` document."""
    accounts = {
        who["id"]: who["sfdc_account_id"]
        for group in ("customers", "aliases", "contracts")
        for change in doc[group]
        for who in (change.get("customer"), change.get("from"), change.get("to"))
        if who
    }

    def terms(t: dict[str, Any] | None) -> dict[str, Any] | None:
        return None if t is None else {**t, "customer_id": accounts[t["customer_id"]]}

    def account(who: dict[str, Any] | None) -> str | None:
        return who["sfdc_account_id"] if who else None

    return {
        "contracts": sorted(
            (c["opportunity_id"], c["revision_kind"], terms(c["before"]), terms(c["after"]))
            for c in doc["contracts"]
        ),
        "aliases": sorted(
            (a["alias"], account(a["from"]), account(a["to"])) for a in doc["aliases"]
        ),
        "created": sorted(
            c["customer"]["sfdc_account_id"] for c in doc["customers"] if c["action"] == "create"
        ),
        "renamed": sorted(
            (c["customer"]["sfdc_account_id"], c["customer"]["name"])
            for c in doc["customers"]
            if c["action"] == "rename"
        ),
        "letters": sorted(
            (d["source"], d["reference"], d["error_class"])
            for d in doc["dead_letters"]
            if d["action"] == "new"
        ),
    }


@pytest.fixture
def changed_org(
    org: SandboxOrg,
    store: Store,
    sf_settings: Settings,
    make_client: Callable[[Settings], SalesforceClient],
) -> SandboxOrg:
    """The org synced once, then changed in every way a plan can show."""
    acme = org.create("Account", {"Name": "Acme", "Ingest_Alias__c": "acme-main"})
    globex = org.create("Account", {"Name": "Globex", "Ingest_Alias__c": "globex-main"})
    initech = org.create("Account", {"Name": "Initech", "Ingest_Alias__c": "initech-main"})
    child = org.create(
        "Account", {"Name": "Acme EU", "ParentId": acme, "Ingest_Alias__c": "acme-eu"}
    )
    edited = won(org, acme, "Acme - New", 1000.0)
    unwon = won(org, globex, "Globex - New", 2000.0)
    moved = won(org, acme, "Acme - Expansion", 3000.0)
    won(org, initech, "Initech - New", 4000.0)
    client = make_client(sf_settings)
    for poll in STREAMS:
        poll(store, client, sf_settings)

    org.update("Opportunity", edited, {"Amount": 1500.0})
    org.update("Opportunity", unwon, {"StageName": "Closed Lost"})
    org.update("Opportunity", moved, {"AccountId": initech})
    org.update("Account", globex, {"Name": "Globex Corporation"})
    org.update("Account", child, {"ParentId": None})  # detached: its own customer or none
    org.create("Account", {"Name": "Initech UK", "ParentId": initech, "Ingest_Alias__c": "ini-uk"})
    hooli = org.create("Account", {"Name": "Hooli", "Ingest_Alias__c": "hooli-main"})
    won(org, hooli, "Hooli - New", 5000.0)
    won(org, None, "Orphan deal", 100.0)
    return org


def test_dry_run_plan_is_what_the_real_run_then_writes(
    changed_org: SandboxOrg,
    store: Store,
    sf_settings: Settings,
    make_client: Callable[[Settings], SalesforceClient],
) -> None:
    """A dry run's customers, aliases, contract revisions and letters are the real run's."""
    before = dump(store)
    plan = dry_run(store, make_client(sf_settings), sf_settings, STREAM_NAMES)
    assert dump(store) == before, "the dry run left a trace in the store"
    doc = json.loads(json.dumps(plan.document(), default=str))
    assert not plan.failed, doc["runs"]

    marks = state(store)
    client = make_client(sf_settings)
    results = [poll(store, client, sf_settings) for poll in STREAMS]
    truth = written(store, marks)

    assert planned(doc) == truth
    # Every kind of change is in this scenario, so the comparison is not of empty lists.
    kinds = {c["action"] for c in doc["contracts"]}
    assert {"create", "edit", "move"} <= kinds and kinds & {"end", "archive"}
    assert truth["created"] and truth["renamed"] and truth["aliases"] and truth["letters"]
    assert [r["api_calls"] for r in doc["runs"]] == [r.counters.api_calls for r in results]


def test_dry_run_writes_nothing_to_salesforce_and_leaves_runs_and_cursors(
    changed_org: SandboxOrg,
    store: Store,
    sf_settings: Settings,
    make_client: Callable[[Settings], SalesforceClient],
) -> None:
    """The store (runs, cursors, outbox included) is unchanged and the org saw no write."""
    settings = sf_settings.model_copy(update={"sf_writeback_field": "Billing_Customer_Id__c"})
    before = dump(store)
    changed_org.reset_counters()
    plan = dry_run(store, make_client(settings), settings, STREAM_NAMES)
    assert dump(store) == before
    calls = changed_org.counters()["calls"]
    assert set(calls) <= {"token", "query", "query_more", "limits", "versions", "describe"}, calls
    assert plan.document()["writebacks"], "the new customers' writebacks are planned"
