"""Writeback: the new customer's id reaches the Salesforce account through the outbox."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import select

from sfsync.config import Settings
from sfsync.models import Store
from sfsync.models.customers.fields import SFDC_ACCOUNT_ID
from sfsync.models.customers.records import create_customer
from sfsync.models.operations.deadletters import list_letters
from sfsync.models.operations.writebacks import backoff, count_pending, enqueue
from sfsync.models.tables import CustomFieldValue
from sfsync.models.types import DeadLetterSource, utcnow
from sfsync.sandbox import SandboxOrg
from sfsync.sync.replay import replay_letter
from sfsync.sync.salesforce import SalesforceClient
from sfsync.sync.streams.opportunities import poll_opportunities
from sfsync.sync.writeback import Drained, flush_writebacks


@pytest.fixture
def sandbox_org() -> Iterator[SandboxOrg]:
    """A small org of its own (these tests write to it)."""
    with SandboxOrg(seed=9, opportunities=40) as org:
        yield org


@pytest.fixture
def wb_settings(mode_settings: Callable[..., Settings]) -> Settings:
    return mode_settings("client_credentials", sf_writeback_field="Billing_Customer_Id__c")


def customer_ids(store: Store) -> dict[str, str]:
    """sfdc_account_id → customer id."""
    with store.session() as s:
        rows = s.execute(
            select(CustomFieldValue.value, CustomFieldValue.entity_id).where(
                CustomFieldValue.key == SFDC_ACCOUNT_ID
            )
        )
        return {account: str(customer) for account, customer in rows}


def test_new_customers_ids_are_written_to_their_accounts(
    org: SandboxOrg,
    store: Store,
    wb_settings: Settings,
    make_client: Callable[[Settings], SalesforceClient],
) -> None:
    """After a poll and a drain, every new customer's account carries its id."""
    client = make_client(wb_settings)
    poll_opportunities(store, client, wb_settings)
    with store.session() as s:
        assert count_pending(s) > 0
    drained = flush_writebacks(store, client, wb_settings)
    ids = customer_ids(store)
    assert drained.written == len(ids) and drained.failed == 0
    for account, customer in ids.items():
        assert org.get("Account", account)["Billing_Customer_Id__c"] == customer
    with store.session() as s:
        assert count_pending(s) == 0


def test_a_salesforce_failure_leaves_writebacks_pending_and_provisioning_intact(
    org: SandboxOrg,
    store: Store,
    wb_settings: Settings,
    make_client: Callable[[Settings], SalesforceClient],
) -> None:
    """Writes failing with 500 keep the rows pending; the next drain finishes them."""
    client = make_client(wb_settings.model_copy(update={"sf_retry_attempts": 1}))
    poll_opportunities(store, client, wb_settings)
    provisioned = customer_ids(store)
    org.faults.fail_next(1000, "500")
    failed = flush_writebacks(store, client, wb_settings)
    org.faults.clear()
    assert failed.written == 0 and failed.failed == len(provisioned)
    assert customer_ids(store) == provisioned
    with store.session() as s:
        assert count_pending(s) == len(provisioned)
    later = utcnow() + backoff(1)
    again = flush_writebacks(store, client, wb_settings, now=later)
    assert again.written == len(provisioned)


def test_a_passing_failure_backs_off_before_its_next_attempt(
    org: SandboxOrg,
    store: Store,
    wb_settings: Settings,
    make_client: Callable[[Settings], SalesforceClient],
) -> None:
    """A row that failed with a 5xx is not retried on the very next poll, only once its
    backoff has passed, and each failure doubles the wait."""
    client = make_client(wb_settings.model_copy(update={"sf_retry_attempts": 1}))
    account = org.create("Account", {"Name": "Flaky Writeback"})
    enqueue_for(store, [account])
    start = utcnow()
    org.faults.fail_next(2, "500")
    assert flush_writebacks(store, client, wb_settings, now=start).failed == 1
    calls = client.api_calls
    assert flush_writebacks(store, client, wb_settings, now=start) == Drained(0, 0)
    assert client.api_calls == calls  # not due: no call spent on it
    second = start + backoff(1)
    assert flush_writebacks(store, client, wb_settings, now=second).failed == 1
    assert flush_writebacks(store, client, wb_settings, now=second + backoff(1)) == Drained(0, 0)
    assert backoff(2) == 2 * backoff(1)
    done = flush_writebacks(store, client, wb_settings, now=second + backoff(2))
    assert done.written == 1
    assert org.get("Account", account)["Billing_Customer_Id__c"]


def test_permanently_failing_writebacks_do_not_starve_a_newer_one(
    org: SandboxOrg,
    store: Store,
    wb_settings: Settings,
    make_client: Callable[[Settings], SalesforceClient],
) -> None:
    """More than 200 writebacks to deleted accounts become dead letters and leave the outbox,
    each poll within its call bound, and the newer good writeback is written."""
    client = make_client(wb_settings)
    bound = wb_settings.writeback_max_per_poll
    gone = [org.create("Account", {"Name": f"Gone {n}"}) for n in range(205)]
    for account in gone:
        org.delete("Account", account)
    good = org.create("Account", {"Name": "Good Writeback"})
    customers = enqueue_for(store, [*gone, good])

    for _ in range(math.ceil(len(customers) / bound) + 1):
        before = client.api_calls
        flush_writebacks(store, client, wb_settings)
        assert client.api_calls - before <= bound + 1  # + one look at /limits at most
        if org.get("Account", good)["Billing_Customer_Id__c"]:
            break

    assert org.get("Account", good)["Billing_Customer_Id__c"] == customers[good]
    with store.session() as s:
        assert count_pending(s) == 0
        letters = list_letters(s, source=DeadLetterSource.WRITEBACK)
    by_account = {str(letter.reference): letter.payload for letter in letters}
    assert sorted(by_account) == sorted(gone)
    assert all(by_account[a] == {"account_id": a, "customer_id": customers[a]} for a in gone)


def test_a_non_editable_field_dead_letters_and_a_replay_writes_it_once_fixed(
    org: SandboxOrg,
    store: Store,
    wb_settings: Settings,
    make_client: Callable[[Settings], SalesforceClient],
) -> None:
    """A field the user cannot edit is a permanent failure: a letter, out of the outbox;
    replayed with the field fixed, the id is written and the letter closed."""
    read_only = wb_settings.model_copy(update={"sf_writeback_field": "SystemModstamp"})
    client = make_client(read_only)
    account = org.create("Account", {"Name": "Read-only Field"})
    customers = enqueue_for(store, [account])
    assert flush_writebacks(store, client, read_only).dead_lettered == 1
    with store.session() as s:
        assert count_pending(s) == 0
        (letter,) = list_letters(s, source=DeadLetterSource.WRITEBACK)
        assert "SystemModstamp" in letter.error_message

    replayed = replay_letter(
        store, wb_settings, letter.id, client=lambda: client, run_task=_no_task
    )

    assert replayed.replayed, replayed.error
    assert org.get("Account", account)["Billing_Customer_Id__c"] == customers[account]


def _no_task(name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
    raise AssertionError(f"a writeback replay runs no task ({name})")


def enqueue_for(store: Store, accounts: list[str]) -> dict[str, str]:
    """A customer and an outbox row per account, oldest first; account → customer id."""
    out: dict[str, str] = {}
    for n, account in enumerate(accounts):
        with store.session() as s:
            customer = create_customer(s, f"Writeback customer {n}")
            enqueue(s, account, customer.id)
            out[account] = str(customer.id)
    return out
