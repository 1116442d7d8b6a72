"""Reconciliation finds and fixes what the incremental stream cannot see, and records it.

Changes committed with a SystemModstamp older than the lookback (late commits) are missed
by the stream by design; the truth is the org's own records.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import pytest

from sfsync.celery_app import create_app
from sfsync.config import Settings
from sfsync.models import Store
from sfsync.models.operations.runs import get_run
from sfsync.models.types import ContractStatus, RunStatus, Stream
from sfsync.sandbox import SandboxOrg
from sfsync.sync.salesforce import SalesforceClient
from sfsync.sync.streams.reconcile import reconcile
from sfsync.tasks import names
from tests.integration.helpers import contract_of, poll, query_pages, won_ids

PAGE_SIZE = 200


@pytest.fixture
def sandbox_org() -> Iterator[SandboxOrg]:
    with SandboxOrg(seed=5, opportunities=600, page_size=PAGE_SIZE) as org:
        yield org


def test_reconciliation_fixes_late_commits_and_records_the_drift(
    org: SandboxOrg, store: Store, client: SalesforceClient, sf_settings: Settings
) -> None:
    """A late win, a late un-win and a late edit: missed by the stream, fixed and counted
    by reconciliation; a second one finds nothing and costs the Id query's pages."""
    first = poll(store, client, sf_settings)
    assert first.cursor_after is not None
    long_ago = first.cursor_after - timedelta(seconds=sf_settings.sync_lookback_seconds + 3600)
    held = won_ids(org, started_before=long_ago)
    lost, edited = held[0], held[1]
    account = org.create("Account", {"Name": "Late Win Co"})
    org.clock.advance(5)
    late = org.create(
        "Opportunity",
        {
            "Name": "Committed late",
            "AccountId": account,
            "StageName": "Closed Won",
            "CloseDate": "2026-06-01",
            "SystemModstamp": long_ago,
        },
    )
    org.update("Opportunity", lost, {"StageName": "Closed Lost", "SystemModstamp": long_ago})
    org.update("Opportunity", edited, {"Amount": 31337.0, "SystemModstamp": long_ago})
    poll(store, client, sf_settings)
    assert contract_of(store, lost).status is ContractStatus.ACTIVE  # missed by the stream

    result = reconcile(store, client, sf_settings)

    assert result.status is RunStatus.SUCCEEDED
    counters = result.counters
    assert (counters.drift_missing, counters.drift_extra, counters.drift_changed) == (1, 1, 1)
    assert contract_of(store, late).status is ContractStatus.ACTIVE
    ended = contract_of(store, lost)
    assert (ended.status, ended.ending_before) == (ContractStatus.ENDED, long_ago)
    assert contract_of(store, edited).amount == Decimal("31337")
    with store.session() as s:
        run = get_run(s, result.run_id)
        assert (run.stream, run.drift_missing, run.drift_extra, run.drift_changed) == (
            Stream.RECONCILE,
            1,
            1,
            1,
        )

    org.reset_counters()
    again = reconcile(store, client, sf_settings)
    won = sum(1 for r in org.store.rows("Opportunity") if r.values["IsWon"] and not r.deleted)
    unprovisionable = won - len(won_ids(org))  # won deals without an account: dead letters
    assert (again.counters.drift_extra, again.counters.drift_changed) == (0, 0)
    assert again.counters.drift_missing == unprovisionable
    if not unprovisionable:
        assert query_pages(org) == again.counters.api_calls == math.ceil(won / PAGE_SIZE)


def test_reconciliation_has_a_daily_beat_entry_of_its_own(sf_settings: Settings) -> None:
    """Beat enqueues `sfsync.sync.streams.reconcile` every SFSYNC_RECONCILE_INTERVAL (a day)."""
    entry = create_app(sf_settings).conf.beat_schedule["reconcile"]
    assert entry["task"] == names.RECONCILE
    assert entry["schedule"] == timedelta(seconds=sf_settings.reconcile_interval) == timedelta(1)
