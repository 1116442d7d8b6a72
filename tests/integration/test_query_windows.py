"""QUERY_TIMEOUT is not retried identically: the run halves its time window and goes on.

The sandbox fails the stream's next queries with QUERY_TIMEOUT; each failure must narrow
the range (the approach of Singer's tap-salesforce), the run must end with every won deal
provisioned, and it must record how far it shrank.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from sfsync.config import Settings
from sfsync.models import Store
from sfsync.models.operations.runs import get_run
from sfsync.models.types import RunStatus
from sfsync.sandbox import SandboxOrg
from sfsync.sync.salesforce import SalesforceClient
from sfsync.sync.streams.opportunities import poll_opportunities
from tests.integration.helpers import provisioned, won_ids

TIMEOUTS = 4  # more than the client's retries (3): an identical retry cannot get through


@pytest.fixture
def sandbox_org() -> Iterator[SandboxOrg]:
    with SandboxOrg(seed=9, opportunities=400, page_size=200) as org:
        yield org


def windowed_queries(org: SandboxOrg) -> list[str]:
    return [q for q in org.counters()["queries"] if re.search(r"SystemModstamp < \?", q)]


@pytest.mark.parametrize("backfill", [True, False], ids=["backfill", "incremental"])
def test_query_timeouts_halve_the_window_until_the_range_goes_through(
    org: SandboxOrg,
    store: Store,
    client: SalesforceClient,
    sf_settings: Settings,
    backfill: bool,
) -> None:
    """Four QUERY_TIMEOUTs: four halvings, recorded in the run; every won deal provisioned."""
    if not backfill:
        poll_opportunities(store, client, sf_settings)
        org.clock.advance(5)
        org.update("Opportunity", won_ids(org)[0], {"Amount": 4242.0})
    org.reset_counters()
    org.faults.fail_next(TIMEOUTS, "query_timeout", paths="/queryAll")

    result = poll_opportunities(store, client, sf_settings)

    assert result.status is RunStatus.SUCCEEDED, result.error
    assert result.counters.window_shrinks == TIMEOUTS
    assert result.counters.window_seconds > 0
    assert windowed_queries(org)
    with store.session() as s:
        run = get_run(s, result.run_id)
        assert (run.window_shrinks, run.window_seconds) == (
            TIMEOUTS,
            result.counters.window_seconds,
        )
    assert set(provisioned(store)) == set(won_ids(org))
