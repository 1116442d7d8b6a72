"""The set-based page provisioner, through `apply_records`, on SQLite and PostgreSQL.

A page is provisioned as the per-deal path would provision it — one customer per account,
one contract per opportunity, aliases with usage following them — and a deal that cannot be
provisioned (an alias another customer holds, an alias two accounts of the page claim) is
dead-lettered on its own, with nothing of it applied, while the rest of the page lands.
"""

from __future__ import annotations

import multiprocessing as mp
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from sfsync.config import Settings
from sfsync.models import Entity, Store
from sfsync.models.aliases.lookups import aliases_of
from sfsync.models.contracts.records import list_contracts
from sfsync.models.customers.fields import (
    SFDC_ACCOUNT_ID,
    SFDC_OPPORTUNITY_ID,
    fields_for,
    find_by_field,
)
from sfsync.models.customers.records import create_customer, get_customer
from sfsync.models.operations.deadletters import Failure, add_letter, list_letters
from sfsync.models.operations.runs import RunCounters
from sfsync.models.tables import Contract, Customer, IngestAlias, UsageEvent
from sfsync.models.types import DeadLetterSource, DeadLetterStatus
from sfsync.models.usage.events import get_event
from sfsync.sync.opportunities import apply_records
from sfsync.sync.opportunity_hierarchy import PageHierarchy
from sfsync.sync.salesforce import OpportunityRow, normalize_id

WORKERS = 2


def account(n: int) -> str:
    return normalize_id(f"001{n:012d}")


def opportunity(n: int) -> str:
    return normalize_id(f"006{n:012d}")


def opp(
    n: int, acc: int, account_name: str, amount: float = 1000.0, alias: Any = None
) -> dict[str, Any]:
    """A closed-won Opportunity record as the stream's query returns it."""
    return {
        "attributes": {"type": "Opportunity"},
        "Id": opportunity(n),
        "Name": f"Deal {n}",
        "AccountId": account(acc),
        "Account": {
            "attributes": {"type": "Account"},
            "Name": account_name,
            "ParentId": None,
            "Ingest_Alias__c": alias,
        },
        "Amount": amount,
        "CloseDate": "2026-11-02",
        "CurrencyIsoCode": "USD",
        "SystemModstamp": "2026-11-02T14:05:09.000+0000",
    }


def _settings() -> Settings:
    return Settings(_env_file=None, sf_alias_fields="Ingest_Alias__c")


def apply(store: Store, records: list[dict[str, Any]]) -> RunCounters:
    counters = RunCounters()
    with store.session() as s:
        apply_records(
            s, [OpportunityRow.of(r) for r in records], PageHierarchy(), _settings(), counters
        )
    return counters


def customer_of(store: Store, acc: int) -> Any:
    with store.session() as s:
        return find_by_field(s, Entity.CUSTOMER, SFDC_ACCOUNT_ID, account(acc))


def contracts_by_opportunity(store: Store) -> dict[str, Contract]:
    with store.session() as s:
        contracts = list_contracts(s)
        opp_ids = fields_for(s, Entity.CONTRACT, [c.id for c in contracts])
        return {opp_ids[c.id][SFDC_OPPORTUNITY_ID]: c for c in contracts}


def test_a_mixed_page_lands_and_only_the_conflicting_deal_is_dead_lettered(store: Store) -> None:
    with store.session() as s:
        existing = create_customer(
            s, "Old Name", aliases=[account(1)], custom_fields={SFDC_ACCOUNT_ID: account(1)}
        ).id
        holder = create_customer(s, "Holder", aliases=[account(3)]).id
        add_letter(
            s,
            Failure(DeadLetterSource.OPPORTUNITY, "Boom", "earlier failure", opportunity(5)),
        )
        s.add(
            UsageEvent(
                transaction_id="tx-early",
                customer_key=account(2),
                event_type="api_call",
                timestamp=datetime(2026, 11, 20, tzinfo=UTC),
                properties={},
            )
        )
    page = [
        opp(1, 1, "Alpha"),  # existing customer, renamed
        opp(2, 2, "Beta", alias="beta"),  # new customer
        opp(3, 2, "Beta", amount=50.5, alias="beta"),  # second deal on the same account
        opp(4, 3, "Gamma"),  # its account id is an alias another customer holds
        opp(5, 4, "Delta"),  # new customer; closes an open letter
    ]
    counters = apply(store, page)

    assert counters.records_seen == 5
    assert counters.dead_lettered == 1
    assert (counters.customers_created, counters.customers_updated) == (2, 1)
    assert (counters.contracts_created, counters.aliases_added) == (4, 3)
    contracts = contracts_by_opportunity(store)
    assert set(contracts) == {opportunity(n) for n in (1, 2, 3, 5)}
    beta = customer_of(store, 2)
    assert contracts[opportunity(2)].customer_id == contracts[opportunity(3)].customer_id == beta
    assert contracts[opportunity(3)].amount == Decimal("50.5")
    assert contracts[opportunity(1)].customer_id == existing
    assert customer_of(store, 3) is None  # nothing of the failed deal applied
    with store.session() as s:
        assert get_customer(s, existing).name == "Alpha"
        assert set(aliases_of(s, beta)) == {account(2), "beta"}
        assert aliases_of(s, holder) == [account(3)]
        assert get_event(s, "tx-early").customer_id == beta  # retroactive attribution
        letters = {letter.reference: letter for letter in list_letters(s, status=None)}
    assert letters[opportunity(4)].status is DeadLetterStatus.OPEN
    assert str(holder) in letters[opportunity(4)].error_message
    assert letters[opportunity(5)].status is DeadLetterStatus.REPLAYED

    again = apply(store, page)
    assert again.contracts_unchanged == 4
    assert (again.customers_created, again.contracts_created, again.aliases_added) == (0, 0, 0)
    assert again.dead_lettered == 1
    with store.session() as s:
        (letter,) = list_letters(s)
        assert (letter.reference, letter.attempts) == (opportunity(4), 2)


def test_an_alias_two_accounts_of_the_page_claim_goes_to_the_first(store: Store) -> None:
    page = [opp(1, 1, "First", alias="shared"), opp(2, 2, "Second", alias="shared")]
    counters = apply(store, page)
    assert (counters.contracts_created, counters.dead_lettered) == (1, 1)
    with store.session() as s:
        first = find_by_field(s, Entity.CUSTOMER, SFDC_ACCOUNT_ID, account(1))
        assert first is not None and "shared" in aliases_of(s, first)
        assert find_by_field(s, Entity.CUSTOMER, SFDC_ACCOUNT_ID, account(2)) is None
        (letter,) = list_letters(s)
        assert letter.reference == opportunity(2)


def test_an_invalid_deal_is_dead_lettered_and_the_rest_provisioned(store: Store) -> None:
    bad = {**opp(2, 2, "Bad"), "CloseDate": "not a date"}
    counters = apply(store, [opp(1, 1, "Good"), bad, opp(3, 3, "Good too")])
    assert (counters.contracts_created, counters.dead_lettered) == (2, 1)
    assert set(contracts_by_opportunity(store)) == {opportunity(1), opportunity(3)}


def test_a_changed_amount_updates_and_an_unchanged_contract_is_left(store: Store) -> None:
    apply(store, [opp(1, 1, "One"), opp(2, 1, "One")])
    counters = apply(store, [opp(1, 1, "One", amount=99.0), opp(2, 1, "One")])
    assert (counters.contracts_updated, counters.contracts_unchanged) == (1, 1)
    assert contracts_by_opportunity(store)[opportunity(1)].amount == Decimal("99")


# --- two processes provisioning the same page at once ------------------------------------------


def _race_page() -> list[dict[str, Any]]:
    return [opp(n, n % 7, f"Account {n % 7}", alias=f"alias-{n % 7}") for n in range(1, 41)]


def _provision(url: str, barrier: Any) -> dict[str, int]:
    store = Store(url)
    try:
        barrier.wait()
        return vars(apply(store, _race_page()))
    finally:
        store.close()


def test_two_processes_provisioning_the_same_page_make_no_duplicates(store: Store) -> None:
    ctx = mp.get_context("spawn")
    barrier = ctx.Manager().Barrier(WORKERS)
    with ctx.Pool(WORKERS) as pool:
        results = pool.starmap(_provision, [(store.url, barrier)] * WORKERS)
    assert all(r["dead_lettered"] == 0 for r in results)
    assert sum(r["customers_created"] for r in results) == 7
    assert sum(r["contracts_created"] for r in results) == 40
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(Customer)) == 7
        assert s.scalar(select(func.count()).select_from(Contract)) == 40
        assert s.scalar(select(func.count()).select_from(IngestAlias)) == 14
        assert list_letters(s) == []
