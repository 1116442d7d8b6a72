"""Account changes that combine: the store ends where the org's records say, whatever the order.

Each test is one of the reduced cases of issue 25: hierarchy changes that fall into the
same sync window, acquisitions undone, acquirers without a customer, merges of accounts
whose customers were merged before. A "sync" is one run of each stream (deals, then
accounts), as `sfsync sync run --inline` does. The truth is taken from the org's records:
every won deal's contract is under the one active customer of its account's current root,
every account of a tree with a customer is one of that customer's aliases, and every change
of a contract's owner is a revision.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import update

from sfsync.config import Settings
from sfsync.models import Entity, Store
from sfsync.models.aliases.moves import list_moves
from sfsync.models.contracts.records import list_contracts
from sfsync.models.contracts.revisions import history
from sfsync.models.customers.fields import (
    SFDC_ACCOUNT_ID,
    SFDC_OPPORTUNITY_ID,
    fields_for,
    find_by_field,
)
from sfsync.models.operations.deadletters import list_letters
from sfsync.models.tables import Contract, Customer, IngestAlias
from sfsync.models.types import AliasMoveReason, CustomerStatus, DeadLetterStatus, RevisionKind
from sfsync.sandbox import SandboxOrg
from sfsync.sync.salesforce import SalesforceClient
from sfsync.sync.streams.reconcile import reconcile
from tests.integration.conftest import Poll
from tests.integration.helpers import won_deal

FIELD = "Ingest_Alias__c"


@pytest.fixture
def sandbox_org() -> Iterator[SandboxOrg]:
    """A fresh, nearly empty org per test: these tests build their own hierarchies."""
    with SandboxOrg(seed=5, accounts=3, opportunities=0) as org:
        yield org


@pytest.fixture
def sync(sync_deals: Poll, sync_accounts: Poll) -> Callable[[], None]:
    """One sync: the deals' stream, then the accounts', as `sync run --inline` runs them."""

    def run() -> None:
        sync_deals()
        sync_accounts()

    return run


def account(org: SandboxOrg, name: str, parent: str | None = None) -> str:
    return org.create("Account", {"Name": name, "ParentId": parent, FIELD: name.lower()})


def open_deal(org: SandboxOrg, account_id: str) -> str:
    return org.create(
        "Opportunity",
        {
            "Name": "Open deal",
            "StageName": "Prospecting",
            "CloseDate": "2026-11-02",
            "Amount": 500.0,
            "CurrencyIsoCode": "USD",
            "AccountId": account_id,
        },
    )


def win(org: SandboxOrg, opportunity: str) -> None:
    org.update("Opportunity", opportunity, {"StageName": "Closed Won"})


def customer_of(store: Store, account_id: str) -> uuid.UUID:
    with store.session() as s:
        found = find_by_field(s, Entity.CUSTOMER, SFDC_ACCOUNT_ID, account_id)
    assert found is not None, f"no customer for account {account_id}"
    return found


def status(store: Store, customer: uuid.UUID) -> tuple[CustomerStatus, uuid.UUID | None]:
    with store.session() as s:
        row = s.get(Customer, customer)
        assert row is not None
        return row.status, row.merged_into


def owner_of_deal(store: Store, opportunity: str) -> uuid.UUID:
    with store.session() as s:
        contract = find_by_field(s, Entity.CONTRACT, SFDC_OPPORTUNITY_ID, opportunity)
        assert contract is not None, f"no contract for {opportunity}"
        return next(c.customer_id for c in list_contracts(s) if c.id == contract)


def aliases_held_by(store: Store, customer: uuid.UUID) -> set[str]:
    with store.session() as s:
        return {a.alias for a in s.query(IngestAlias).filter_by(customer_id=customer)}


def holder(store: Store, alias: str) -> uuid.UUID | None:
    with store.session() as s:
        row = s.get(IngestAlias, alias)
        return row.customer_id if row is not None else None


def active_customers(store: Store) -> dict[str, uuid.UUID]:
    """account → its customer, for every active customer."""
    with store.session() as s:
        ids = [c.id for c in s.query(Customer).filter_by(status=CustomerStatus.ACTIVE)]
        return {f[SFDC_ACCOUNT_ID]: c for c, f in fields_for(s, Entity.CUSTOMER, ids).items()}


def owner_changes_without_revision(store: Store) -> list[str]:
    """Contracts whose owner changed with no revision saying so (history replayed)."""
    wrong = []
    with store.session() as s:
        for contract in list_contracts(s):
            revisions = history(s, contract.id)
            last = revisions[-1].after["customer_id"] if revisions else None
            if last != str(contract.customer_id):
                wrong.append(
                    f"{contract.id}: revisions end at {last}, held by {contract.customer_id}"
                )
            for before, after in itertools.pairwise(revisions):
                if before.after["customer_id"] != (after.before or {}).get("customer_id"):
                    wrong.append(f"{contract.id}: owner changed between revisions unrecorded")
    return wrong


def open_letters(store: Store) -> list[str]:
    with store.session() as s:
        return [x.error_message for x in list_letters(s, status=DeadLetterStatus.OPEN)]


def test_a_child_re_parented_into_a_tree_whose_customer_the_same_sync_creates_moves_its_deal(
    org: SandboxOrg, sync: Callable[[], None], store: Store
) -> None:
    """Case 1: a win on Q1 and A1 moved under Q1 in one window: A1's contract goes to Q's."""
    a = account(org, "A")
    a1 = account(org, "A1", a)
    q = account(org, "Q")
    q1 = account(org, "Q1", q)
    deal_a1 = won_deal(org, a1, Name="A1 deal")
    deal_q1 = open_deal(org, q1)
    sync()
    win(org, deal_q1)
    org.update("Account", a1, {"ParentId": q1})
    sync()
    q_customer = customer_of(store, q)
    assert owner_of_deal(store, deal_a1) == q_customer
    assert owner_of_deal(store, deal_q1) == q_customer
    assert {a1, "a1"} <= aliases_held_by(store, q_customer)
    assert owner_changes_without_revision(store) == []
    assert open_letters(store) == []


def test_an_acquisition_undone_gives_the_root_its_own_active_customer_back(
    org: SandboxOrg, sync: Callable[[], None], store: Store
) -> None:
    """Case 2: R acquired by Q, then detached again: R's customer is active with R's tree."""
    r, q = account(org, "R"), account(org, "Q")
    r1 = account(org, "R1", r)
    deal_r, deal_q = won_deal(org, r, Name="R deal"), won_deal(org, q, Name="Q deal")
    sync()
    r_customer, q_customer = customer_of(store, r), customer_of(store, q)
    org.update("Account", r, {"ParentId": q})
    sync()
    assert status(store, r_customer) == (CustomerStatus.ARCHIVED, q_customer)
    assert owner_of_deal(store, deal_r) == q_customer
    org.update("Account", r, {"ParentId": None})
    sync()
    assert status(store, r_customer) == (CustomerStatus.ACTIVE, None)
    assert owner_of_deal(store, deal_r) == r_customer
    assert owner_of_deal(store, deal_q) == q_customer
    assert aliases_held_by(store, r_customer) == {r, "r", r1, "r1"}
    assert aliases_held_by(store, q_customer) == {q, "q"}
    assert set(active_customers(store)) == {r, q}
    assert owner_changes_without_revision(store) == []
    assert open_letters(store) == []


def test_an_acquirer_without_a_customer_takes_the_tree_when_its_own_deal_is_won(
    org: SandboxOrg, sync: Callable[[], None], store: Store
) -> None:
    """Case 3: R (customer) under Q (open deal only), then Q's deal won: one customer, Q's."""
    r, q = account(org, "R"), account(org, "Q")
    deal_r = won_deal(org, r, Name="R deal")
    deal_q = open_deal(org, q)
    sync()
    r_customer = customer_of(store, r)
    org.update("Account", r, {"ParentId": q})
    sync()
    # R's won deal now belongs to root Q: Q's customer exists at once and absorbed R's.
    q_customer = customer_of(store, q)
    assert active_customers(store) == {q: q_customer}
    assert owner_of_deal(store, deal_r) == q_customer
    win(org, deal_q)
    sync()
    assert active_customers(store) == {q: q_customer}
    assert status(store, r_customer) == (CustomerStatus.ARCHIVED, q_customer)
    assert aliases_held_by(store, q_customer) == {q, "q", r, "r"}
    assert owner_of_deal(store, deal_r) == owner_of_deal(store, deal_q) == q_customer
    assert owner_changes_without_revision(store) == []
    assert open_letters(store) == []


def test_what_came_through_a_merge_follows_its_master_when_an_ancestor_is_detached(
    org: SandboxOrg, sync: Callable[[], None], store: Store
) -> None:
    """Case 4: L merged into M (under P ⊃ C), then C detached: L's aliases go with M to C's."""
    p = account(org, "P")
    c = account(org, "C", p)
    m = account(org, "M", c)
    r = account(org, "R")
    loser = account(org, "L", r)
    won_deal(org, m, Name="M deal")
    won_deal(org, r, Name="R deal")
    sync()
    org.merge(m, [loser])
    sync()
    assert holder(store, loser) == customer_of(store, p)
    org.update("Account", c, {"ParentId": None})
    sync()
    c_customer = customer_of(store, c)
    assert aliases_held_by(store, c_customer) == {c, "c", m, "m", loser, "l"}
    with store.session() as s:
        moves = [(x.reason, x.to_customer_id) for x in list_moves(s, alias=loser)]
    assert (AliasMoveReason.DETACHED, None) not in moves
    assert moves[0] == (AliasMoveReason.REPARENTED, c_customer)  # newest first
    assert owner_changes_without_revision(store) == []
    assert open_letters(store) == []


def test_a_merge_loser_without_a_customer_gives_its_aliases_to_the_masters_customer(
    org: SandboxOrg, sync: Callable[[], None], store: Store
) -> None:
    """Case 5: L (open deal, alias values) merged into M: L's id and values are M's aliases."""
    m = account(org, "M")
    loser = account(org, "L")
    won_deal(org, m, Name="M deal")
    open_deal(org, loser)
    sync()
    org.merge(m, [loser])
    sync()
    m_customer = customer_of(store, m)
    assert aliases_held_by(store, m_customer) == {m, "m", loser, "l"}
    with store.session() as s:
        row = s.get(IngestAlias, loser)
        assert row is not None
        assert (row.source_account_id, row.source_field) == (m, "MasterRecordId")
    assert open_letters(store) == []


def test_contracts_moved_by_an_acquisition_each_get_an_acquired_revision(
    org: SandboxOrg, sync: Callable[[], None], store: Store
) -> None:
    """Case 6: R acquired by Q: R's contract has a `moved` revision, cause acquired, run id."""
    r, q = account(org, "R"), account(org, "Q")
    deal_r = won_deal(org, r, Name="R deal")
    won_deal(org, q, Name="Q deal")
    sync()
    org.update("Account", r, {"ParentId": q})
    sync()
    q_customer = customer_of(store, q)
    assert owner_of_deal(store, deal_r) == q_customer
    with store.session() as s:
        contract = find_by_field(s, Entity.CONTRACT, SFDC_OPPORTUNITY_ID, deal_r)
        assert contract is not None
        revisions = history(s, contract)
        last = revisions[-1]
        assert [x.kind for x in revisions] == [RevisionKind.CREATED, RevisionKind.MOVED]
        assert last.cause.startswith("acquired") and r in last.cause
        assert last.run_id is not None
        assert last.after["customer_id"] == str(q_customer)
    assert owner_changes_without_revision(store) == []


def test_a_survivor_whose_own_account_is_merged_away_hands_everything_to_the_master(
    org: SandboxOrg, sync: Callable[[], None], store: Store
) -> None:
    """Case 7: A's customer merged into B's, A detached, then B merged into A: A's customer
    is the one active customer of root A, with both deals and every alias."""
    a, b = account(org, "A"), account(org, "B")
    deal_a, deal_b = won_deal(org, a, Name="A deal"), won_deal(org, b, Name="B deal")
    sync()
    a_customer, b_customer = customer_of(store, a), customer_of(store, b)
    org.update("Account", a, {"ParentId": b})
    sync()
    assert status(store, a_customer) == (CustomerStatus.ARCHIVED, b_customer)
    org.update("Account", a, {"ParentId": None})
    org.merge(a, [b])
    sync()
    assert active_customers(store) == {a: a_customer}
    assert status(store, b_customer) == (CustomerStatus.ARCHIVED, a_customer)
    assert owner_of_deal(store, deal_a) == owner_of_deal(store, deal_b) == a_customer
    assert aliases_held_by(store, a_customer) == {a, "a", b, "b"}
    assert owner_changes_without_revision(store) == []
    assert open_letters(store) == []


def test_reconciliation_moves_a_contract_left_under_a_merged_customer_and_counts_it(
    org: SandboxOrg,
    sync: Callable[[], None],
    store: Store,
    client: SalesforceClient,
    sf_settings: Settings,
) -> None:
    """A contract the incremental path left under an absorbed customer: reconciliation moves
    it to its root's customer with a revision, and counts it as drift."""
    r, q = account(org, "R"), account(org, "Q")
    deal_r = won_deal(org, r, Name="R deal")
    won_deal(org, q, Name="Q deal")
    sync()
    r_customer = customer_of(store, r)
    org.update("Account", r, {"ParentId": q})
    sync()
    q_customer = customer_of(store, q)
    with store.session() as s:  # what a missed move leaves behind
        contract = find_by_field(s, Entity.CONTRACT, SFDC_OPPORTUNITY_ID, deal_r)
        s.execute(update(Contract).where(Contract.id == contract).values(customer_id=r_customer))

    result = reconcile(store, client, sf_settings)

    assert result.counters.drift_changed == 1
    assert owner_of_deal(store, deal_r) == q_customer
    with store.session() as s:
        assert contract is not None
        last = history(s, contract)[-1]
        assert last.kind is RevisionKind.MOVED and "misplaced" in last.cause
        assert last.after["customer_id"] == str(q_customer)
    assert reconcile(store, client, sf_settings).counters.drift_changed == 0


def test_a_loser_merged_into_a_tree_whose_customer_the_same_sync_creates_gives_it_its_aliases(
    org: SandboxOrg, sync: Callable[[], None], store: Store
) -> None:
    """E (a customer) acquired by R (none) while L is merged into M under E: R's customer,
    created by the acquisition, holds L's id and values, recorded as M's through the merge."""
    r = account(org, "R")
    e = account(org, "E")
    m = account(org, "M", e)
    loser = account(org, "L")
    won_deal(org, e, Name="E deal")
    sync()
    org.update("Account", e, {"ParentId": r})
    org.merge(m, [loser])
    sync()
    r_customer = customer_of(store, r)
    assert {loser, "l"} <= aliases_held_by(store, r_customer)
    with store.session() as s:
        row = s.get(IngestAlias, loser)
        assert row is not None
        assert (row.source_account_id, row.source_field) == (m, "MasterRecordId")
    assert open_letters(store) == []


def test_a_losers_aliases_released_with_its_master_stay_released_when_the_master_gets_a_customer(
    org: SandboxOrg, sync: Callable[[], None], store: Store
) -> None:
    """L merged into M under E; M detached (its tree has no customer: L's values released for
    good); a deal won on M later gives M's customer M's own aliases, never L's again."""
    e = account(org, "E")
    m = account(org, "M", e)
    loser = account(org, "L")
    won_deal(org, e, Name="E deal")
    sync()
    org.merge(m, [loser])
    sync()
    assert holder(store, loser) == customer_of(store, e)
    org.update("Account", m, {"ParentId": None})
    sync()
    assert holder(store, loser) is None
    won_deal(org, m, Name="M deal")
    sync()
    assert aliases_held_by(store, customer_of(store, m)) == {m, "m"}
    assert holder(store, loser) is None and holder(store, "l") is None
    assert open_letters(store) == []
