"""The usage benchmarks' data: seeded aliases, generated events, rows as the driver takes
them, and bare-driver inserts (psycopg COPY, sqlite3 executemany)."""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, text

from sfsync.models import Store
from sfsync.models.tables import Customer, IngestAlias

ALIASES = 10_000
UNATTACHED_SHARE = 0.10
ALIASES_PER_CUSTOMER = 10
BATCH = 1000
ATTACH_EVENTS = 100_000
PHASE_EVENTS = 100_000
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
MONTH = (datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC))
COLUMNS = (
    "transaction_id, customer_key, customer_id, event_type, timestamp, properties, received_at"
)


def make_events(
    n: int, aliases: list[str], seed: int, prefix: str = ""
) -> Iterator[list[dict[str, Any]]]:
    rng = random.Random(seed)
    base = NOW - timedelta(days=20)
    for start in range(0, n, BATCH):
        batch = []
        for i in range(start, min(n, start + BATCH)):
            batch.append(
                {
                    "transaction_id": f"{prefix}{uuid.UUID(int=rng.getrandbits(128), version=4)}",
                    "customer_id": aliases[rng.randrange(len(aliases))],
                    "event_type": "api_call",
                    "timestamp": (base + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "properties": {"bytes": rng.randrange(1, 10_000), "region": "eu-west-1"},
                }
            )
        yield batch


def seed(store: Store) -> tuple[list[str], list[str]]:
    """10,000 aliases; the first 90% attached (10 per customer), the rest not."""
    aliases = [f"org-{i:05d}" for i in range(ALIASES)]
    attached = aliases[: int(ALIASES * (1 - UNATTACHED_SHARE))]
    customers = []
    links = []
    for start in range(0, len(attached), ALIASES_PER_CUSTOMER):
        cid = uuid.uuid4()
        customers.append(
            {"id": cid, "name": f"Customer {start}", "created_at": NOW, "updated_at": NOW}
        )
        links += [
            {"alias": a, "customer_id": cid, "created_at": NOW}
            for a in attached[start : start + ALIASES_PER_CUSTOMER]
        ]
    with store.session() as s:
        s.execute(insert(Customer), customers)
        s.execute(insert(IngestAlias), links)
    return aliases, aliases[len(attached) :]


def alias_owners(store: Store) -> dict[str, Any]:
    with store.session() as s:
        rows = s.execute(text("SELECT alias, customer_id FROM ingest_aliases"))
        return {alias: customer_id for alias, customer_id in rows}


def row(store: Store, e: dict[str, Any], owner: Any, received: Any) -> tuple[Any, ...]:
    """A usage_events row as the driver takes it (sfsync's own text forms on SQLite)."""
    ts = datetime.fromisoformat(e["timestamp"])
    pg = store.dialect == "postgresql"
    return (
        e["transaction_id"],
        e["customer_id"],
        owner,
        e["event_type"],
        ts if pg else ts.strftime("%Y-%m-%d %H:%M:%S.%f"),
        json.dumps(e["properties"], separators=(",", ":")),
        received,
    )


@contextmanager
def raw_connection(store: Store) -> Iterator[Any]:
    raw = store.engine.raw_connection()
    try:
        yield raw
    finally:
        raw.close()


def copy_in(raw: Any, table: str, batches: list[list[tuple[Any, ...]]]) -> float:
    cur = raw.cursor()
    start = time.perf_counter()
    for rows in batches:
        with cur.copy(f"COPY {table} ({COLUMNS}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        raw.commit()
    return time.perf_counter() - start


def executemany_in(raw: Any, table: str, batches: list[list[tuple[Any, ...]]]) -> float:
    cur = raw.cursor()
    start = time.perf_counter()
    for rows in batches:
        cur.execute("BEGIN IMMEDIATE")
        cur.executemany(f"INSERT INTO {table} ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        cur.execute("COMMIT")
    return time.perf_counter() - start
