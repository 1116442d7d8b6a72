"""Helpers the integration tests share: polling the stream, and reading the org and the
store back as the tests' independent expectations."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sfsync.config import Settings
from sfsync.models import Entity, Store
from sfsync.models.aliases.lookups import aliases_of
from sfsync.models.contracts.records import get_contract, list_contracts
from sfsync.models.customers.fields import (
    SFDC_ACCOUNT_ID,
    SFDC_OPPORTUNITY_ID,
    fields_for,
    find_by_field,
)
from sfsync.models.tables import Contract
from sfsync.models.types import RunStatus
from sfsync.sandbox import SandboxOrg
from sfsync.sync.run_result import RunResult
from sfsync.sync.salesforce import SalesforceClient
from sfsync.sync.streams.opportunities import poll_opportunities

__all__ = [
    "contract_of",
    "customer_aliases",
    "poll",
    "provisioned",
    "query_pages",
    "won_deal",
    "won_ids",
]


def poll(store: Store, client: SalesforceClient, settings: Settings, **kw: Any) -> RunResult:
    result = poll_opportunities(store, client, settings, **kw)
    assert result.status is RunStatus.SUCCEEDED, result.error
    return result


def won_ids(org: SandboxOrg, *, started_before: datetime | None = None) -> list[str]:
    """Live won opportunities of the org with an account (optionally started by a time)."""
    return [
        r.id
        for r in org.store.rows("Opportunity")
        if r.values["IsWon"]
        and not r.deleted
        and r.values["AccountId"]
        and (started_before is None or _start(r.values) < started_before)
    ]


def _start(values: dict[str, Any]) -> datetime:
    close = values["CloseDate"]
    return datetime(close.year, close.month, close.day, tzinfo=UTC)


def contract_of(store: Store, opportunity: str) -> Contract:
    with store.session() as s:
        contract_id = find_by_field(s, Entity.CONTRACT, SFDC_OPPORTUNITY_ID, opportunity)
        assert contract_id is not None, f"no contract for {opportunity}"
        contract = get_contract(s, contract_id)
        s.expunge(contract)
        return contract


def query_pages(org: SandboxOrg) -> int:
    """Query pages (first or query_more, each one API call) served since the last reset."""
    return sum(org.counters()["queries"].values())


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
