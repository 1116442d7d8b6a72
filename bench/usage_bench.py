"""Benchmark: usage ingest + resolution against the bare driver, and a retroactive attach.

Run as `python -m bench.usage_bench --events 1000000 --backend sqlite|postgresql|both`;
prints one JSON object. Per backend:

- ingest: N events over 10,000 aliases (10% keyed on aliases not yet attached) through
  `sync.usage.ingest` in batches of 1,000, one transaction per batch, one process;
- resolve: the pending sweep once after the ingest (only raced events are left for it), and
  the sweep's own rate on the 10% whose aliases then appear without their retroactive UPDATE
  (what an attach racing with ingest leaves behind);
- bare: the same rows (already validated, attribution precomputed) inserted into an
  identical table through sqlite3 executemany / psycopg COPY, and our slowdown against it;
- attach: adding an alias that has 100,000 pending events (`models.aliases.add_aliases`).
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, select, text

from config import Settings
from models import Store, open_store
from models.aliases import add_aliases
from models.tables import Customer, IngestAlias
from models.usage import resolve_pending
from sync.usage import ingest

ALIASES = 10_000
UNATTACHED_SHARE = 0.10
ALIASES_PER_CUSTOMER = 10
BATCH = 1000
ATTACH_EVENTS = 100_000
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


def _events(
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


def _seed(store: Store) -> tuple[list[str], list[str]]:
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


def _bare_rows(store: Store, n: int, aliases: list[str]) -> list[list[tuple[Any, ...]]]:
    owners: dict[str, Any] = {}
    with store.session() as s:
        for alias, cid in s.execute(text("SELECT alias, customer_id FROM ingest_aliases")):
            owners[alias] = cid
    received = NOW if store.dialect == "postgresql" else NOW.strftime("%Y-%m-%d %H:%M:%S.%f")
    batches = []
    for batch in _events(n, aliases, seed=1, prefix="bare-"):
        rows = []
        for e in batch:
            ts = datetime.fromisoformat(e["timestamp"])
            rows.append(
                (
                    e["transaction_id"],
                    e["customer_id"],
                    owners.get(e["customer_id"]),
                    e["event_type"],
                    ts if store.dialect == "postgresql" else ts.strftime("%Y-%m-%d %H:%M:%S.%f"),
                    json.dumps(e["properties"], separators=(",", ":")),
                    received,
                )
            )
        batches.append(rows)
    return batches


def _bare_insert(store: Store, batches: list[list[tuple[Any, ...]]]) -> float:
    """Seconds to insert the rows through the driver into a copy of usage_events."""
    raw = store.engine.raw_connection()
    try:
        cur = raw.cursor()
        if store.dialect == "postgresql":
            cur.execute("CREATE TABLE bare_events (LIKE usage_events INCLUDING ALL)")
            raw.commit()
            cols = (
                "transaction_id, customer_key, customer_id, event_type, timestamp, properties, "
                "received_at"
            )
            start = time.perf_counter()
            for rows in batches:
                with cur.copy(f"COPY bare_events ({cols}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                raw.commit()
            return time.perf_counter() - start
        ddl = [
            sql.replace("usage_events", "bare_events")
            for (sql,) in cur.execute(
                "SELECT sql FROM sqlite_master WHERE tbl_name = 'usage_events' AND sql IS NOT NULL"
            ).fetchall()
        ]
        for statement in ddl:
            cur.execute(statement)
        start = time.perf_counter()
        for rows in batches:
            cur.execute("BEGIN IMMEDIATE")
            cur.executemany("INSERT INTO bare_events VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
            cur.execute("COMMIT")
        return time.perf_counter() - start
    finally:
        raw.close()


def run(url: str, n: int) -> dict[str, Any]:
    store = open_store(url, auto_migrate=True)
    settings = Settings(_env_file=None)
    try:
        aliases, unattached = _seed(store)
        ingest_s = 0.0
        counts = {"accepted": 0, "duplicate": 0, "rejected": 0}
        for batch in _events(n, aliases, seed=0):
            start = time.perf_counter()
            with store.session() as s:
                report = ingest(s, batch, settings, now=NOW)
            ingest_s += time.perf_counter() - start
            for key, value in report.counts().items():
                counts[key] += value
        start = time.perf_counter()
        with store.session() as s:
            resolved_after_ingest = resolve_pending(s)
        resolve_s = time.perf_counter() - start
        with store.session() as s:
            pending = int(
                s.execute(
                    text("SELECT count(*) FROM usage_events WHERE customer_id IS NULL")
                ).scalar_one()
            )

        # The raced case: the unattached aliases appear without their retroactive UPDATE.
        with store.session() as s:
            cid = s.scalars(select(Customer.id).order_by(Customer.id).limit(1)).one()
            s.execute(
                insert(IngestAlias),
                [{"alias": a, "customer_id": cid, "created_at": NOW} for a in unattached],
            )
        start = time.perf_counter()
        with store.session() as s:
            swept = resolve_pending(s)
        sweep_s = time.perf_counter() - start

        bare_batches = _bare_rows(store, n, aliases)
        bare_s = _bare_insert(store, bare_batches)
        del bare_batches

        # Retroactive attach: one alias with 100,000 pending events.
        for batch in _events(ATTACH_EVENTS, ["big-unattached-alias"], seed=2, prefix="big-"):
            with store.session() as s:
                ingest(s, batch, settings, now=NOW)
        with store.session() as s:
            owner_id = s.scalars(select(Customer.id).order_by(Customer.id).offset(1).limit(1)).one()
        start = time.perf_counter()
        with store.session() as s:
            add_aliases(s, owner_id, ["big-unattached-alias"])
        attach_s = time.perf_counter() - start
        with store.session() as s:
            attached = int(
                s.execute(
                    text(
                        "SELECT count(*) FROM usage_events "
                        "WHERE customer_key = 'big-unattached-alias' AND customer_id IS NOT NULL"
                    )
                ).scalar_one()
            )
        ours = n / (ingest_s + resolve_s)
        bare = n / bare_s
        return {
            "events": n,
            "counts": counts,
            "ingest_events_per_s": round(n / ingest_s),
            "resolve_after_ingest": {
                "attributed": resolved_after_ingest,
                "seconds": round(resolve_s, 3),
            },
            "pending_after_resolve": pending,
            "ingest_plus_resolve_events_per_s": round(ours),
            "sweep_raced_events": {
                "attributed": swept,
                "seconds": round(sweep_s, 3),
                "events_per_s": round(swept / sweep_s) if sweep_s else None,
            },
            "bare_driver": "psycopg COPY"
            if store.dialect == "postgresql"
            else "sqlite3 executemany",
            "bare_events_per_s": round(bare),
            "bare_over_ours": round(bare / ours, 2),
            "retroactive_attach": {"events": attached, "seconds": round(attach_s, 3)},
        }
    finally:
        store.close()


def main() -> None:
    """Run the chosen backends and print one JSON object."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    out: dict[str, Any] = {"events": args.events, "batch": BATCH, "aliases": ALIASES}
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as folder:
            out["sqlite"] = run(f"sqlite:///{Path(folder) / 'bench.db'}", args.events)
    if args.backend in ("postgresql", "both"):
        name = f"sfsync_usage_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            out["postgresql"] = run(PG_ADMIN.rsplit("/", 1)[0] + f"/{name}", args.events)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
