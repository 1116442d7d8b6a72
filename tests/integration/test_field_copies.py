"""`[[copy]]` in sfsync.toml: Account and Opportunity fields land in custom fields on sync."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sfsync.config import Settings
from sfsync.models import Entity, Store
from sfsync.models.customers.fields import (
    SFDC_ACCOUNT_ID,
    SFDC_OPPORTUNITY_ID,
    find_by_field,
    get_fields,
)
from sfsync.sandbox import SandboxOrg
from sfsync.sync.salesforce import SalesforceClient
from sfsync.sync.streams.opportunities import poll_opportunities

MAPPING = """\
[[copy]]
from = "Account.Industry"
to = "customer.industry"

[[copy]]
from = "Opportunity.Type"
to = "contract.deal_type"
"""


@pytest.fixture
def copy_settings(sf_settings: Settings, tmp_path: Path) -> Settings:
    """The org's settings with the mapping file above (read as a command reads it)."""
    path = tmp_path / "sfsync.toml"
    path.write_text(MAPPING)
    return Settings(_env_file=None, config=path, **sf_settings.model_dump(exclude_unset=True))


def won(org: SandboxOrg, account: str, **fields: Any) -> str:
    return org.create(
        "Opportunity",
        {
            "Name": "Deal",
            "StageName": "Closed Won",
            "CloseDate": "2026-11-02",
            "Amount": 1000.0,
            "CurrencyIsoCode": "USD",
            "AccountId": account,
            **fields,
        },
    )


def customer_fields(store: Store, account: str) -> dict[str, str]:
    with store.session() as s:
        customer = find_by_field(s, Entity.CUSTOMER, SFDC_ACCOUNT_ID, account)
        assert customer is not None
        return get_fields(s, Entity.CUSTOMER, customer)


def contract_fields(store: Store, opportunity: str) -> dict[str, str]:
    with store.session() as s:
        contract = find_by_field(s, Entity.CONTRACT, SFDC_OPPORTUNITY_ID, opportunity)
        assert contract is not None
        return get_fields(s, Entity.CONTRACT, contract)


def test_copied_fields_follow_the_org_into_custom_fields(
    org: SandboxOrg,
    store: Store,
    copy_settings: Settings,
    make_client: Callable[[Settings], SalesforceClient],
) -> None:
    """The account's Industry is its customer's `industry`, each deal's Type its contract's
    `deal_type`; a rolled-up sub-organisation's Industry is not its enterprise's, and an
    edit reaches the store with the next sync of the deal."""
    assert [c.target for c in copy_settings.field_copies] == [
        "customer.industry",
        "contract.deal_type",
    ]
    root = org.create("Account", {"Name": "Copper Co", "Industry": "Mining"})
    child = org.create("Account", {"Name": "Copper Retail", "ParentId": root, "Industry": "Retail"})
    deal = won(org, root, Type="New Business")
    child_deal = won(org, child, Type="Expansion")
    client = make_client(copy_settings)
    poll_opportunities(store, client, copy_settings)

    assert customer_fields(store, root)["industry"] == org.get("Account", root)["Industry"]
    for opportunity in (deal, child_deal):
        truth = org.get("Opportunity", opportunity)["Type"]
        assert contract_fields(store, opportunity)["deal_type"] == truth

    org.update("Account", root, {"Industry": "Energy"})
    org.update("Opportunity", deal, {"Amount": 1100.0})
    poll_opportunities(store, client, copy_settings)
    assert customer_fields(store, root)["industry"] == "Energy"
