"""Probes the usage benchmark runs beside the ingest: an alias moved back and forth while it
runs (how long each move waits), and the plans of the owners' look-up."""

from __future__ import annotations

import statistics
import threading
import time
import uuid
from typing import Any

from psycopg import sql as pgsql

from sfsync.bench.usage_data import BATCH, raw_connection
from sfsync.models import Store
from sfsync.models.aliases.ownership import move_alias


class Mover(threading.Thread):
    """Moves one alias back and forth between two customers every 0.1 s while the ingest
    runs; each move's seconds (mostly waiting for the ingest's locks)."""

    def __init__(self, store: Store, alias: str, owners: list[uuid.UUID]) -> None:
        super().__init__(daemon=True)
        self.store, self.alias, self.owners = store, alias, owners
        self.stop = threading.Event()
        self.seconds: list[float] = []

    def run(self) -> None:
        turn = 0
        while not self.stop.wait(0.1):
            turn += 1
            start = time.perf_counter()
            with self.store.session() as s:
                move_alias(s, self.alias, self.owners[turn % 2])
            self.seconds.append(time.perf_counter() - start)

    def figures(self) -> dict[str, Any]:
        got = sorted(self.seconds)
        if not got:
            return {"moves": 0}
        return {
            "moves": len(got),
            "median_s": round(statistics.median(got), 4),
            "p95_s": round(got[min(len(got) - 1, int(len(got) * 0.95))], 4),
            "max_s": round(got[-1], 4),
        }


_OWNERS_PROBE = (
    "PREPARE owners_probe(text[]) AS SELECT alias, customer_id::text FROM ingest_aliases "
    "WHERE alias = ANY($1) ORDER BY alias"
)


def owners_plans(store: Store, aliases: list[str]) -> dict[str, Any]:
    """EXPLAIN ANALYZE of the owners' look-up for one batch's keys, planned for the array at
    hand (what `prepare=False` gets) and generically (what a prepared statement may get)."""
    keys = sorted(set(aliases[::10]))[:BATCH]

    def nodes(plan: dict[str, Any]) -> list[str]:
        return [plan["Node Type"]] + [n for child in plan.get("Plans", []) for n in nodes(child)]

    out: dict[str, Any] = {}
    with raw_connection(store) as raw:
        cur = raw.cursor()
        for name, mode in (("per_call", "force_custom_plan"), ("generic", "force_generic_plan")):
            cur.execute(f"SET plan_cache_mode = {mode}")
            cur.execute(_OWNERS_PROBE)
            # EXECUTE takes no bound parameter under EXPLAIN: the array goes in as a literal.
            explain = "EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE owners_probe({})"
            cur.execute(pgsql.SQL(explain).format(pgsql.Literal(keys)))
            (plan,) = cur.fetchone()[0]
            out[name] = {"nodes": nodes(plan["Plan"]), "ms": round(plan["Execution Time"], 2)}
            cur.execute("DEALLOCATE owners_probe")
        raw.rollback()
    return out
