"""The stream's cursor follows Salesforce's clock (the Date of its responses), not the worker's.

The sandbox org's clock is moved away from the worker's; expectations come from the org's
own records and clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from sfsync.config import Settings
from sfsync.models import Entity, Store
from sfsync.models.customers.fields import SFDC_OPPORTUNITY_ID, find_by_field
from sfsync.sandbox import SandboxOrg
from sfsync.sync.salesforce import SalesforceClient
from sfsync.sync.streams.accounts import poll_accounts
from sfsync.sync.streams.opportunities import poll_opportunities

HOURS = 3600


@pytest.fixture
def sandbox_org() -> Iterator[SandboxOrg]:
    """A small org of the test's own, whose clock the test moves."""
    with SandboxOrg(seed=5, opportunities=40, page_size=200) as org:
        yield org


def _won(org: SandboxOrg, account: str, commit_at: datetime | None = None, **fields: Any) -> str:
    """A closed-won opportunity on `account` (stamped `commit_at`, a late commit, if given)."""
    values: dict[str, Any] = {
        "Name": "Clock deal",
        "AccountId": account,
        "StageName": "Closed Won",
        "CloseDate": "2026-11-02",
        "Amount": 900.0,
        "CurrencyIsoCode": "EUR",
    }
    return org.create("Opportunity", values | fields, commit_at=commit_at)


def _newest_stamp(org: SandboxOrg, sobject: str, won_only: bool = False) -> datetime:
    """The newest SystemModstamp among live rows (won ones only if asked), from the org."""
    stamps = [
        r.values["SystemModstamp"]
        for r in org.store.rows(sobject)
        if not r.deleted and (not won_only or r.values["IsWon"])
    ]
    return max(s for s in stamps if isinstance(s, datetime))


def _has_contract(store: Store, opportunity_id: str) -> bool:
    with store.session() as s:
        return find_by_field(s, Entity.CONTRACT, SFDC_OPPORTUNITY_ID, opportunity_id) is not None


def test_a_slow_worker_clock_does_not_hold_the_cursor_back(
    org: SandboxOrg, store: Store, client: SalesforceClient, sf_settings: Settings
) -> None:
    """Salesforce two hours ahead of the worker: the cursor reaches the newest won stamp."""
    org.clock.advance(2 * HOURS)
    account = org.create("Account", {"Name": "Ahead Co"})
    _won(org, account)
    # Past the Date header's whole second, so the cap is not below the newest stamp.
    org.clock.advance(2)
    result = poll_opportunities(store, client, sf_settings)
    assert result.cursor_after == _newest_stamp(org, "Opportunity", won_only=True)
    assert client.server_time is not None
    assert abs((client.server_time - org.clock.now()).total_seconds()) < 5


def test_the_account_stream_follows_salesforce_s_clock_too(
    org: SandboxOrg, store: Store, client: SalesforceClient, sf_settings: Settings
) -> None:
    """Both streams share the runner: an account renamed two hours ahead of the worker's
    clock moves the account cursor to its stamp."""
    account = org.create("Account", {"Name": "Renamed Co"})
    _won(org, account)
    poll_opportunities(store, client, sf_settings)
    org.clock.advance(2 * HOURS)
    org.update("Account", account, {"Name": "Renamed Co Ltd"})
    org.clock.advance(2)
    result = poll_accounts(store, client, sf_settings)
    assert result.cursor_after == _newest_stamp(org, "Account")


def test_a_row_stamped_ahead_of_salesforce_does_not_carry_the_cursor_past_later_work(
    org: SandboxOrg, store: Store, client: SalesforceClient, sf_settings: Settings
) -> None:
    """The cursor stops at Salesforce's time, not at a row stamped after it, so the next
    run still reads what Salesforce commits in between (with the worker's clock an hour
    ahead of Salesforce's, a cap at the worker's clock would not stop it)."""
    org.clock.advance(-1 * HOURS)
    account = org.create("Account", {"Name": "Skewed Co"})
    skewed = _won(org, account, org.clock.now() + timedelta(minutes=30), Name="Stamped ahead")
    first = poll_opportunities(store, client, sf_settings)
    assert _has_contract(store, skewed)
    assert first.cursor_after is not None and first.cursor_after <= org.clock.now()
    later = _won(org, account, Name="Committed later")
    poll_opportunities(store, client, sf_settings)
    assert _has_contract(store, later)
