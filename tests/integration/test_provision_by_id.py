"""Provisioning opportunities by id (manual triggers, dead-letter replays) at any count."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from tenacity import wait_none

from sfsync.config import Settings
from sfsync.models import Store
from sfsync.models.operations.deadletters import list_letters
from sfsync.sandbox import SandboxOrg
from sfsync.sandbox.client import loopback_session
from sfsync.sync.opportunities import provision_opportunities
from sfsync.sync.salesforce import SalesforceClient

URL_LIMIT = 16_000  # what a GET's request line may safely carry to Salesforce


@pytest.fixture
def measured(
    org: SandboxOrg, sf_settings: Settings
) -> Iterator[tuple[SalesforceClient, list[int]]]:
    """A client whose every request URL length is recorded."""
    lengths: list[int] = []
    session = loopback_session(org.instance_url)

    def record(response: requests.Response, *args: Any, **kwargs: Any) -> None:
        lengths.append(len(response.request.url or ""))

    session.hooks["response"].append(record)
    client = SalesforceClient(sf_settings, session, wait=wait_none())
    yield client, lengths
    client.close()
    session.close()


def test_a_thousand_ids_are_fetched_in_urls_salesforce_accepts(
    org: SandboxOrg,
    store: Store,
    sf_settings: Settings,
    measured: tuple[SalesforceClient, list[int]],
) -> None:
    """Every won deal of 1,000 ids is provisioned, the rest dead-lettered; no URL is too long."""
    client, lengths = measured
    everything = client.query_all("SELECT Id, IsWon FROM Opportunity")
    assert len(everything) >= 1_000
    won = {r["Id"] for r in everything if r["IsWon"]}

    counters = provision_opportunities(store, client, sf_settings, [r["Id"] for r in everything])

    assert counters.contracts_created == len(won)
    assert counters.dead_lettered == len(everything) - len(won)
    with store.session() as s:
        assert len(list_letters(s)) == len(everything) - len(won)
    assert max(lengths) <= URL_LIMIT
