"""Usage benchmark figures beside the throughput: a month's summary for one customer, and
where one process's ingest time goes, phase by phase."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from sfsync.bench.usage_data import (
    MONTH,
    NOW,
    copy_in,
    executemany_in,
    make_events,
    raw_connection,
    row,
)
from sfsync.config import Settings
from sfsync.models import Store, exactjson
from sfsync.models.tables import Customer, IngestAlias
from sfsync.models.usage.insert import insert_events
from sfsync.models.usage.summary import GroupBy, SummaryRow, summarize
from sfsync.sync.usage import Limits, UsageRules, ingest, validate_event


def summary_figures(store: Store, count: int) -> dict[str, Any]:
    """Seed a month of `count` events for one customer (through the driver) and time its
    summaries: count with an exact sum, and grouped by event type."""
    with store.session() as s:
        cid = s.scalars(select(Customer.id).order_by(Customer.id).offset(2).limit(1)).one()
        keys = list(s.scalars(select(IngestAlias.alias).where(IngestAlias.customer_id == cid)))
    span = (MONTH[1] - MONTH[0]).total_seconds()
    owner: Any = cid if store.dialect == "postgresql" else cid.hex
    received = NOW if store.dialect == "postgresql" else NOW.strftime("%Y-%m-%d %H:%M:%S.%f")
    batches = []
    for first in range(0, count, 10_000):
        rows = []
        for i in range(first, min(count, first + 10_000)):
            when = MONTH[0] + timedelta(seconds=span * i / count)
            e = {
                "transaction_id": f"month-{i:08d}",
                "customer_id": keys[i % len(keys)],
                "event_type": ("api_call", "storage")[i % 2],
                "timestamp": when.isoformat(),
                "properties": {"bytes": i % 10_000, "region": "eu-west-1"},
            }
            rows.append(row(store, e, owner, received))
        batches.append(rows)
    with raw_connection(store) as raw:
        if store.dialect == "postgresql":
            copy_in(raw, "usage_events", batches)
            raw.cursor().execute("ANALYZE usage_events")
            raw.commit()
        else:
            executemany_in(raw, "usage_events", batches)
            raw.cursor().execute("ANALYZE")
    del batches
    out: dict[str, Any] = {"events": count}
    for name, group in (("total_with_sum", ()), ("by_event_type", (GroupBy("event_type"),))):
        start = time.perf_counter()
        with store.session() as s:
            found: list[SummaryRow] = summarize(
                s, cid, start=MONTH[0], end=MONTH[1], group_by=group, sums=["bytes"]
            )
        out[name] = {
            "seconds": round(time.perf_counter() - start, 3),
            "events": sum(r.events for r in found),
        }
    return out


def phase_figures(store: Store, settings: Settings, aliases: list[str], n: int) -> dict[str, Any]:
    """Where one process's time goes, phase by phase, on `n` fresh events (two sets: one
    taken apart, one through `ingest` whole, so the rest of `ingest` shows as accounting)."""
    bodies = [json.dumps(b) for b in make_events(n, aliases, seed=3, prefix="phase-")]
    start = time.perf_counter()
    decoded = [exactjson.loads(body) for body in bodies]
    decode_s = time.perf_counter() - start
    rules = UsageRules.of(settings)
    limits = Limits.of(rules, NOW)
    start = time.perf_counter()
    validated = [[validate_event(e, limits) for e in batch] for batch in decoded]
    validate_s = time.perf_counter() - start
    start = time.perf_counter()
    for batch_events in validated:
        with store.session() as s:
            insert_events(s, batch_events, received_at=NOW)
    insert_s = time.perf_counter() - start
    whole = [
        exactjson.loads(b) for b in (json.dumps(x) for x in make_events(n, aliases, 4, "ph2-"))
    ]
    start = time.perf_counter()
    for batch in whole:
        with store.session() as s:
            ingest(s, batch, rules, now=NOW)
    ingest_s = time.perf_counter() - start
    seconds = {
        "decode": decode_s,
        "validate": validate_s,
        "insert": insert_s,
        "accounting": max(0.0, ingest_s - validate_s - insert_s),
    }
    total = sum(seconds.values())
    return {
        "events": n,
        **{
            name: {
                "seconds": round(value, 3),
                "us_per_event": round(value / n * 1e6, 1),
                "share": round(value / total, 3),
            }
            for name, value in seconds.items()
        },
    }
