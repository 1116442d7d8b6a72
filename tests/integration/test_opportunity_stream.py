"""The closed-won stream end to end: sandbox org over HTTP, real simple-salesforce, both stores.

Expectations are computed from the sandbox's own records (which opportunities are won,
which account is the root of which), never from the mapping code under test.
"""

from __future__ import annotations

import math
import re
import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from sfsync.config import Settings
from sfsync.models import Entity, Store
from sfsync.models.aliases.lookups import aliases_for
from sfsync.models.contracts.records import list_contracts
from sfsync.models.customers.fields import (
    SFDC_ACCOUNT_ID,
    SFDC_OPPORTUNITY_ID,
    fields_for,
    find_by_field,
)
from sfsync.models.customers.records import list_customers
from sfsync.models.operations.cursors import acquire_lease, advance, release_lease
from sfsync.models.operations.deadletters import list_letters
from sfsync.models.operations.runs import list_runs
from sfsync.models.types import DeadLetterSource, RunStatus, Stream
from sfsync.sandbox import SandboxOrg
from sfsync.sync.run_result import RunResult
from sfsync.sync.salesforce import HierarchyCache, SalesforceClient
from sfsync.sync.streams.opportunities import poll_opportunities
from tests.integration.helpers import customer_aliases, provisioned, won_deal

Poll = Callable[..., RunResult]
PAGE_SIZE = 50


@pytest.fixture
def sandbox_org() -> Iterator[SandboxOrg]:
    """A fresh org per test (these tests change it): ~100 won deals in pages of 50."""
    with SandboxOrg(seed=7, opportunities=300, page_size=PAGE_SIZE) as org:
        yield org


@pytest.fixture
def other_store(sqlite_template: Path, tmp_path: Path) -> Iterator[Store]:
    """A second empty store, for the same org synced another way."""
    path = tmp_path / "other.db"
    shutil.copyfile(sqlite_template, path)
    store = Store(f"sqlite:///{path}")
    yield store
    store.close()


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


def contract_amount(store: Store, opportunity_id: str) -> Decimal | None:
    with store.session() as s:
        contracts = list_contracts(s)
        opp = fields_for(s, Entity.CONTRACT, [c.id for c in contracts])
        return next(c.amount for c in contracts if opp[c.id][SFDC_OPPORTUNITY_ID] == opportunity_id)


def store_contents(store: Store) -> dict[str, Any]:
    """Customers (by account: name, aliases) and contracts (by opportunity: account, terms)."""
    with store.session() as s:
        customers = list_customers(s, limit=100_000)
        account = {
            c: f[SFDC_ACCOUNT_ID]
            for c, f in fields_for(s, Entity.CUSTOMER, [c.id for c in customers]).items()
        }
        aliases = aliases_for(s, [c.id for c in customers])
        contracts = list_contracts(s)
        opportunity = fields_for(s, Entity.CONTRACT, [c.id for c in contracts])
        return {
            "customers": {account[c.id]: (c.name, sorted(aliases[c.id])) for c in customers},
            "contracts": {
                opportunity[c.id][SFDC_OPPORTUNITY_ID]: (
                    account[c.customer_id],
                    c.name,
                    c.amount,
                    c.currency,
                    c.starting_at,
                    c.ending_before,
                )
                for c in contracts
            },
        }


def hierarchy_pages(org: SandboxOrg) -> dict[str, int]:
    """Account query pages served since the last reset, by kind of look-up."""
    kinds = {"ancestors": " Id IN (?)", "children": "ParentId IN (?)", "scan": "ParentId != null"}
    queries = org.counters()["queries"]
    return {
        kind: sum(n for q, n in queries.items() if "FROM Account" in q and marker in q)
        for kind, marker in kinds.items()
    }


def pages_of(records: int) -> int:
    return math.ceil(records / PAGE_SIZE)


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


def test_alias_values_with_spaces_are_one_alias_and_semicolons_split(org, poll, store) -> None:
    """`tenant 42` and `tenant 43` are whole aliases of two customers (no shared `tenant` to
    dead-letter on); a multi-select value `eu; us` gives two."""
    first = org.create("Account", {"Name": "Tenant 42 Ltd", "Ingest_Alias__c": "tenant 42"})
    second = org.create("Account", {"Name": "Tenant 43 Ltd", "Ingest_Alias__c": "tenant 43"})
    multi = org.create("Account", {"Name": "Regions Inc", "Ingest_Alias__c": "r-eu; r-us"})
    for account in (first, second, multi):
        won_deal(org, account)

    result = poll()

    assert result.counters.dead_lettered == 0
    assert customer_aliases(store, first) == {first, "tenant 42"}
    assert customer_aliases(store, second) == {second, "tenant 43"}
    assert customer_aliases(store, multi) == {multi, "r-eu", "r-us"}


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
    # The second page's query_more is refused: its locator path ends in the first page's size.
    # (Set up front: the runner reads a page ahead, so a fault set after page 1 would land late.)
    org.faults.fail_next(1, "403", paths="-50")

    stopped = poll(progress=pages.append)
    assert stopped.status is RunStatus.THROTTLED
    assert len(pages) == 1
    assert 0 < len(provisioned(store)) < len(expected_deals(client))
    resumed = poll()
    assert resumed.status is RunStatus.SUCCEEDED
    assert_converged(poll, store, client)


@pytest.mark.parametrize("how", ["full", "since"])
def test_a_resync_whose_locator_expires_restarts_from_its_own_position(
    org, poll, store: Store, client, how: str
) -> None:
    """A --full/--since run behind the stored cursor whose query locator expires after its
    first page restarts from what it committed, not the stored cursor: every deal lands."""
    (newest,) = client.query_all(
        "SELECT SystemModstamp FROM Opportunity WHERE IsWon = true "
        "ORDER BY SystemModstamp DESC LIMIT 1"
    )
    with store.session() as s:  # a stored cursor ahead of everything, nothing provisioned
        assert acquire_lease(s, Stream.OPPORTUNITIES, "earlier-run", 60)
        at = datetime.fromisoformat(newest["SystemModstamp"].replace("+0000", "+00:00"))
        advance(s, Stream.OPPORTUNITIES, "earlier-run", at, 60)
        release_lease(s, Stream.OPPORTUNITIES, "earlier-run")
    won = expected_deals(client)
    assert pages_of(len(won)) >= 2
    # The second page's query_more: its locator path ends in the first page's size.
    org.faults.fail_next(1, "locator", paths=f"-{PAGE_SIZE}")
    pages: list[int] = []

    since = {"full": True} if how == "full" else {"since": datetime(2000, 1, 1, tzinfo=UTC)}
    result = poll(progress=pages.append, **since)

    assert result.status is RunStatus.SUCCEEDED
    assert sum(pages) > len(won)  # the restart re-read, so the fault did hit mid-run
    assert provisioned(store) == won


def test_a_client_kept_across_runs_looks_again_once_the_allowance_has_room(
    org, poll, store: Store, client
) -> None:
    """A worker's client whose last reading was over the max does not refuse every later
    run: each looks at the allowance (one call) and the first with room goes on."""
    org.set_api_allowance(1)  # the org's allowance used up: every call is refused
    assert poll().status is RunStatus.THROTTLED
    used, total = client.api_usage or (0, 0)
    assert used >= total  # the client's reading is now over the max

    still = poll()
    assert still.status is RunStatus.THROTTLED
    assert still.counters.api_calls == 1  # one look, not a run's worth of refused calls

    org.set_api_allowance(1_000_000)  # the rolling window has room again
    resumed = poll()
    assert resumed.status is RunStatus.SUCCEEDED, resumed.error
    assert provisioned(store) == expected_deals(client)


def test_a_session_expiring_mid_pagination_is_renewed(org, poll, store, client) -> None:
    """Tokens revoked between pages: the client logs in again and the run completes."""
    # The second page's query_more finds its session revoked (INVALID_SESSION_ID revokes the
    # token it was sent with). Set up front: the runner reads a page ahead, so revoking from
    # the first page's progress callback could land after the last call.
    org.faults.fail_next(1, "401", paths=f"-{PAGE_SIZE}")

    result = poll()
    assert result.status is RunStatus.SUCCEEDED
    assert client.login_calls == 2
    assert provisioned(store) == expected_deals(client)


# --- hierarchy look-ups ----------------------------------------------------------------------


def test_a_multi_page_backfill_reads_the_forest_once_and_provisions_what_in_lists_do(
    org, poll: Poll, store: Store, other_store: Store, client, sf_settings
) -> None:
    """One scan replaces every per-page look-up, and the store ends up exactly the same."""
    in_lists = poll_opportunities(
        other_store, client, sf_settings, cache=HierarchyCache(scan=False)
    )
    assert hierarchy_pages(org)["children"] > 0
    org.reset_counters()

    result = poll()

    pages = hierarchy_pages(org)
    won = len(expected_deals(client))
    children = len(client.query_all("SELECT Id FROM Account WHERE ParentId != null"))
    assert pages_of(won) >= 3
    assert pages == {"ancestors": 0, "children": 0, "scan": pages_of(children)}
    assert result.counters.api_calls == pages_of(won) + pages_of(children)
    assert in_lists.counters.api_calls > result.counters.api_calls
    assert provisioned(store) == expected_deals(client)
    assert store_contents(store) == store_contents(other_store)


@pytest.mark.parametrize("scan", [True, False], ids=["forest", "in-lists"])
def test_a_child_deal_whose_root_has_no_deal_reads_the_root_from_the_record(
    org, store: Store, client, sf_settings, scan: bool
) -> None:
    """The opportunity query carries the ancestors: the root customer gets every sub-org
    alias without a single look-up by id."""
    root = org.create("Account", {"Name": "Quiet Root", "Ingest_Alias__c": "quiet"})
    child = org.create("Account", {"Name": "Quiet DE", "ParentId": root, "Ingest_Alias__c": "q-de"})
    grandchild = org.create("Account", {"Name": "Quiet Berlin", "ParentId": child})
    sibling = org.create("Account", {"Name": "Quiet FR", "ParentId": root})
    deal = won_deal(org, grandchild)

    result = poll_opportunities(store, client, sf_settings, cache=HierarchyCache(scan=scan))

    assert result.counters.dead_lettered == 0
    assert hierarchy_pages(org)["ancestors"] == 0
    assert provisioned(store)[deal] == root
    assert customer_aliases(store, root) == {root, "quiet", child, "q-de", sibling, grandchild}
    with store.session() as s:
        assert find_by_field(s, Entity.CUSTOMER, SFDC_ACCOUNT_ID, grandchild) is None


@pytest.mark.parametrize(("scan", "by_id"), [(True, 1), (False, 3)], ids=["forest", "in-lists"])
def test_a_hierarchy_deeper_than_the_record_reaches_still_finds_the_true_root(
    org, store: Store, client, sf_settings, scan: bool, by_id: int
) -> None:
    """Seven levels: the record carries three ancestors (Account.Parent.Parent.Parent, the
    deepest path SOQL allows); the forest gives the next two and only the root is read by id,
    or Id IN reads the three above level by level."""
    chain: list[str] = []
    for level in range(7):
        fields = {"Name": f"Deep {level}", "Ingest_Alias__c": f"deep-{level}"}
        chain.append(org.create("Account", {**fields, "ParentId": chain[-1] if chain else None}))
    deal = won_deal(org, chain[-1])

    result = poll_opportunities(store, client, sf_settings, cache=HierarchyCache(scan=scan))

    assert result.counters.dead_lettered == 0
    assert provisioned(store)[deal] == chain[0]
    assert customer_aliases(store, chain[0]) == set(chain) | {f"deep-{n}" for n in range(7)}
    assert hierarchy_pages(org)["ancestors"] == by_id


@pytest.mark.parametrize("scan", [True, False], ids=["forest", "in-lists"])
def test_a_parent_the_user_cannot_read_ends_the_chain_after_one_look_up(
    org, store: Store, client, sf_settings, scan: bool
) -> None:
    """A ParentId whose Parent comes back null is looked up by id as before; not found, the
    account is the highest one visible, so its own customer."""
    root = org.create("Account", {"Name": "Hidden Root"})
    hidden = org.create("Account", {"Name": "Hidden Parent", "ParentId": root})
    child = org.create("Account", {"Name": "Visible Child", "ParentId": hidden})
    deal = won_deal(org, child)
    org.delete("Account", hidden)  # the sandbox's way to hide a record from the user
    (record,) = client.query_all(
        f"SELECT Account.ParentId, Account.Parent.Name FROM Opportunity WHERE Id = '{deal}'"
    )
    assert record["Account"]["ParentId"] == hidden
    assert record["Account"]["Parent"] is None
    org.reset_counters()

    result = poll_opportunities(store, client, sf_settings, cache=HierarchyCache(scan=scan))

    assert hierarchy_pages(org)["ancestors"] == 1
    assert result.counters.dead_lettered == 0
    assert provisioned(store)[deal] == child
    assert customer_aliases(store, child) == {child}


def test_child_accounts_too_many_for_the_run_abandon_the_scan_after_one_call(
    org, poll: Poll, store: Store, other_store: Store, client, sf_settings
) -> None:
    """A scan that would cost more pages than the run has stops at its first page; the run
    goes on with IN-lists and provisions the same."""
    holding = org.create("Account", {"Name": "Holding Co"})
    for n in range(4 * PAGE_SIZE):
        org.create("Account", {"Name": f"Holding {n}", "ParentId": holding})
    won = len(expected_deals(client))
    assert pages_of(4 * PAGE_SIZE) > pages_of(won)
    org.reset_counters()

    result = poll()

    pages = hierarchy_pages(org)
    assert pages["scan"] == 1
    assert pages["children"] > 0
    assert result.counters.dead_lettered == 0
    assert provisioned(store) == expected_deals(client)
    poll_opportunities(other_store, client, sf_settings, cache=HierarchyCache(scan=False))
    assert store_contents(store) == store_contents(other_store)


def test_an_org_without_sub_organisations_costs_one_empty_scan(org, poll, store, client) -> None:
    """No child account anywhere is a complete (empty) forest: no look-up after the scan."""
    for record in client.query_all("SELECT Id FROM Account WHERE ParentId != null"):
        org.update("Account", record["Id"], {"ParentId": None})
    org.reset_counters()

    result = poll()

    assert hierarchy_pages(org) == {"ancestors": 0, "children": 0, "scan": 1}
    won = expected_deals(client)
    # + the scan, + the client's one describe of Opportunity (is the org multi-currency?)
    assert result.counters.api_calls == pages_of(len(won)) + 1 + 1
    assert provisioned(store) == won
    assert result.counters.customers_created == len(set(won.values()))


def test_multi_currency_off_by_setting_reads_no_currency_from_a_multi_currency_org(
    org: SandboxOrg, store: Store, mode_settings, make_client
) -> None:
    """SFSYNC_SF_MULTI_CURRENCY=false wins over the org: contracts take its default currency."""
    settings = mode_settings("client_credentials", sf_multi_currency=False)
    assert org.multi_currency
    result = poll_opportunities(store, make_client(settings), settings)
    assert result.status is RunStatus.SUCCEEDED
    assert not any(re.search(r"\bCurrencyIsoCode\b", q) for q in org.counters()["queries"])
    with store.session() as s:
        assert {c.currency for c in list_contracts(s)} == {org.default_currency}
