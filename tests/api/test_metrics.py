"""`/metrics` on a live server, after a known sequence of runs, letters and events."""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
from sqlalchemy import func, select

from sfsync.models import Store
from sfsync.models.customers.records import create_customer
from sfsync.models.operations.api_keys import create_key
from sfsync.models.tables import Contract, DeadLetter, TaskRuntime
from sfsync.models.types import ApiScope, DeadLetterStatus, RunTrigger
from sfsync.sandbox import SandboxOrg
from sfsync.sandbox.client import loopback_session
from sfsync.sync.record_values import parse_sf_datetime
from sfsync.sync.salesforce import SalesforceClient
from sfsync.sync.streams.opportunities import poll_opportunities
from tests.api.conftest import LiveServer, start_server, stop_server
from tests.api.scrape import parse, scrape, value
from tests.unit.factories import build_settings
from tests.worker.conftest import Launch


def won_deals(org: SandboxOrg) -> list[dict[str, Any]]:
    """The org's won opportunities, read straight from its REST API."""
    http = loopback_session(org.instance_url, requests.Session())
    response = http.get(
        f"{org.instance_url}/services/data/v59.0/query",
        params={"q": "SELECT Id, AccountId, SystemModstamp FROM Opportunity WHERE IsWon = true"},
        headers={"Authorization": f"Bearer {org.access_token}"},
        timeout=10,
    )
    response.raise_for_status()
    return list(response.json()["records"])


def event(n: int, key: str, **extra: Any) -> dict[str, Any]:
    at = datetime.now(UTC) - timedelta(minutes=5)
    return {
        "transaction_id": f"m-{n}",
        "customer_id": key,
        "event_type": "api_call",
        "timestamp": at.isoformat(),
        "properties": {"n": n},
        **extra,
    }


def test_metrics_need_a_read_key(server: LiveServer) -> None:
    """Signed out, or with an ingest-only key, the scrape is refused."""
    with server.http() as http:
        assert http.get("/metrics").status_code == 401
    with server.http(server.key(ApiScope.INGEST)) as http:
        assert http.get("/metrics").status_code == 403


def test_metrics_equal_the_truth_after_runs_letters_and_events(server: LiveServer) -> None:
    """Lag, last run, records, allowance, letters, pending usage and ingest are all exact."""
    with server.store.session() as s:
        create_customer(s, "Metered", aliases=["metered-main"])
    with SandboxOrg(seed=21, opportunities=30) as org:
        orphan = org.create(
            "Opportunity",
            {"Name": "Orphan", "StageName": "Closed Won", "CloseDate": "2026-11-01", "Amount": 5},
        )
        deals = won_deals(org)
        settings = build_settings(
            database_url=server.store.url,
            sf_instance_url=org.instance_url,
            sf_login_url=org.login_url,
            sf_consumer_key=org.consumer_key,
            sf_consumer_secret=org.consumer_secret,
        )
        run_started = time.time()
        result = poll_opportunities(
            server.store, SalesforceClient(settings), settings, trigger=RunTrigger.MANUAL
        )
        run_ended = time.time()
        usage = org.counters()
    assert result.status.value == "succeeded"
    orphans = [d for d in deals if not d["AccountId"]]
    assert orphan in {d["Id"] for d in orphans}
    newest = max(parse_sf_datetime(d["SystemModstamp"]) for d in deals).timestamp()

    with server.http(server.key(ApiScope.INGEST)) as http:
        batch = [event(i, "metered-main") for i in range(2)]
        batch += [event(10 + i, "unknown-a") for i in range(3)]
        batch += [event(20 + i, "unknown-b") for i in range(2)]
        batch += [{"transaction_id": "m-bad", "customer_id": "x", "event_type": "e"}]
        ingest_started = time.time()
        http.post("/v1/ingest", json=batch)
        http.post("/v1/ingest", json=batch[:3])  # duplicates: stored once

    before = time.time()
    samples = scrape(server, server.key(ApiScope.READ))
    after = time.time()

    # Fresh as of the run's start; no run going, so no backlog; the cursor is the newest deal.
    fresh = value(samples, "sfsync_stream_freshness_seconds", stream="opportunities")
    assert before - run_ended - 1 <= fresh <= after - run_started + 1
    assert ("sfsync_stream_freshness_seconds", frozenset({("stream", "accounts")})) not in samples
    assert not [key for key in samples if key[0] == "sfsync_stream_backlog_seconds"]
    assert not [key for key in samples if key[0] == "sfsync_stream_lag_seconds"]
    cursor = value(samples, "sfsync_stream_cursor_timestamp_seconds", stream="opportunities")
    assert newest - 1 <= cursor <= newest  # capped at the run's start (a whole-second Date)
    assert (
        value(samples, "sfsync_stream_last_run_status", stream="opportunities", status="succeeded")
        == 1
    )
    for other in ("running", "failed", "throttled"):
        assert (
            value(samples, "sfsync_stream_last_run_status", stream="opportunities", status=other)
            == 0
        )
    end = value(samples, "sfsync_stream_last_run_end_timestamp_seconds", stream="opportunities")
    assert run_started - 1 <= end <= run_ended + 1
    records = {
        outcome: value(
            samples, "sfsync_stream_records_total", stream="opportunities", outcome=outcome
        )
        for outcome in ("read", "dead_lettered")
    }
    assert records == {"read": len(deals), "dead_lettered": len(orphans)}
    created = value(
        samples,
        "sfsync_stream_changes_total",
        stream="opportunities",
        object="contract",
        change="created",
    )
    assert created == len(deals) - len(orphans)
    assert value(samples, "sfsync_stream_run_duration_seconds_count", stream="opportunities") == 1
    took = value(samples, "sfsync_stream_run_duration_seconds_sum", stream="opportunities")
    assert 0 <= took <= run_ended - run_started + 1
    assert (
        value(
            samples, "sfsync_stream_run_duration_seconds_bucket", stream="opportunities", le="+Inf"
        )
        == 1
    )
    assert value(samples, "sfsync_salesforce_api_usage_ratio") == pytest.approx(
        usage["api_calls_total"] / usage["api_allowance"]
    )
    # The server's SFSYNC_SF_API_USAGE_MAX_PERCENT: unset, its default of 80.
    assert value(samples, "sfsync_salesforce_api_usage_threshold_ratio") == pytest.approx(0.8)
    assert value(samples, "sfsync_dead_letters_open", source="salesforce.opportunity") == len(
        orphans
    )
    assert value(samples, "sfsync_dead_letters_open", source="usage.event") == 1
    assert value(samples, "sfsync_dead_letters_open", source="task") == 0
    assert value(samples, "sfsync_usage_pending_events") == 5
    assert value(samples, "sfsync_usage_pending_keys") == 2
    oldest = value(samples, "sfsync_usage_pending_oldest_age_seconds")
    assert 0 <= oldest <= after - ingest_started + 1
    assert value(samples, "sfsync_usage_events_total", outcome="accepted") == 7
    assert value(samples, "sfsync_usage_events_total", outcome="duplicate") == 3
    assert value(samples, "sfsync_usage_events_total", outcome="rejected") == 1


def _count(store: Store, *criteria: Any, table: Any = DeadLetter) -> int:
    with store.session() as s:
        return int(s.scalar(select(func.count()).select_from(table).where(*criteria)) or 0)


def _tallied(store: Store) -> int:
    with store.session() as s:
        return int(s.scalar(select(func.coalesce(func.sum(TaskRuntime.count), 0))) or 0)


#: What the worker runs in the test below: (task, outcome) -> runs.
EXPECTED_RUNS = Counter(
    {
        ("sfsync.sync.provision_opportunity", "retried"): 2,  # two 503s on its query
        ("sfsync.sync.provision_opportunity", "succeeded"): 2,
        ("sfsync.sync.provision_opportunity", "dead_lettered"): 1,  # the orphan
        ("sfsync.usage.ingest", "succeeded"): 1,
        ("sfsync.usage.ingest", "dead_lettered"): 1,  # one event rejected
        ("sfsync.usage.ingest", "failed"): 1,  # not a list: the task raises
        ("sfsync.usage.resolve_pending", "succeeded"): 2,  # each stored batch's doorbell
        ("sfsync.signup.provision_customer", "succeeded"): 1,
        ("sfsync.sync.poll_accounts", "succeeded"): 1,
        ("sfsync.sync.poll_opportunities", "dead_lettered"): 1,  # the orphan again
        ("sfsync.deadletter.replay", "succeeded"): 1,  # the orphan, its account now set
        ("sfsync.deadletter.replay", "failed"): 1,  # the ingest task letter fails again
    }
)


@pytest.mark.worker
@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_task_runtimes_count_every_run_of_a_real_worker(
    store: Store, launch: Launch, tmp_path: Path
) -> None:
    """Each task's runs by outcome, from a real worker: counts exact, sums within the wall
    time, buckets cumulative; a task run directly inside a replay is not a run of its own."""
    deal = {"StageName": "Closed Won", "CloseDate": "2026-11-01", "Amount": 100.0}
    with SandboxOrg(seed=4, opportunities=0) as org:
        account = org.create("Account", {"Name": "Timed Co", "Ingest_Alias__c": "timed-co"})
        retried = org.create("Opportunity", {"Name": "Retried", "AccountId": account, **deal})
        plain = org.create("Opportunity", {"Name": "Plain", "AccountId": account, **deal})
        orphan = org.create("Opportunity", {"Name": "Orphan", **deal})
        # One process running one task at a time: the runtimes of all runs fit in the wall
        # time. No beat: only the tasks sent here run (the doorbells expire after an hour).
        procs = launch(org, SFSYNC_SF_RETRY_ATTEMPTS="1", SFSYNC_USAGE_SWEEP_INTERVAL="3600")
        org.faults.fail_next(2, "503", paths="/query")
        started = time.monotonic()
        procs.worker(concurrency=1)
        procs.enqueue("sfsync.sync.provision_opportunity", opportunity_id=retried)
        procs.wait_for(lambda: _count(store, table=Contract) == 1, what="the retried contract")

        procs.enqueue("sfsync.sync.provision_opportunity", opportunity_id=plain)
        procs.enqueue("sfsync.sync.provision_opportunity", opportunity_id=orphan)
        procs.enqueue("sfsync.usage.ingest", [event(1, "timed-co"), event(2, "nobody")])
        procs.enqueue("sfsync.usage.ingest", [event(3, "timed-co"), {"transaction_id": "bad"}])
        procs.enqueue("sfsync.usage.ingest", "not a list of events")
        procs.enqueue("sfsync.signup.provision_customer", "user-1", "Signup Co", ["su-1"], {})
        procs.enqueue("sfsync.sync.poll_accounts", trigger="manual")
        procs.enqueue("sfsync.sync.poll_opportunities", trigger="manual")
        runs = sum(EXPECTED_RUNS.values())
        procs.wait_for(lambda: _tallied(store) >= runs - 2, what="all runs but the replays")
        opened = DeadLetter.status == DeadLetterStatus.OPEN
        with store.session() as s:
            orphan_letter = s.scalars(
                select(DeadLetter.id).where(opened, DeadLetter.reference == orphan)
            ).one()
            task_letter = s.scalars(
                select(DeadLetter.id).where(opened, DeadLetter.task_name == "sfsync.usage.ingest")
            ).one()
        org.update("Opportunity", orphan, {"AccountId": account})
        procs.enqueue("sfsync.deadletter.replay", orphan_letter)
        # Fails again, inside the replay: the ingest task runs directly, not as a run of its own.
        procs.enqueue("sfsync.deadletter.replay", task_letter)
        procs.wait_for(lambda: _tallied(store) >= runs, what=f"{runs} tallied runs")
        wall = time.monotonic() - started

        server, url = start_server(procs.env, tmp_path / "serve.log")
        try:
            with store.session() as s:
                token = create_key(s, "prometheus", ApiScope.READ).token
            response = httpx.get(f"{url}/metrics", headers={"Authorization": f"Bearer {token}"})
        finally:
            stop_server(server)
    samples = parse(response)
    assert _count(store, opened, DeadLetter.reference == orphan) == 0  # replayed
    assert _count(store, opened, DeadLetter.id == task_letter, DeadLetter.attempts == 2) == 1

    name = "sfsync_task_runtime_seconds"
    counts = Counter(
        {
            (dict(labels)["task"], dict(labels)["outcome"]): int(v)
            for (metric, labels), v in samples.items()
            if metric == f"{name}_count"
        }
    )
    assert counts == EXPECTED_RUNS
    total = 0.0
    for task, outcome in EXPECTED_RUNS:
        labels = {"task": task, "outcome": outcome}
        took = value(samples, f"{name}_sum", **labels)
        assert took >= 0
        total += took
        buckets = sorted(
            (float(dict(key)["le"]), v)
            for (metric, key), v in samples.items()
            if metric == f"{name}_bucket" and {("task", task), ("outcome", outcome)} <= key
        )
        assert [n for _, n in buckets] == sorted(n for _, n in buckets)  # cumulative
        assert buckets[-1] == (float("inf"), EXPECTED_RUNS[(task, outcome)])
    # One run at a time: all of them together took no longer than the test waited.
    assert total <= wall
