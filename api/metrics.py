"""`GET /metrics`: Prometheus' text format, read from the store at scrape time.

A custom collector turns `models.reports.overview.read_overview` into metric families on each
scrape, so any number of server processes on any number of hosts answer the same, and
counters are sums over stored rows: nothing lives in one process's memory. The scrape
needs an API key with scope `read` (Prometheus' `authorization` option sends it).
"""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from sfsync.api.auth import require
from sfsync.api.state import state
from sfsync.config import Settings
from sfsync.models import Store
from sfsync.models.histogram import Histogram
from sfsync.models.operations.task_runtimes import TaskRuntimes, read_task_runtimes
from sfsync.models.reports.overview import Overview, read_overview
from sfsync.models.types import ApiScope, RunStatus, utcnow

__all__ = [
    "StoreCollector",
    "metrics",
    "router",
    "store_metrics",
    "stream_metrics",
    "task_runtime_metric",
]

router = APIRouter(tags=["monitoring"])


class StoreCollector(Collector):
    """Every sfsync metric, from one read of the store."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.settings = settings

    def collect(self) -> Iterator[Metric]:
        with self.store.reader() as session:
            overview = read_overview(session, utcnow())
            runtimes = read_task_runtimes(session)
        yield from stream_metrics(overview)
        yield from store_metrics(overview, self.settings)
        yield task_runtime_metric(runtimes)


def stream_metrics(overview: Overview) -> Iterator[Metric]:
    # sfsync_stream_lag_seconds (now minus the cursor) is gone: it grew on every quiet night.
    freshness = GaugeMetricFamily(
        "sfsync_stream_freshness_seconds",
        "Seconds since the start of the stream's last successful run, which read every "
        "change up to its start (absent before the first).",
        labels=["stream"],
    )
    backlog = GaugeMetricFamily(
        "sfsync_stream_backlog_seconds",
        "While a run is going: seconds since the oldest change it has read from Salesforce "
        "and not yet applied (absent between runs).",
        labels=["stream"],
    )
    cursor = GaugeMetricFamily(
        "sfsync_stream_cursor_timestamp_seconds",
        "The stream's cursor: the SystemModstamp of the newest change applied (Unix time). "
        "It stands still while nothing changes in Salesforce; not a delay.",
        labels=["stream"],
    )
    status = GaugeMetricFamily(
        "sfsync_stream_last_run_status",
        "1 for the status of the stream's last run (skipped runs aside), 0 for the others.",
        labels=["stream", "status"],
    )
    ended = GaugeMetricFamily(
        "sfsync_stream_last_run_end_timestamp_seconds",
        "When the stream's last run ended (Unix time).",
        labels=["stream"],
    )
    records = CounterMetricFamily(
        "sfsync_stream_records",
        "Records finished runs read from Salesforce (outcome read), and those dead-lettered.",
        labels=["stream", "outcome"],
    )
    changes = CounterMetricFamily(
        "sfsync_stream_changes",
        "What finished runs created or changed in the store, by object (customer, contract, "
        "alias) and change (created, updated, ended, archived, added); a run that changed "
        "nothing adds 0.",
        labels=["stream", "object", "change"],
    )
    durations = HistogramMetricFamily(
        "sfsync_stream_run_duration_seconds",
        "How long the stream's finished runs (poll tasks) took.",
        labels=["stream"],
    )
    for s in overview.streams:
        name = s.stream.value
        if s.timing.freshness_seconds is not None:
            freshness.add_metric([name], s.timing.freshness_seconds)
        if s.timing.backlog_seconds is not None:
            backlog.add_metric([name], s.timing.backlog_seconds)
        if s.cursor is not None:
            cursor.add_metric([name], s.cursor.timestamp())
        if s.last_run is not None:
            for value in RunStatus:
                if value is not RunStatus.SKIPPED:
                    status.add_metric([name, value.value], float(s.last_run.status is value))
            if s.last_run.finished_at is not None:
                ended.add_metric([name], s.last_run.finished_at.timestamp())
        records.add_metric([name, "read"], float(s.records.read))
        records.add_metric([name, "dead_lettered"], float(s.records.dead_lettered))
        for (kind, change), n in s.records.changes.items():
            changes.add_metric([name, kind, change], float(n))
        durations.add_metric([name], _buckets(s.durations), s.durations.total_seconds)
    yield from (freshness, backlog, cursor, status, ended, records, changes, durations)


def store_metrics(overview: Overview, settings: Settings) -> Iterator[Metric]:
    usage = GaugeMetricFamily(
        "sfsync_salesforce_api_usage_ratio",
        "Share of the org's 24-hour API allowance used, as of the last run that reported it.",
    )
    if overview.api_usage is not None:
        usage.add_metric([], overview.api_usage.ratio)
    yield usage
    yield GaugeMetricFamily(
        "sfsync_salesforce_api_usage_threshold_ratio",
        "SFSYNC_SF_API_USAGE_MAX_PERCENT as a ratio: runs stop as throttled above it.",
        value=settings.sf_api_usage_max_percent / 100,
    )
    letters = GaugeMetricFamily(
        "sfsync_dead_letters_open", "Open dead letters per source.", labels=["source"]
    )
    for source, n in overview.open_letters.items():
        letters.add_metric([source.value], float(n))
    yield letters
    pending = overview.pending
    yield GaugeMetricFamily(
        "sfsync_usage_pending_events",
        "Stored usage events no customer id or alias matches yet.",
        value=pending.events,
    )
    yield GaugeMetricFamily(
        "sfsync_usage_pending_keys", "Distinct keys of pending usage events.", value=pending.keys
    )
    oldest = GaugeMetricFamily(
        "sfsync_usage_pending_oldest_age_seconds",
        "Seconds since the oldest pending usage event was received.",
    )
    if pending.oldest_age_seconds is not None:
        oldest.add_metric([], pending.oldest_age_seconds)
    yield oldest
    ingest = CounterMetricFamily(
        "sfsync_usage_events",
        "Usage events ingested: accepted (stored once per transaction id), duplicate (sent "
        "again with a stored transaction id) and rejected (dead letters, each attempt counted).",
        labels=["outcome"],
    )
    ingest.add_metric(["accepted"], float(overview.ingest.accepted))
    ingest.add_metric(["duplicate"], float(overview.ingest.duplicate))
    ingest.add_metric(["rejected"], float(overview.ingest.rejected))
    yield ingest


def task_runtime_metric(runtimes: tuple[TaskRuntimes, ...]) -> Metric:
    family = HistogramMetricFamily(
        "sfsync_task_runtime_seconds",
        "How long task runs took, by task and how the run ended (succeeded, dead_lettered, "
        "retried, failed); every worker process's runs, tallied in the store.",
        labels=["task", "outcome"],
    )
    for r in runtimes:
        family.add_metric(
            [r.task, r.outcome.value], _buckets(r.histogram), r.histogram.total_seconds
        )
    return family


def _buckets(histogram: Histogram) -> list[tuple[str, float]]:
    """Prometheus' cumulative buckets, +Inf last."""
    buckets = [(f"{bound:g}", float(n)) for bound, n in histogram.buckets]
    buckets.append(("+Inf", float(histogram.count)))
    return buckets


@router.get("/metrics", dependencies=[require(ApiScope.READ)], include_in_schema=False)
def metrics(request: Request) -> Response:
    """Prometheus text format."""
    app_state = state(request)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(app_state.store, app_state.settings))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
