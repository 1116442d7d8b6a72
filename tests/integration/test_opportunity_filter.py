"""SFSYNC_SF_OPPORTUNITY_FILTER against the sandbox org: which deals count, and one clear
error for a typo. Expectations come from the org's own records, never from sfsync's SOQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest

from sfsync.config import Settings
from sfsync.models import Entity, Store
from sfsync.models.contracts.records import contracts_by_key, list_contracts
from sfsync.models.customers.fields import SFDC_OPPORTUNITY_ID, fields_for
from sfsync.models.operations.deadletters import list_letters
from sfsync.models.operations.runs import list_runs
from sfsync.models.types import RunStatus, Stream
from sfsync.sandbox import SandboxOrg
from sfsync.sync.opportunities import provision_opportunities
from sfsync.sync.salesforce import SalesforceClient, SalesforceConfigError
from sfsync.sync.streams.opportunities import poll_opportunities

CHECK_SHAPE = "SELECT Id FROM Opportunity WHERE IsWon = true AND ({}) LIMIT ?"


@pytest.fixture
def sandbox_org() -> Iterator[SandboxOrg]:
    """A small org of the test's own: won deals of every Type, lost and open ones too."""
    with SandboxOrg(seed=8, opportunities=120, page_size=200) as org:
        yield org


@pytest.fixture
def filtered(
    sf_settings: Settings, make_client: Callable[[Settings], SalesforceClient]
) -> Callable[[str], tuple[Settings, SalesforceClient]]:
    """Settings with a filter, and a client of their own."""

    def make(condition: str) -> tuple[Settings, SalesforceClient]:
        settings = sf_settings.model_copy(update={"sf_opportunity_filter": condition})
        return settings, make_client(settings)

    return make


def won_where(org: SandboxOrg, keep: Callable[[str | None], bool]) -> set[str]:
    """Ids of live won opportunities whose Type passes `keep` (the truth, from the org)."""
    return {
        r.id
        for r in org.store.rows("Opportunity")
        if not r.deleted and r.values["IsWon"] and keep(r.values["Type"])  # type: ignore[arg-type]
    }


def contracted(store: Store) -> set[str]:
    """Opportunity ids the store holds a contract for."""
    with store.session() as s:
        contracts = list_contracts(s)
        fields = fields_for(s, Entity.CONTRACT, [c.id for c in contracts])
    return {fields[c.id][SFDC_OPPORTUNITY_ID] for c in contracts}


def test_only_won_deals_matching_the_filter_get_contracts(
    org: SandboxOrg, store: Store, filtered: Callable[[str], tuple[Settings, SalesforceClient]]
) -> None:
    """`Type != 'Renewal'` keeps untyped deals too (SOQL's != matches null), and no lost one."""
    settings, client = filtered("Type != 'Renewal'")
    result = poll_opportunities(store, client, settings)
    assert result.status is RunStatus.SUCCEEDED
    expected = won_where(org, lambda t: t != "Renewal")
    assert expected and expected != won_where(org, lambda t: True)
    assert contracted(store) == expected


def test_an_or_inside_the_filter_cannot_widen_is_won(
    org: SandboxOrg, store: Store, filtered: Callable[[str], tuple[Settings, SalesforceClient]]
) -> None:
    """The filter is parenthesised: an OR in it selects among won deals only."""
    settings, client = filtered("Type = 'Renewal' OR Type = 'New Business'")
    poll_opportunities(store, client, settings)
    assert contracted(store) == won_where(org, lambda t: t in ("Renewal", "New Business"))


@pytest.mark.parametrize(
    ("condition", "code", "named"),
    [
        ("Typo__c = 'x'", "INVALID_FIELD", "Typo__c"),
        ("Type = ", "MALFORMED_QUERY", "Type ="),
    ],
)
def test_a_typo_is_one_failed_run_naming_the_setting(
    org: SandboxOrg,
    store: Store,
    filtered: Callable[[str], tuple[Settings, SalesforceClient]],
    condition: str,
    code: str,
    named: str,
) -> None:
    """One LIMIT 1 query, then a failed run whose error names the setting: no stream query,
    no dead letters, no contracts."""
    settings, client = filtered(condition)
    with pytest.raises(SalesforceConfigError) as exc:
        poll_opportunities(store, client, settings)
    message = str(exc.value)
    assert "SFSYNC_SF_OPPORTUNITY_FILTER" in message and code in message and named in message
    calls = org.counters()["calls"]
    assert calls["query"] == 1 and "query_more" not in calls
    with store.session() as s:
        (run,) = list_runs(s, stream=Stream.OPPORTUNITIES)
        assert run.status is RunStatus.FAILED
        assert run.error is not None and "SFSYNC_SF_OPPORTUNITY_FILTER" in run.error
        assert list_letters(s) == []
    assert contracted(store) == set()


def test_the_filter_is_checked_once_per_client(
    org: SandboxOrg, store: Store, filtered: Callable[[str], tuple[Settings, SalesforceClient]]
) -> None:
    """The second run of the same client skips the check: its idle poll is one call."""
    settings, client = filtered("Type != 'Renewal'")
    poll_opportunities(store, client, settings)
    second = poll_opportunities(store, client, settings)
    assert org.counters()["queries"][CHECK_SHAPE.format("Type != ?")] == 1
    assert second.status is RunStatus.SUCCEEDED
    assert second.counters.api_calls == 1


def test_provision_by_id_refuses_a_deal_the_filter_excludes(
    org: SandboxOrg, store: Store, filtered: Callable[[str], tuple[Settings, SalesforceClient]]
) -> None:
    """A won Renewal asked for by id is a dead letter that names the filter; a match is kept."""
    settings, client = filtered("Type != 'Renewal'")
    renewal = min(won_where(org, lambda t: t == "Renewal"))
    kept = min(won_where(org, lambda t: t != "Renewal"))
    counters = provision_opportunities(store, client, settings, [renewal, kept])
    assert counters.dead_lettered == 1
    assert contracted(store) == {kept}
    with store.session() as s:
        (letter,) = list_letters(s)
    assert letter.reference == renewal
    assert "SFSYNC_SF_OPPORTUNITY_FILTER" in letter.error_message


def _status(store: Store, opportunity: str) -> str:
    with store.session() as s:
        return contracts_by_key(s, SFDC_OPPORTUNITY_ID)[opportunity].status.value


def test_a_deal_that_stops_matching_the_filter_ends_and_matching_again_reactivates(
    org: SandboxOrg, store: Store, filtered: Callable[[str], tuple[Settings, SalesforceClient]]
) -> None:
    """Edited into a Renewal after it was won, a deal is treated as one that left Closed Won;
    edited back, its contract is active again."""
    settings, client = filtered("Type != 'Renewal'")
    poll_opportunities(store, client, settings)
    deal = min(won_where(org, lambda t: t != "Renewal"))
    org.clock.advance(60)
    org.update("Opportunity", deal, {"Type": "Renewal"})
    (row,) = [r for r in org.store.rows("Opportunity") if r.id == deal]
    start = datetime.fromisoformat(str(row.values["CloseDate"])).replace(tzinfo=UTC)
    changed = row.values["SystemModstamp"]
    assert isinstance(changed, datetime)
    expected = "ended" if start <= changed else "archived"
    poll_opportunities(store, client, settings)
    assert _status(store, deal) == expected
    org.clock.advance(60)
    org.update("Opportunity", deal, {"Type": "New Business"})
    poll_opportunities(store, client, settings)
    assert _status(store, deal) == "active"
