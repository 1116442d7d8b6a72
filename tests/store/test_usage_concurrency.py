"""Several processes ingesting overlapping batches at once: each event is stored exactly once."""

from __future__ import annotations

import multiprocessing as mp
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from sfsync.config import Settings
from sfsync.models import Store
from sfsync.models.tables import UsageEvent
from sfsync.sync.usage import UsageRules, ingest

WORKERS = 4
PER_WORKER = 600
STRIDE = 300  # each worker's range overlaps the next one's by half


def _ingest(url: str, worker: int, barrier: Any) -> dict[str, int]:
    store = Store(url)
    rules = UsageRules.of(Settings(_env_file=None))
    now = datetime(2026, 11, 20, 12, tzinfo=UTC)
    start = worker * STRIDE
    events = [
        {
            "transaction_id": f"tx-{i:05d}",
            "customer_id": f"key-{i % 7}",
            "event_type": "api_call",
            "timestamp": "2026-11-20T10:00:00Z",
        }
        for i in range(start, start + PER_WORKER)
    ]
    barrier.wait()
    try:
        totals = {"accepted": 0, "duplicate": 0, "rejected": 0}
        for offset in range(0, len(events), 100):
            with store.session() as s:
                report = ingest(s, events[offset : offset + 100], rules, now=now)
            for key, value in report.counts().items():
                totals[key] += value
        return totals
    finally:
        store.close()


def test_overlapping_batches_from_many_processes_store_each_event_once(store: Store) -> None:
    """Every event is stored once; accepted across processes equals the distinct ids."""
    ctx = mp.get_context("spawn")
    barrier = ctx.Manager().Barrier(WORKERS)
    with ctx.Pool(WORKERS) as pool:
        results = pool.starmap(_ingest, [(store.url, w, barrier) for w in range(WORKERS)])
    distinct = (WORKERS - 1) * STRIDE + PER_WORKER
    assert sum(r["accepted"] for r in results) == distinct
    assert sum(r["accepted"] + r["duplicate"] for r in results) == WORKERS * PER_WORKER
    assert all(r["rejected"] == 0 for r in results)
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(UsageEvent)) == distinct
        assert s.scalar(select(func.count(func.distinct(UsageEvent.transaction_id)))) == distinct
