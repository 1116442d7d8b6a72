"""The closed-won stream end to end: sandbox org over HTTP, real simple-salesforce, both stores.

Expectations are computed from the sandbox's own records (which opportunities are won,
which account is the root of which), never from the mapping code under test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from config import Settings
from models import Entity, Store
from models.aliases import aliases_of
from models.contracts import list_contracts
from models.cursors import acquire_lease, release_lease
from models.deadletters import list_letters
from models.fields import SFDC_ACCOUNT_ID, SFDC_OPPORTUNITY_ID, fields_for, find_by_field
from models.runs import list_runs
from models.types import DeadLetterSource, RunStatus, Stream
from sandbox import SandboxOrg
from sync.opportunities import poll_opportunities
from sync.runner import RunResult
from sync.salesforce import SalesforceClient

Poll = Callable[..., RunResult]


@pytest.fixture
def sandbox_org() -> Iterator[SandboxOrg]:
    """A fresh org per test (these tests change it): ~100 won deals in pages of 50."""
    with SandboxOrg(seed=7, opportunities=300, page_size=50) as org:
        yield org


@pytest.fixture
def poll(store: Store, client: SalesforceClient, sf_settings: Settings) -> Poll:
    """Run the closed-won stream once against the test's store."""

    def run(**kwargs: Any) -> RunResult:
        return poll_opportunities(store, client, sf_settings, **kwargs)

    return run


# --- independent expectations and store snapshots ----------------------------------------------


def root_of(client: SalesforceClient) -> Callable[[str], str]:
    """account id → its ultimate parent, from one full read of Account."""
    parent = {r["Id"]: r["ParentId"] for r in client.query_all("SELECT Id, ParentId FROM Account")}

    def root(account: str) -> str:
        while parent.get(account):
            account = parent[account]
        return account

    return root


def expected_deals(client: SalesforceClient) -> dict[str, str]:
    """Won opportunity id → the root account its contract belongs to."""
    root = root_of(client)
    won = client.query_all("SELECT Id, AccountId FROM Opportunity WHERE IsWon = true")
    return {o["Id"]: root(o["AccountId"]) for o in won if o["AccountId"]}


def provisioned(store: Store) -> dict[str, str]:
    """Provisioned opportunity id → the Salesforce account of its contract's customer."""
    with store.session() as s:
        contracts = list_contracts(s)
        opp = fields_for(s, Entity.CONTRACT, [c.id for c in contracts])
        acc = fields_for(s, Entity.CUSTOMER, {c.customer_id for c in contracts})
        return {
            opp[c.id][SFDC_OPPORTUNITY_ID]: acc[c.customer_id][SFDC_ACCOUNT_ID] for c in contracts
        }


def customer_aliases(store: Store, account_id: str) -> set[str]:
    """The ingest aliases of the customer of a Salesforce account (empty if none)."""
    with store.session() as s:
        customer = find_by_field(s, Entity.CUSTOMER, SFDC_ACCOUNT_ID, account_id)
        return set(aliases_of(s, customer)) if customer else set()


def contract_amount(store: Store, opportunity_id: str) -> Decimal | None:
    with store.session() as s:
        contracts = list_contracts(s)
        opp = fields_for(s, Entity.CONTRACT, [c.id for c in contracts])
        return next(c.amount for c in contracts if opp[c.id][SFDC_OPPORTUNITY_ID] == opportunity_id)


def won_deal(org: SandboxOrg, account: str | None, **fields: Any) -> str:
    """A closed-won opportunity on `account`."""
    values: dict[str, Any] = {
        "Name": "Test deal",
        "StageName": "Closed Won",
        "CloseDate": "2026-11-02",
        "Amount": 1200.0,
        "CurrencyIsoCode": "USD",
        **fields,
    }
    if account is not None:
        values["AccountId"] = account
    return org.create("Opportunity", values)


def assert_converged(poll: Poll, store: Store, client: SalesforceClient) -> None:
    """The store holds exactly the closed-won set, and a full re-read changes nothing."""
    expected = expected_deals(client)
    assert provisioned(store) == expected
    again = poll(full=True)
    assert again.status is RunStatus.SUCCEEDED
    counters = again.counters
    assert counters.contracts_unchanged == len(expected)
    assert (counters.customers_created, counters.contracts_created) == (0, 0)
    assert (counters.contracts_updated, counters.aliases_added, counters.dead_lettered) == (0, 0, 0)


# --- tests -------------------------------------------------------------------------------------


def test_first_sync_provisions_exactly_the_closed_won_set(poll: Poll, store: Store, client) -> None:
    """One customer per distinct root account of a won deal, one contract per won deal."""
    result = poll()
    expected = expected_deals(client)
    assert result.status is RunStatus.SUCCEEDED
    assert result.counters.records_seen == len(expected) > 100  # several pages of 50
    assert result.counters.dead_lettered == 0
    assert provisioned(store) == expected
    assert result.counters.customers_created == len(set(expected.values()))
    assert result.counters.contracts_created == len(expected)


def test_a_second_sync_changes_nothing(poll: Poll, store: Store, client) -> None:
    """Re-reading the lookback window finds every contract unchanged."""
    poll()
    assert_converged(poll, store, client)


def test_an_edited_amount_updates_the_contract(org, poll: Poll, store: Store) -> None:
    """An Amount changed in Salesforce reaches the contract on the next poll."""
    poll()
    opportunity = next(iter(provisioned(store)))
    org.update("Opportunity", opportunity, {"Amount": 4321.5})
    result = poll()
    assert result.counters.contracts_updated == 1
    assert contract_amount(store, opportunity) == Decimal("4321.5")


def test_a_deal_on_a_child_account_lands_on_the_root_customer(org, poll: Poll, store) -> None:
    """A sub-organisation's deal is a contract of the enterprise; the child is its alias."""
    root = org.create("Account", {"Name": "Enterprise Co", "Ingest_Alias__c": "ent"})
    child = org.create("Account", {"Name": "Enterprise DE", "ParentId": root})
    grandchild = org.create(
        "Account", {"Name": "Enterprise DE Berlin", "ParentId": child, "Ingest_Alias__c": "ber"}
    )
    won_deal(org, root)
    deal = won_deal(org, grandchild)
    result = poll()
    assert result.counters.dead_lettered == 0
    assert provisioned(store)[deal] == root
    assert customer_aliases(store, root) == {root, "ent", child, grandchild, "ber"}
    assert customer_aliases(store, grandchild) == set()  # no customer of its own


def test_with_suborgs_off_every_account_is_its_own_customer(
    org, store: Store, mode_settings, make_client
) -> None:
    """Without the roll-up a child's deal provisions the child's own customer."""
    settings = mode_settings("client_credentials", alias_include_suborgs=False)
    root = org.create("Account", {"Name": "Solo Parent"})
    child = org.create("Account", {"Name": "Solo Child", "ParentId": root})
    deal = won_deal(org, child)
    poll_opportunities(store, make_client(settings), settings)
    assert provisioned(store)[deal] == child
    assert customer_aliases(store, child) == {child}


def test_a_late_commit_inside_the_lookback_is_not_missed(org, poll: Poll, store) -> None:
    """A row committed with a SystemModstamp older than the cursor is read by the next run."""
    first = poll()
    assert first.cursor_after is not None
    late = won_deal(
        org,
        org.create("Account", {"Name": "Late Co"}),
        SystemModstamp=first.cursor_after - timedelta(seconds=60),
    )
    poll()
    assert late in provisioned(store)


def test_a_run_finding_the_lease_held_is_recorded_as_skipped(poll: Poll, store: Store) -> None:
    """While another worker holds the lease a run is skipped; once released it runs."""
    with store.session() as s:
        assert acquire_lease(s, Stream.OPPORTUNITIES, "other-worker", 60)
    skipped = poll()
    assert skipped.status is RunStatus.SKIPPED
    assert provisioned(store) == {}
    with store.session() as s:
        assert list_runs(s, stream=Stream.OPPORTUNITIES)[0].status is RunStatus.SKIPPED
        release_lease(s, Stream.OPPORTUNITIES, "other-worker")
    assert poll().status is RunStatus.SUCCEEDED


def test_a_bad_record_is_dead_lettered_and_the_rest_provisioned(org, poll, store, client) -> None:
    """A won deal without an account becomes a dead letter; every other deal is provisioned."""
    bad = won_deal(org, None, Name="Orphan deal")
    result = poll()
    assert result.status is RunStatus.SUCCEEDED
    assert result.counters.dead_lettered == 1
    assert provisioned(store) == expected_deals(client)
    with store.session() as s:
        (letter,) = list_letters(s)
        assert (letter.source, letter.reference) == (DeadLetterSource.OPPORTUNITY, bad)
        assert "AccountId" in letter.error_message
        assert isinstance(letter.payload, dict) and letter.payload["Name"] == "Orphan deal"


def test_throttling_stops_the_run_and_the_next_run_converges(org, poll, store, client) -> None:
    """REQUEST_LIMIT_EXCEEDED after the first page stops the run; the next one finishes."""
    pages: list[int] = []

    def throttle_after_first_page(n: int) -> None:
        pages.append(n)
        if len(pages) == 1:
            org.faults.fail_next(1, "403")

    stopped = poll(progress=throttle_after_first_page)
    assert stopped.status is RunStatus.THROTTLED
    assert len(pages) == 1
    assert 0 < len(provisioned(store)) < len(expected_deals(client))
    resumed = poll()
    assert resumed.status is RunStatus.SUCCEEDED
    assert_converged(poll, store, client)


def test_a_session_expiring_mid_pagination_is_renewed(org, poll, store, client) -> None:
    """Tokens revoked between pages: the client logs in again and the run completes."""
    revoked: list[int] = []

    def revoke_after_first_page(n: int) -> None:
        if not revoked:
            revoked.append(n)
            org.revoke_tokens()

    result = poll(progress=revoke_after_first_page)
    assert result.status is RunStatus.SUCCEEDED
    assert client.login_calls == 2
    assert provisioned(store) == expected_deals(client)
