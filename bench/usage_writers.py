"""Several ingesting processes on one store, with overlapping batches.

`run_writers(url, processes, events)`: each process ingests `events` events through
`sync.usage.ingest` in batches of 1,000; process p's range starts half a range after
process p-1's, so every id but the first and last half-ranges is sent twice, by two
processes at once. Reports the aggregate rate (events sent ÷ wall time from the common
start to the last finish) and checks the store: every distinct id stored exactly once
(0 lost, 0 duplicated) and the processes' accepted counts adding up to the distinct ids.
"""

from __future__ import annotations

import multiprocessing as mp
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from sfsync.config import Settings
from sfsync.models import Store
from sfsync.sync.usage import UsageRules, ingest

BATCH = 1000
NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


def _batches(start: int, count: int, aliases: list[str]) -> list[list[dict[str, Any]]]:
    base = NOW - timedelta(days=20)
    events = [
        {
            "transaction_id": f"w-{i:09d}",
            "customer_id": aliases[i % len(aliases)],
            "event_type": "api_call",
            "timestamp": (base + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "properties": {"bytes": i % 10_000, "region": "eu-west-1"},
        }
        for i in range(start, start + count)
    ]
    return [events[i : i + BATCH] for i in range(0, len(events), BATCH)]


def _writer(url: str, start: int, count: int, aliases: list[str], barrier: Any) -> dict[str, Any]:
    store = Store(url)
    rules = UsageRules.of(Settings(_env_file=None))
    batches = _batches(start, count, aliases)
    try:
        barrier.wait()
        began = time.time()
        totals = {"accepted": 0, "duplicate": 0, "rejected": 0}
        for batch in batches:
            with store.session() as s:
                report = ingest(s, batch, rules, now=NOW)
            for key, value in report.counts().items():
                totals[key] += value
        return {"began": began, "ended": time.time(), **totals}
    finally:
        store.close()


def run_writers(url: str, processes: int, events: int, aliases: list[str]) -> dict[str, Any]:
    """Ingest `events` per process from `processes` processes at once; figures and checks."""
    stride = events // 2
    distinct = (processes - 1) * stride + events
    ctx = mp.get_context("spawn")
    with ctx.Manager() as manager:
        barrier = manager.Barrier(processes)
        with ctx.Pool(processes) as pool:
            results = pool.starmap(
                _writer, [(url, p * stride, events, aliases, barrier) for p in range(processes)]
            )
    wall = max(r["ended"] for r in results) - min(r["began"] for r in results)
    store = Store(url)
    try:
        with store.session() as s:
            rows, ids = s.execute(
                text(
                    "SELECT count(*), count(DISTINCT transaction_id) FROM usage_events "
                    "WHERE transaction_id LIKE 'w-%'"
                )
            ).one()
    finally:
        store.close()
    sent = processes * events
    accepted = sum(r["accepted"] for r in results)
    return {
        "processes": processes,
        "events_sent": sent,
        "distinct_events": distinct,
        "seconds": round(wall, 3),
        "aggregate_events_per_s": round(sent / wall),
        "stored_events_per_s": round(distinct / wall),
        "accepted": accepted,
        "duplicate": sum(r["duplicate"] for r in results),
        "rejected": sum(r["rejected"] for r in results),
        "lost": distinct - int(ids),
        "duplicated": int(rows) - int(ids),
        "accepted_matches_distinct": accepted == distinct,
    }
