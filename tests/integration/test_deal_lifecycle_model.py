"""Model-based: seeded random sequences of Salesforce changes, a sync after each, and the
store compared with a model the test computes from the sandbox's own records.

The model is this file's own statement of the lifecycle (the README's table), applied to
the org's records as Salesforce holds them — never through sfsync's mapping:

- a record that counts (won, not deleted) gives terms: start = CloseDate (midnight UTC),
  end = start + the term in months (none: open-ended), amount, currency, owner = AccountId.
  No contract yet: created. Otherwise, if anything differs, the contract takes the terms
  and is active again — unless the currency or the start changed on a contract that had
  started by the record's SystemModstamp (not archived): then nothing changes;
- a record that does not count ends an active contract: archived if it had not started by
  the record's SystemModstamp, else ended, its end moved to the SystemModstamp if later;
- each change is one revision.

An incremental run reads the records changed since its cursor (less the lookback), so a
late commit (a SystemModstamp older than that) is invisible to it; a reconciliation (every
fifth step) reads everything. Re-reading a record already applied changes nothing, so the
model applies every recently stamped record after an incremental run and every record
after a reconciliation.
"""

from __future__ import annotations

import calendar
import random
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from sfsync.config import Settings
from sfsync.models import Entity, Store
from sfsync.models.contracts.records import list_contracts
from sfsync.models.contracts.revisions import history
from sfsync.models.customers.fields import SFDC_ACCOUNT_ID, SFDC_OPPORTUNITY_ID, fields_for
from sfsync.models.types import RunStatus
from sfsync.sandbox import SandboxOrg
from sfsync.sync.salesforce import SalesforceClient
from sfsync.sync.streams.opportunities import poll_opportunities
from sfsync.sync.streams.reconcile import reconcile

STEPS = 25
RECONCILE_EVERY = 5
TERM_FIELD = "Contract_Term_Months__c"


@dataclass(frozen=True)
class Expected:
    status: str
    starting_at: datetime
    ending_before: datetime | None
    amount: Decimal | None
    currency: str
    owner: str
    revisions: int


@pytest.fixture
def sandbox_org() -> Iterator[SandboxOrg]:
    with SandboxOrg(seed=2, opportunities=20, page_size=200) as org:
        yield org


@pytest.fixture
def sf_settings(mode_settings: Any) -> Settings:
    settings: Settings = mode_settings("client_credentials", contract_term_field=TERM_FIELD)
    return settings


# --- the model ------------------------------------------------------------------------------


def _add_months(start: datetime, months: int) -> datetime:
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    return start.replace(
        year=year, month=month, day=min(start.day, calendar.monthrange(year, month)[1])
    )


def _terms(values: dict[str, Any]) -> tuple[datetime, datetime | None, Decimal | None, str, str]:
    close = values["CloseDate"]
    start = datetime(close.year, close.month, close.day, tzinfo=UTC)
    term = values.get(TERM_FIELD)
    end = _add_months(start, int(term)) if term else None
    amount = values.get("Amount")
    return (
        start,
        end,
        Decimal(str(amount)) if amount is not None else None,
        str(values["CurrencyIsoCode"]),
        str(values["AccountId"]),
    )


def apply(current: Expected | None, values: dict[str, Any]) -> Expected | None:
    """The contract after sfsync reads this record (see the module docstring)."""
    at: datetime = values["SystemModstamp"]
    if values["IsWon"] and not values["IsDeleted"]:
        start, end, amount, currency, owner = _terms(values)
        if current is None:
            return Expected("active", start, end, amount, currency, owner, 1)
        target = replace(
            current,
            status="active",
            starting_at=start,
            ending_before=end,
            amount=amount,
            currency=currency,
            owner=owner,
        )
        if target == current:
            return current
        rewrites = currency != current.currency or start != current.starting_at
        had_started = current.status != "archived" and current.starting_at < at
        if rewrites and had_started:
            return current
        return replace(target, revisions=current.revisions + 1)
    if current is None or current.status != "active":
        return current
    if not current.starting_at < at:
        return replace(current, status="archived", revisions=current.revisions + 1)
    end = current.ending_before
    end = at if end is None or end > at else end
    return replace(current, status="ended", ending_before=end, revisions=current.revisions + 1)


# --- the Salesforce side -------------------------------------------------------------------


class World:
    """The org's deals this test creates and changes, and what the store must hold."""

    def __init__(self, org: SandboxOrg, rng: random.Random) -> None:
        self.org, self.rng = org, rng
        self.accounts = [org.create("Account", {"Name": f"Model Co {n}"}) for n in range(4)]
        self.deals: list[str] = []
        self.expected: dict[str, Expected | None] = {}
        self.recent = org.clock.now()  # every ordinary change is stamped after this
        self.late_commits = 0

    def values(self, deal: str) -> dict[str, Any]:
        record = self.org.store.find("Opportunity", deal)
        assert record is not None
        return dict(record.values)

    def _fields(self) -> dict[str, Any]:
        rng = self.rng
        day = self.org.clock.now().date() + timedelta(days=rng.randint(-120, 120))
        return {
            "CloseDate": day.isoformat(),
            "Amount": float(rng.choice([500, 1200, 9999.5, 25000])),
            "CurrencyIsoCode": rng.choice(["USD", "EUR", "GBP"]),
            TERM_FIELD: rng.choice([None, 6, 12, 24]),
        }

    def step(self) -> str:
        rng, org = self.rng, self.org
        org.clock.advance(1)
        live = [d for d in self.deals if not self.values(d)["IsDeleted"]]
        deleted = [d for d in self.deals if self.values(d)["IsDeleted"]]
        actions = ["win"] if len(self.deals) < 3 else ["win", "edit", "stage", "delete", "move"]
        if deleted:
            actions.append("undelete")
        actions += ["late"] if live else []
        action = rng.choice(actions)
        if action == "win":
            self.deals.append(
                org.create(
                    "Opportunity",
                    {
                        "Name": f"Model deal {len(self.deals)}",
                        "AccountId": rng.choice(self.accounts),
                        "StageName": "Closed Won",
                        **self._fields(),
                    },
                )
            )
            self.expected[self.deals[-1]] = None
            return action
        if action == "undelete":
            org.undelete("Opportunity", rng.choice(deleted))
            return action
        if not live:
            return "nothing"
        deal = rng.choice(live)
        if action == "delete":
            org.delete("Opportunity", deal)
            return action
        change = self._change(action)
        if action == "late":
            # Each late commit has its own instant, older than any cursor's lookback.
            self.late_commits += 1
            late = self.recent - timedelta(days=3, seconds=self.late_commits)
            change = {**self._change(rng.choice(["edit", "stage"])), "SystemModstamp": late}
        org.update("Opportunity", deal, change)
        return action

    def _change(self, action: str) -> dict[str, Any]:
        rng = self.rng
        if action == "stage":
            return {"StageName": rng.choice(["Closed Won", "Signed", "Negotiation", "Closed Lost"])}
        if action == "move":
            return {"AccountId": rng.choice(self.accounts)}
        name, value = rng.choice(list(self._fields().items()))
        return {name: value}

    def advance_model(self, *, everything: bool) -> None:
        for deal in self.deals:
            values = self.values(deal)
            if everything or values["SystemModstamp"] >= self.recent:
                self.expected[deal] = apply(self.expected[deal], values)


# --- the store side ------------------------------------------------------------------------


def held(store: Store, deals: list[str]) -> dict[str, Expected | None]:
    with store.session() as s:
        contracts = list_contracts(s)
        opportunity = fields_for(s, Entity.CONTRACT, [c.id for c in contracts])
        account = fields_for(s, Entity.CUSTOMER, {c.customer_id for c in contracts})
        out: dict[str, Expected | None] = dict.fromkeys(deals)
        for c in contracts:
            key = opportunity[c.id][SFDC_OPPORTUNITY_ID]
            if key in out:
                out[key] = Expected(
                    c.status.value,
                    c.starting_at,
                    c.ending_before,
                    c.amount,
                    c.currency,
                    account[c.customer_id][SFDC_ACCOUNT_ID],
                    len(history(s, c.id)),
                )
        return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_store_follows_random_deal_changes(
    org: SandboxOrg, store: Store, client: SalesforceClient, sf_settings: Settings, seed: int
) -> None:
    """After every step (and every reconciliation) the store equals the model of the org."""
    world = World(org, random.Random(seed))
    assert poll_opportunities(store, client, sf_settings).status is RunStatus.SUCCEEDED
    for number in range(1, STEPS + 1):
        action = world.step()
        result = poll_opportunities(store, client, sf_settings)
        assert result.status is RunStatus.SUCCEEDED, result.error
        world.advance_model(everything=False)
        assert held(store, world.deals) == world.expected, f"seed {seed} step {number}: {action}"
        if number % RECONCILE_EVERY == 0:
            assert reconcile(store, client, sf_settings).status is RunStatus.SUCCEEDED
            world.advance_model(everything=True)
            assert held(store, world.deals) == world.expected, f"seed {seed} reconcile {number}"
