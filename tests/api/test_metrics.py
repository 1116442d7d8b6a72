"""`/metrics` on a live server, after a known sequence of runs, letters and events."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from models.customers import create_customer
from models.types import ApiScope, RunTrigger
from sandbox import SandboxOrg
from sandbox.client import loopback_session
from sync.mapping import parse_sf_datetime
from sync.opportunities import poll_opportunities
from sync.salesforce import SalesforceClient
from tests.api.conftest import LiveServer
from tests.unit.factories import build_settings

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(server: LiveServer, token: str) -> Samples:
    with server.http(token) as http:
        response = http.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


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

    lag = value(samples, "sfsync_stream_lag_seconds", stream="opportunities")
    assert before - newest - 1 <= lag <= after - newest + 1
    assert ("sfsync_stream_lag_seconds", frozenset({("stream", "accounts")})) not in samples
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
        for outcome in ("provisioned", "unchanged", "dead_lettered")
    }
    assert records == {
        "provisioned": len(deals) - len(orphans),
        "unchanged": 0,
        "dead_lettered": len(orphans),
    }
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
