"""Deals that change after the close reach their contracts through the incremental stream.

Un-won, deleted and undeleted opportunities in the sandbox org over HTTP with the real
simple-salesforce, both stores. Expectations come from the org's own records (their
SystemModstamp, CloseDate, IsWon), and the API budget from the sandbox's counters.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from sfsync.config import Settings
from sfsync.models import Entity, Store
from sfsync.models.contracts.revisions import history
from sfsync.models.customers.fields import SFDC_ACCOUNT_ID, find_by_field
from sfsync.models.types import ContractStatus, RevisionKind
from sfsync.sandbox import SandboxOrg
from sfsync.sync.salesforce import SalesforceClient
from tests.integration.helpers import contract_of, poll, query_pages, won_ids

PAGE_SIZE = 200


@pytest.fixture
def sandbox_org() -> Iterator[SandboxOrg]:
    """A fresh org per test: ~350 won deals of 1,000 in pages of 200."""
    with SandboxOrg(seed=11, opportunities=1000, page_size=PAGE_SIZE) as org:
        yield org


def org_record(org: SandboxOrg, opportunity: str) -> dict[str, Any]:
    """The opportunity as the org holds it, deleted or not (the test's truth)."""
    record = org.store.find("Opportunity", opportunity)
    assert record is not None
    return dict(record.values)


def kinds(store: Store, opportunity: str) -> list[RevisionKind]:
    with store.session() as s:
        return [r.kind for r in history(s, contract_of(store, opportunity).id)]


def account_pages(org: SandboxOrg) -> int:
    """Account query pages served since the last counter reset (hierarchy look-ups)."""
    return sum(n for q, n in org.counters()["queries"].items() if "FROM Account" in q)


def test_a_deal_moved_out_of_closed_won_ends_its_started_contract_at_the_change(
    org: SandboxOrg, store: Store, client: SalesforceClient, sf_settings: Settings
) -> None:
    """IsWon false after the start: `ended`, ending_before = the record's SystemModstamp."""
    poll(store, client, sf_settings)
    deal = won_ids(org, started_before=org.clock.now())[0]
    org.clock.advance(30)
    org.update("Opportunity", deal, {"StageName": "Negotiation"})
    changed_at = org_record(org, deal)["SystemModstamp"]

    result = poll(store, client, sf_settings)

    contract = contract_of(store, deal)
    assert (contract.status, contract.ending_before) == (ContractStatus.ENDED, changed_at)
    assert result.counters.contracts_ended == 1
    assert kinds(store, deal) == [RevisionKind.CREATED, RevisionKind.ENDED]


def test_a_deleted_deal_ends_and_an_undeleted_one_is_active_again_with_its_terms(
    org: SandboxOrg, store: Store, client: SalesforceClient, sf_settings: Settings
) -> None:
    """queryAll's IsDeleted ends the contract; undelete restores the deal's own period."""
    poll(store, client, sf_settings)
    deal = won_ids(org, started_before=org.clock.now())[0]
    term_end = contract_of(store, deal).ending_before
    org.clock.advance(30)
    org.delete("Opportunity", deal)
    deleted_at = org_record(org, deal)["SystemModstamp"]
    poll(store, client, sf_settings)
    ended = contract_of(store, deal)
    assert (ended.status, ended.ending_before) == (ContractStatus.ENDED, deleted_at)

    org.clock.advance(30)
    org.undelete("Opportunity", deal)
    poll(store, client, sf_settings)

    restored = contract_of(store, deal)
    assert (restored.status, restored.ending_before) == (ContractStatus.ACTIVE, term_end)
    assert kinds(store, deal) == [
        RevisionKind.CREATED,
        RevisionKind.ENDED,
        RevisionKind.REACTIVATED,
    ]


def test_a_deal_lost_before_its_contract_starts_archives_it(
    org: SandboxOrg, store: Store, client: SalesforceClient, sf_settings: Settings
) -> None:
    """A won deal starting next year, un-won today: its contract is void (`archived`)."""
    account = org.create("Account", {"Name": "Future Co"})
    start = (org.clock.now() + timedelta(days=200)).date().isoformat()
    deal = org.create(
        "Opportunity",
        {"Name": "Next year", "AccountId": account, "StageName": "Closed Won", "CloseDate": start},
    )
    poll(store, client, sf_settings)
    org.clock.advance(30)
    org.update("Opportunity", deal, {"StageName": "Closed Lost"})

    result = poll(store, client, sf_settings)

    assert contract_of(store, deal).status is ContractStatus.ARCHIVED
    assert result.counters.contracts_archived == 1


def test_lifecycle_changes_keep_the_api_budget(
    org: SandboxOrg, store: Store, client: SalesforceClient, sf_settings: Settings
) -> None:
    """Backfill ≤ floor + 2, idle poll 1 call, and an incremental run of held deals leaving
    Closed Won plus strangers' changes is one page with no look-up at all."""
    won = len(won_ids(org)) + sum(
        1 for r in org.store.rows("Opportunity") if r.values["IsWon"] and not r.values["AccountId"]
    )
    children = sum(1 for r in org.store.rows("Account") if r.values["ParentId"] and not r.deleted)
    floor_pages = math.ceil(won / PAGE_SIZE)

    backfill = poll(store, client, sf_settings)
    assert backfill.counters.api_calls <= floor_pages + math.ceil(children / PAGE_SIZE) + 2

    org.clock.advance(sf_settings.sync_lookback_seconds + 60)  # past the lookback window
    org.reset_counters()
    idle = poll(store, client, sf_settings)
    assert idle.counters.api_calls == 1
    assert query_pages(org) == 1

    held = won_ids(org, started_before=org.clock.now())[:6]
    strangers = [
        r.id for r in org.store.rows("Opportunity") if not r.values["IsWon"] and not r.deleted
    ][:40]
    org.clock.advance(5)
    for deal in held[:3]:
        org.update("Opportunity", deal, {"StageName": "Closed Lost"})
    for deal in held[3:]:
        org.delete("Opportunity", deal)
    for deal in strangers:
        org.update("Opportunity", deal, {"Name": "Renamed, still open"})
    org.reset_counters()

    result = poll(store, client, sf_settings)

    assert result.counters.api_calls == 1 == query_pages(org)
    assert account_pages(org) == 0
    assert result.counters.contracts_ended == 6
    assert result.counters.records_seen >= 46
    assert {contract_of(store, d).status for d in held} == {ContractStatus.ENDED}


def test_a_deal_moved_to_another_account_moves_its_contract_to_that_customer(
    org: SandboxOrg, store: Store, client: SalesforceClient, sf_settings: Settings
) -> None:
    """AccountId changed in Salesforce: the contract belongs to the new account's customer."""
    poll(store, client, sf_settings)
    deal = won_ids(org)[0]
    target = org.create("Account", {"Name": "Acquirer Inc"})
    org.clock.advance(5)
    org.update("Opportunity", deal, {"AccountId": target})

    poll(store, client, sf_settings)

    with store.session() as s:
        owner = find_by_field(s, Entity.CUSTOMER, SFDC_ACCOUNT_ID, target)
    assert owner is not None
    assert contract_of(store, deal).customer_id == owner
    assert kinds(store, deal)[-1] is RevisionKind.MOVED
