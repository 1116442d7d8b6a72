"""Writeback: the new customer's id reaches the Salesforce account through the outbox."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from config import Settings
from models import Store
from models.fields import SFDC_ACCOUNT_ID
from models.writebacks import count_pending
from sandbox import SandboxOrg
from sync.opportunities import poll_opportunities
from sync.salesforce import SalesforceClient
from sync.writeback import flush_writebacks


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
    from sqlalchemy import select

    from models.tables import CustomFieldValue

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
    again = flush_writebacks(store, client, wb_settings)
    assert again.written == len(provisioned)
