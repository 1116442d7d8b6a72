"""Task runtime tallies: one upsert per run, exact under concurrent runs from many processes."""

from __future__ import annotations

import multiprocessing as mp
from typing import Any

import pytest
from sqlalchemy import func, select

from sfsync.models import Store
from sfsync.models.histogram import Histogram
from sfsync.models.operations.task_runtimes import (
    TASK_RUNTIME_BUCKETS,
    read_task_runtimes,
    record_task_runtime,
)
from sfsync.models.tables import TaskRuntime
from sfsync.models.types import TaskRunOutcome

WORKERS = 4
RUNS_PER_WORKER = 40


def _by_key(store: Store) -> dict[tuple[str, TaskRunOutcome], Histogram]:
    with store.reader() as s:
        return {(r.task, r.outcome): r.histogram for r in read_task_runtimes(s)}


def _expected(seconds: list[float]) -> Histogram:
    return Histogram.of(TASK_RUNTIME_BUCKETS, seconds)


def test_runs_add_up_per_task_and_outcome_in_cumulative_buckets(store: Store) -> None:
    """Counts, sums and cumulative buckets equal the runs recorded; bounds land in their bucket."""
    runs = {
        ("sfsync.usage.ingest", TaskRunOutcome.SUCCEEDED): [0.01, 0.05, 0.3, 0.3, 7200.0],
        ("sfsync.usage.ingest", TaskRunOutcome.DEAD_LETTERED): [1.0],
        ("sfsync.sync.poll_opportunities", TaskRunOutcome.RETRIED): [2.5, 61.0],
        ("sfsync.sync.poll_opportunities", TaskRunOutcome.FAILED): [0.0],
    }
    for (task, outcome), seconds in runs.items():
        for value in seconds:
            with store.session() as s:
                record_task_runtime(s, task, outcome, value)
    got = _by_key(store)
    assert set(got) == set(runs)
    for key, seconds in runs.items():
        assert got[key].buckets == _expected(seconds).buckets
        assert got[key].count == len(seconds)
        assert got[key].total_seconds == pytest.approx(sum(seconds))
    # 0.05 is the first bound: a run of exactly 0.05s is in it (Prometheus' `le`).
    ingest = got[("sfsync.usage.ingest", TaskRunOutcome.SUCCEEDED)]
    assert ingest.buckets[0] == (0.05, 2)
    assert ingest.buckets[-1] == (3600.0, 4)  # the 2-hour run is in +Inf only


def test_a_task_keeps_one_row_per_outcome_and_bucket(store: Store) -> None:
    """However many runs, the table grows only by the buckets they fall in."""
    for _ in range(25):
        with store.session() as s:
            record_task_runtime(s, "sfsync.usage.resolve_pending", TaskRunOutcome.SUCCEEDED, 0.2)
            record_task_runtime(s, "sfsync.usage.resolve_pending", TaskRunOutcome.SUCCEEDED, 9.0)
    with store.reader() as s:
        assert s.scalar(select(func.count()).select_from(TaskRuntime)) == 2
        counts = dict(s.execute(select(TaskRuntime.le, TaskRuntime.count)).tuples().all())
    assert counts == {"0.25": 25, "10": 25}


def test_rows_of_bounds_no_longer_used_count_in_the_bucket_that_holds_them(store: Store) -> None:
    """Buckets may change between releases: an old row's runs move up, never down."""
    with store.session() as s:
        s.add(
            TaskRuntime(
                task="t", outcome=TaskRunOutcome.SUCCEEDED, le="0.3", count=3, sum_seconds=0.6
            )
        )
        s.add(
            TaskRuntime(
                task="t", outcome=TaskRunOutcome.SUCCEEDED, le="7200", count=1, sum_seconds=7000
            )
        )
    histogram = _by_key(store)[("t", TaskRunOutcome.SUCCEEDED)]
    assert dict(histogram.buckets)[0.25] == 0
    assert dict(histogram.buckets)[0.5] == 3
    assert dict(histogram.buckets)[3600.0] == 3
    assert histogram.count == 4
    assert histogram.total_seconds == pytest.approx(7000.6)


def _run_many(url: str, worker: int, barrier: Any) -> None:
    store = Store(url)
    try:
        barrier.wait()
        for n in range(RUNS_PER_WORKER):
            # Every worker hits the same row for most runs, and a second one for some.
            seconds = 0.02 if n % 4 else 3.0
            with store.session() as s:
                record_task_runtime(s, "sfsync.usage.ingest", TaskRunOutcome.SUCCEEDED, seconds)
    finally:
        store.close()


def test_concurrent_runs_in_many_processes_lose_no_increment(store: Store) -> None:
    """Processes tallying the same task and bucket at once: every run is counted, once."""
    ctx = mp.get_context("spawn")
    barrier = ctx.Manager().Barrier(WORKERS)
    with ctx.Pool(WORKERS) as pool:
        pool.starmap(_run_many, [(store.url, w, barrier) for w in range(WORKERS)])
    seconds = [0.02 if n % 4 else 3.0 for n in range(RUNS_PER_WORKER)] * WORKERS
    got = _by_key(store)[("sfsync.usage.ingest", TaskRunOutcome.SUCCEEDED)]
    assert got.count == WORKERS * RUNS_PER_WORKER
    assert got.buckets == _expected(seconds).buckets
    assert got.total_seconds == pytest.approx(sum(seconds))
