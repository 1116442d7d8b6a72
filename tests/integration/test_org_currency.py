"""Single-currency orgs: contracts take the org's currency, read once per run."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest

from sfsync.config import Settings
from sfsync.models import Store
from sfsync.models.contracts.records import list_contracts
from sfsync.models.types import RunStatus
from sfsync.sandbox import SandboxOrg
from sfsync.sync.salesforce import SalesforceClient, SalesforcePermanentError
from sfsync.sync.streams.opportunities import poll_opportunities


@pytest.fixture
def sandbox_org() -> Iterator[SandboxOrg]:
    """A single-currency org whose currency is the euro, with a few accounts and no deals."""
    with SandboxOrg(
        seed=9, accounts=3, opportunities=0, multi_currency=False, currency="EUR"
    ) as org:
        yield org


def won_deal(org: SandboxOrg, account: str, name: str) -> str:
    """A closed-won deal as a single-currency org has it: no CurrencyIsoCode."""
    return org.create(
        "Opportunity",
        {
            "Name": name,
            "AccountId": account,
            "StageName": "Closed Won",
            "CloseDate": "2026-11-02",
            "Amount": 1200.0,
        },
    )


def _sync(store: Store, client: SalesforceClient, settings: Settings) -> list[str]:
    result = poll_opportunities(store, client, settings)
    assert result.status is RunStatus.SUCCEEDED
    with store.session() as s:
        return sorted(c.currency for c in list_contracts(s))


def test_contracts_take_the_orgs_currency_read_once_per_run(
    org: SandboxOrg,
    store: Store,
    mode_settings: Callable[..., Settings],
    make_client: Callable[[Settings], SalesforceClient],
) -> None:
    """No CurrencyIsoCode on records: every contract is in the org's DefaultCurrencyIsoCode."""
    settings = mode_settings("client_credentials", sf_multi_currency=False)
    client = make_client(settings)
    for n in range(3):
        account = org.create("Account", {"Name": f"Euro Co {n}"})
        won_deal(org, account, f"Deal {n}")
    org.reset_counters()
    assert _sync(store, client, settings) == ["EUR"] * 3
    shapes = org.counters()["queries"]
    assert sum(n for shape, n in shapes.items() if "Organization" in shape) == 1


def test_sfsync_default_currency_overrides_the_orgs(
    org: SandboxOrg,
    store: Store,
    mode_settings: Callable[..., Settings],
    make_client: Callable[[Settings], SalesforceClient],
) -> None:
    """SFSYNC_DEFAULT_CURRENCY, when set, wins over the org's currency (and saves the call)."""
    settings = mode_settings("client_credentials", sf_multi_currency=False, default_currency="GBP")
    client = make_client(settings)
    account = org.create("Account", {"Name": "Pound Co"})
    won_deal(org, account, "Deal")
    org.reset_counters()
    assert _sync(store, client, settings) == ["GBP"]
    assert not any("Organization" in shape for shape in org.counters()["queries"])


def test_a_single_currency_org_syncs_with_no_currency_setting(
    org: SandboxOrg,
    store: Store,
    mode_settings: Callable[..., Settings],
    make_client: Callable[[Settings], SalesforceClient],
) -> None:
    """SFSYNC_SF_MULTI_CURRENCY unset: the org's describe says single-currency, the sync works."""
    settings = mode_settings("client_credentials")
    assert settings.sf_multi_currency is None
    client = make_client(settings)
    account = org.create("Account", {"Name": "Detected Co"})
    won_deal(org, account, "Deal")
    org.reset_counters()
    assert _sync(store, client, settings) == [org.default_currency]
    assert not any(re.search(r"\bCurrencyIsoCode\b", q) for q in org.counters()["queries"])
    assert org.counters()["calls"]["describe"] == 1  # one describe of Opportunity
    _sync(store, client, settings)
    assert org.counters()["calls"]["describe"] == 1  # read once per client


def test_forcing_multi_currency_on_a_single_currency_org_names_the_setting(
    org: SandboxOrg,
    store: Store,
    mode_settings: Callable[..., Settings],
    make_client: Callable[[Settings], SalesforceClient],
) -> None:
    """SFSYNC_SF_MULTI_CURRENCY=true overrides the org: its INVALID_FIELD names the setting."""
    settings = mode_settings("client_credentials", sf_multi_currency=True)
    client = make_client(settings)
    account = org.create("Account", {"Name": "Forced Co"})
    won_deal(org, account, "Deal")
    org.reset_counters()
    with pytest.raises(
        SalesforcePermanentError, match=r"CurrencyIsoCode.*SFSYNC_SF_MULTI_CURRENCY"
    ):
        poll_opportunities(store, client, settings)
    assert "describe" not in org.counters()["calls"]  # the override costs no describe
