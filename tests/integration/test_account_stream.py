"""The account stream end to end: customers' names and aliases follow Salesforce's hierarchy.

A small org per test (ten seeded accounts, no seeded deals), so every customer in the store
is one the test made through the closed-won stream.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest

from sfsync.models import Entity, Store
from sfsync.models.customers.fields import SFDC_ACCOUNT_ID, find_by_field
from sfsync.models.customers.records import get_customer
from sfsync.models.operations.deadletters import list_letters
from sfsync.models.tables import UsageEvent
from sfsync.models.types import DeadLetterSource, utcnow
from sfsync.models.usage.events import get_event
from sfsync.sandbox import SandboxOrg
from sfsync.sync.replay import replay_letter
from sfsync.sync.run_result import RunResult
from tests.integration.helpers import customer_aliases

Poll = Callable[..., RunResult]


@pytest.fixture
def sandbox_org() -> Iterator[SandboxOrg]:
    """A fresh, nearly empty org per test: these tests build their own hierarchies."""
    with SandboxOrg(seed=3, accounts=10, opportunities=0) as org:
        yield org


def customer_id(store: Store, account: str) -> uuid.UUID:
    with store.session() as s:
        found = find_by_field(s, Entity.CUSTOMER, SFDC_ACCOUNT_ID, account)
    assert found is not None, f"no customer for account {account}"
    return found


def test_a_sub_organisation_added_after_the_deal_becomes_an_alias(
    org, enterprise, sync_deals, sync_accounts, store
) -> None:
    """A child account created after the deal closed is attached to the enterprise customer."""
    root = enterprise("Globex", "globex")
    sync_deals()
    child = org.create("Account", {"Name": "Globex JP", "ParentId": root, "Ingest_Alias__c": "gjp"})
    result = sync_accounts()
    assert result.counters.aliases_added == 2
    assert customer_aliases(store, root) == {root, "globex", child, "gjp"}
    assert sync_accounts().counters.aliases_added == 0  # idempotent


def test_a_renamed_root_account_renames_the_customer(
    org, enterprise, sync_deals, sync_accounts, store
) -> None:
    """The customer's name follows its own account's name."""
    root = enterprise("Initech")
    sync_deals()
    org.update("Account", root, {"Name": "Initech Global"})
    result = sync_accounts()
    assert result.counters.customers_updated == 1
    with store.session() as s:
        assert get_customer(s, customer_id(store, root)).name == "Initech Global"


def test_a_re_parented_child_moves_its_alias_and_usage(
    org, enterprise, sync_deals, sync_accounts, store
) -> None:
    """A child moved to another enterprise in Salesforce takes its aliases and usage along."""
    old_root, new_root = enterprise("Old Parent"), enterprise("New Parent")
    child = org.create(
        "Account", {"Name": "Wandering Sub", "ParentId": old_root, "Ingest_Alias__c": "wander"}
    )
    sync_deals()
    old_customer, new_customer = customer_id(store, old_root), customer_id(store, new_root)
    assert {child, "wander"} <= customer_aliases(store, old_root)
    with store.session() as s:
        s.add(
            UsageEvent(
                transaction_id="tx-wander-1",
                customer_key=child,
                customer_id=old_customer,
                event_type="api_call",
                timestamp=utcnow() - timedelta(hours=1),
                properties={},
            )
        )
    org.update("Account", child, {"ParentId": new_root})
    result = sync_accounts()
    assert result.counters.dead_lettered == 0
    assert customer_aliases(store, new_root) == {new_root, child, "wander"}
    assert customer_aliases(store, old_root) == {old_root}
    with store.session() as s:
        assert get_event(s, "tx-wander-1").customer_id == new_customer


def test_an_account_outside_every_customer_tree_changes_nothing(
    org, enterprise, sync_deals, sync_accounts, store
) -> None:
    """Accounts with no customer above them are seen and skipped, without dead letters."""
    root = enterprise("Hooli", "hooli")
    sync_deals()
    sync_accounts()
    loner = org.create("Account", {"Name": "Prospect Co", "Ingest_Alias__c": "prospect"})
    org.create("Account", {"Name": "Prospect Sub", "ParentId": loner})
    result = sync_accounts()
    assert result.counters.records_seen >= 2
    assert (result.counters.aliases_added, result.counters.customers_updated) == (0, 0)
    assert result.counters.dead_lettered == 0
    assert customer_aliases(store, root) == {root, "hooli"}
    assert customer_aliases(store, loner) == set()


def test_an_alias_conflict_becomes_a_dead_letter_naming_both_customers(
    org, enterprise, sync_deals, sync_accounts, store
) -> None:
    """A sub-organisation whose alias value another customer holds is dead-lettered."""
    acme, umbrella = enterprise("Acme", "acme"), enterprise("Umbrella", "umbrella")
    sync_deals()
    clash = org.create(
        "Account", {"Name": "Acme Clash", "ParentId": acme, "Ingest_Alias__c": "umbrella"}
    )
    result = sync_accounts()
    assert result.counters.dead_lettered == 1
    assert customer_aliases(store, acme) == {acme, "acme", clash}  # the rest is attached
    assert customer_aliases(store, umbrella) == {umbrella, "umbrella"}  # never taken
    with store.session() as s:
        (letter,) = list_letters(s, source=DeadLetterSource.ACCOUNT)
        assert letter.reference == clash
        assert isinstance(letter.payload, dict) and letter.payload["Name"] == "Acme Clash"
        message = letter.error_message
    assert "'umbrella'" in message
    for account in (acme, umbrella):
        assert str(customer_id(store, account)) in message and account in message


def test_an_alias_field_holding_another_customers_id_is_a_dead_letter_not_a_hijack(
    org, enterprise, sync_deals, sync_accounts, store
) -> None:
    """A Salesforce alias value equal to another customer's id never captures its usage."""
    acme, umbrella = enterprise("Acme", "acme"), enterprise("Umbrella", "umbrella")
    sync_deals()
    victim = str(customer_id(store, umbrella))
    clash = org.create("Account", {"Name": "Acme Sub", "ParentId": acme, "Ingest_Alias__c": victim})
    result = sync_accounts()
    assert result.counters.dead_lettered == 1
    assert victim not in customer_aliases(store, acme)
    with store.session() as s:
        (letter,) = list_letters(s, source=DeadLetterSource.ACCOUNT)
    assert letter.reference == clash and victim in letter.error_message


def test_hierarchy_look_ups_are_batched(org, enterprise, sync_deals, sync_accounts, store) -> None:
    """Query calls grow with the depth of the trees, not with the number of accounts."""

    def grandchildren_of_new_trees(n: int) -> tuple[list[str], int]:
        roots = [enterprise(f"Tree {n}-{i}") for i in range(n)]
        children = [org.create("Account", {"Name": "Sub", "ParentId": r}) for r in roots]
        sync_deals()
        org.clock.advance(5)  # the grandchildren alone are the page read from `since`
        since = org.clock.now()
        for child in children:
            org.create("Account", {"Name": "Leaf", "ParentId": child})
        org.reset_counters()
        result = sync_accounts(since=since)
        assert result.counters.records_seen == n
        assert result.counters.aliases_added == n
        return roots, org.counters()["calls"]["query"]

    small_roots, small_calls = grandchildren_of_new_trees(3)
    big_roots, big_calls = grandchildren_of_new_trees(30)
    # 1 page + 2 levels up (children, roots) + 3 levels down (children, leaves, none).
    assert small_calls == big_calls == 6
    assert all(len(customer_aliases(store, r)) == 3 for r in small_roots + big_roots)


def test_an_account_conflict_fixed_in_salesforce_replays_cleanly(
    org, enterprise, sync_deals, sync_accounts, store, client, sf_settings
) -> None:
    """Once the clashing alias value is changed in Salesforce, replaying the letter attaches it."""
    acme, _ = enterprise("Acme", "acme"), enterprise("Umbrella", "umbrella")
    sync_deals()
    clash = org.create(
        "Account", {"Name": "Acme Clash", "ParentId": acme, "Ingest_Alias__c": "umbrella"}
    )
    sync_accounts()
    with store.session() as s:
        (letter,) = list_letters(s, source=DeadLetterSource.ACCOUNT)
    org.update("Account", clash, {"Ingest_Alias__c": "acme-clash"})

    def run_task(name: str, args: list[Any], kwargs: dict[str, Any]) -> None:
        raise AssertionError("an account letter replays through the account stream, not a task")

    result = replay_letter(store, sf_settings, letter.id, client=lambda: client, run_task=run_task)
    assert result.replayed, result.error
    assert customer_aliases(store, acme) == {acme, "acme", clash, "acme-clash"}
    with store.session() as s:
        assert list_letters(s, source=DeadLetterSource.ACCOUNT) == []
