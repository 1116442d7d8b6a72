"""The README's benchmark commands run (at small sizes) and print the figures the table uses.

Only what a benchmark measures without a clock is asserted (counts, API calls); speeds are
the benchmarks' to report, never a test's to require.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import need, postgres_available, redis_available

ROOT = Path(__file__).resolve().parents[2]


def bench(module: str, *args: str) -> dict[str, Any]:
    """Run `python -m sfsync.bench.<module> args` as the README shows it; its JSON output."""
    out = subprocess.run(
        [sys.executable, "-m", f"sfsync.bench.{module}", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return dict(json.loads(out.stdout))


@pytest.fixture
def services() -> None:
    need(postgres_available(), "PostgreSQL on 127.0.0.1:5432")
    need(redis_available(), "Redis on 127.0.0.1:6379")


@pytest.mark.usefixtures("services")
def test_sync_bench_reports_every_scenario_on_both_backends() -> None:
    """Backfill, transport floor, idle poll, incremental, lifecycle and reconciliation
    figures, with the API-call floor."""
    figures = bench("sync_bench", "--opportunities", "3000", "--backend", "both")
    won = figures["won_opportunities"]
    assert won > 2_000 and figures["floor_total"] >= 2
    for backend in ("sqlite", "postgresql"):
        result = figures[backend]
        backfill = result["backfill"]
        assert backfill["status"] == "succeeded"
        assert (
            backfill["counters"]["records_seen"] == won == backfill["counters"]["contracts_created"]
        )
        assert backfill["api_calls"]["total"] <= figures["floor_total"] + 2
        assert result["transport_floor"]["records"] == won
        assert result["sync_over_transport"] > 0 and backfill["peak_rss_mb"] > 0
        assert result["idle_poll"]["api_calls"]["total"] == 1
        incremental = result["incremental"]
        assert incremental["counters"]["contracts_updated"] == incremental["changed"] == 1_000
        assert incremental["api_calls"]["total"] == 1
        lifecycle = result["lifecycle"]
        counters = lifecycle["counters"]
        assert (counters["contracts_ended"], counters["contracts_archived"]) == (150, 0)
        assert counters["contracts_updated"] == 850
        assert lifecycle["api_calls"]["total"] == 1
        reconcile = result["reconcile"]
        assert reconcile["status"] == "succeeded"
        assert reconcile["counters"]["records_seen"] == won - 150
        drift = [reconcile["counters"][f"drift_{k}"] for k in ("missing", "extra", "changed")]
        assert drift == [0, 0, 0]


@pytest.mark.usefixtures("services")
def test_worker_bench_backfills_through_beat_and_a_real_worker() -> None:
    """The worker path provisions every won deal from a beat-triggered run."""
    figures = bench(
        "worker_bench", "--opportunities", "2000", "--redis", "redis://127.0.0.1:6379/14"
    )
    assert figures["finished"] is True
    assert figures["records_seen"] == figures["contracts_created"] == figures["won_opportunities"]
    assert figures["runs"]["succeeded"] >= 1


@pytest.mark.usefixtures("services")
def test_usage_bench_reports_ingest_bare_driver_and_attach() -> None:
    """Ingest, bare driver, attach, summary and phases on both backends; several writers
    on PostgreSQL lose and duplicate nothing."""
    figures = bench(
        "usage_bench", "--events", "5000", "--backend", "both", "--summary-events", "5000"
    )
    for backend in ("sqlite", "postgresql"):
        result = figures[backend]
        assert result["counts"] == {"accepted": 5_000, "duplicate": 0, "rejected": 0}
        assert result["ingest_events_per_s"] > 0 and result["bare_events_per_s"] > 0
        assert result["bare_index_free_events_per_s"] > 0
        attach = result["retroactive_attach"]
        assert attach["events"] > 0
        assert attach["sweep_after"]["rows"] == attach["events"]  # derived, then written once
        assert result["summary_month"]["total_with_sum"]["events"] >= 5_000
        assert set(result["phases"]) >= {"decode", "validate", "insert", "accounting"}
        assert result["transactions"] >= 1 and len(result["beside_targets"]) >= 2
    writers = figures["postgresql_writers"]
    assert [w["processes"] for w in writers] == [1, 2, 4]
    for w in writers:
        assert (w["lost"], w["duplicated"], w["rejected"]) == (0, 0, 0)
        assert w["accepted_matches_distinct"] is True


@pytest.mark.usefixtures("services")
def test_api_bench_stores_every_event_sent_over_http() -> None:
    """Every event of every 100-event request is stored, from 8 clients to 2 server workers;
    both paths report a rate and the ratio is printed beside its target."""
    figures = bench("api_bench", "--events", "2000", "--backend", "both")
    assert len(figures["load_average_before"]) == len(figures["load_average_after"]) == 3
    for backend in ("sqlite", "postgresql"):
        result = figures[backend]
        assert (result["clients"], result["server_workers"], result["request_size"]) == (8, 2, 100)
        assert result["http"]["errors"] == 0
        assert result["http_events_stored"] == result["events"] == 2_000
        assert result["in_process_events_per_s"] > 0 and result["http_events_per_s"] > 0
        assert result["http_over_in_process_target"] == ">= 0.9"
    assert figures["postgresql"]["http_events_per_s_target"] == ">= 20000"
