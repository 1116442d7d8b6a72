"""Benchmark: the closed-won stream against a sandbox org — API calls, speed, memory.

Run as `python -m bench.sync_bench [--opportunities N] [--backend sqlite|postgresql|both]
[--scenario backfill|idle|incremental|lifecycle|reconcile|all]`; prints one JSON object.

A sandbox org (served by this process) is seeded with 20,000 accounts (about a quarter of
the top-level ones own 1-5 sub-organisations) and enough opportunities that ~N are closed
won (the seed makes ~35% won; the exact won count is reported). Each sync runs in a fresh
subprocess (`poll_opportunities`, as `sfsync sync run --inline`), so its peak RSS (VmHWM) is
its own. Per backend:

- backfill: a full sync into an empty store — opportunities/s, API calls (sandbox counters)
  beside the floor, peak RSS; the transport floor (the same query paged through
  simple-salesforce with the records discarded, also in a subprocess) and the ratio;
- idle: the incremental poll right after, with nothing changed: API calls and time;
- incremental: 1,000 won opportunities changed in the org (`org.update`), then one poll;
- lifecycle: 1,000 other won opportunities changed, of which 100 leave Closed Won and 50
  are deleted (the rest edited), then one poll (read through queryAll, won or not); the
  org is restored afterwards (re-won, undeleted) for the next backend;
- reconcile: right after, one reconciliation over every won deal (`sync.streams.reconcile`), the
  store in step with the org: the Id query's pages and the comparison.

With `backfill`, the peak RSS of a 10,000-opportunity backfill is reported beside the
N-opportunity one (same 20,000 accounts) to show memory does not grow with N.

The floor of API calls is ⌈won/2000⌉ query pages plus the hierarchy look-ups when every
account is read once per run in IN-lists as long as a query allows: per level of the trees,
⌈ids/ids-per-query⌉ going up (parents of accounts that have one) and going down (the
owning root accounts, then each level of their descendants, until a level is empty).
sfsync can go below it: ancestors come with the opportunity query, and a run spanning more
query pages than the org has pages of sub-organisations reads them all in one scan
(sync/salesforce/hierarchy.py). `scan_floor` is that figure: ⌈won/2000⌉ + ⌈child accounts/2000⌉.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from simple_salesforce.api import Salesforce
from sqlalchemy import create_engine, text

from sfsync.models import open_store
from sfsync.sandbox import SandboxOrg
from sfsync.sandbox.client import loopback_session
from sfsync.sync.salesforce import (
    IN_LIST_MAX_CHARS,
)

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
ACCOUNTS = 20_000
WON_SHARE = 0.35  # the seed's weights: Closed Won 28 + Signed 7 of 100
SMALL = 10_000
INCREMENTAL = 1_000
LEFT_WON = 100
DELETED = 50


# --- child processes -------------------------------------------------------------------------


def _spawn(kind: str, args: dict[str, Any]) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "sfsync.bench.sync_children", kind, json.dumps(args)],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parent.parent,
    )
    if out.returncode != 0:
        raise RuntimeError(f"{kind} child failed:\n{out.stderr[-4000:]}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


# --- the org and the floor -------------------------------------------------------------------


def _org(won: int) -> Any:
    return SandboxOrg(seed=7, accounts=ACCOUNTS, opportunities=math.ceil(won / WON_SHARE)).start()


def _sf(org: Any) -> Any:
    return Salesforce(
        instance_url=org.instance_url,
        session_id=org.access_token,
        version="59.0",
        session=loopback_session(org.instance_url),
    )


def _floor(org: Any) -> dict[str, Any]:
    """Won count and the API-call floor, from the org's own records."""
    sf = _sf(org)
    parent = {r["Id"]: r["ParentId"] for r in sf.query_all_iter("SELECT Id, ParentId FROM Account")}
    won = [
        r["AccountId"]
        for r in sf.query_all_iter("SELECT AccountId FROM Opportunity WHERE IsWon = true")
    ]
    per_query = (IN_LIST_MAX_CHARS - 2) // 21
    children: dict[str, list[str]] = {}
    for account, p in parent.items():
        if p:
            children.setdefault(p, []).append(account)

    def chunks(n: int) -> int:
        return math.ceil(n / per_query)

    accounts = {a for a in won if a}
    up = 0
    level = {parent[a] for a in accounts if parent.get(a)}
    roots: set[str] = set()
    while level:
        up += chunks(len(level))
        roots |= {a for a in level if not parent.get(a)}
        level = {parent[a] for a in level if parent.get(a)}
    owners = {a for a in accounts if not parent.get(a)} | roots
    down = 0
    level = owners
    while level:
        down += chunks(len(level))
        level = {c for a in level for c in children.get(a, [])}
    pages = math.ceil(len(won) / 2000)
    org.reset_counters()
    return {
        "won_opportunities": len(won),
        "accounts": len(parent),
        "accounts_with_won_deals": len(accounts),
        "ids_per_in_list": per_query,
        "floor": {"query_pages": pages, "hierarchy_up": up, "hierarchy_down": down},
        "floor_total": pages + up + down,
        "scan_floor": pages + math.ceil(sum(1 for p in parent.values() if p) / 2000),
    }


def _calls(org: Any) -> dict[str, int]:
    calls = {k: v for k, v in org.counters()["calls"].items() if k in ("query", "query_more")}
    org.reset_counters()
    return {**calls, "total": sum(calls.values())}


# --- stores ----------------------------------------------------------------------------------


@contextmanager
def _database(backend: str) -> Iterator[str]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{Path(folder) / 'bench.db'}"
            open_store(url, auto_migrate=True).close()
            yield url
        return
    name = f"sfsync_sync_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
        open_store(url, auto_migrate=True).close()
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _run_backend(org: Any, backend: str, scenarios: set[str], data_dir: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with _database(backend) as url:
        args = {
            "instance_url": org.instance_url,
            "token": org.access_token,
            "database_url": url,
            "data_dir": data_dir,
            "full": True,
        }
        org.reset_counters()
        sync = _spawn("sync", args)
        calls = _calls(org)
        records = sync["counters"]["records_seen"]
        out["backfill"] = {
            **sync,
            "opportunities_per_s": round(records / sync["seconds"]) if sync["seconds"] else None,
            "api_calls": calls,
        }
        if "backfill" in scenarios:
            transport = _spawn("transport", args)
            org.reset_counters()
            out["transport_floor"] = transport
            out["sync_over_transport"] = round(sync["seconds"] / transport["seconds"], 2)
        if "idle" in scenarios:
            idle = _spawn("sync", {**args, "full": False})
            out["idle_poll"] = {**idle, "api_calls": _calls(org)}
        if "incremental" in scenarios:
            sf = _sf(org)
            ids = [
                r["Id"]
                for r in sf.query_all_iter(
                    f"SELECT Id FROM Opportunity WHERE IsWon = true ORDER BY Id LIMIT {INCREMENTAL}"
                )
            ]
            # Amounts no earlier backend's run set, so every one of them is a change here.
            base = 1_000 + 1_000_000 * (["sqlite", "postgresql"].index(backend) + 1)
            for n, record_id in enumerate(ids):
                org.update("Opportunity", record_id, {"Amount": base + n})
            org.reset_counters()
            inc = _spawn("sync", {**args, "full": False})
            out["incremental"] = {**inc, "changed": len(ids), "api_calls": _calls(org)}
        if "lifecycle" in scenarios:
            out["lifecycle"] = _lifecycle(org, args, backend)
        if "reconcile" in scenarios:
            org.reset_counters()
            done = _spawn("reconcile", args)
            out["reconcile"] = {**done, "api_calls": _calls(org)}
        if "lifecycle" in scenarios:
            _restore(org)
    return out


_LIFECYCLE_IDS: list[str] = []


def _lifecycle(org: Any, args: dict[str, Any], backend: str) -> dict[str, Any]:
    """1,000 changed won deals: 100 leave Closed Won, 50 are deleted, the rest edited."""
    sf = _sf(org)
    ids = [
        r["Id"]
        for r in sf.query_all_iter(
            f"SELECT Id FROM Opportunity WHERE IsWon = true ORDER BY Id DESC LIMIT {INCREMENTAL}"
        )
    ]
    base = 5_000_000 * (["sqlite", "postgresql"].index(backend) + 1)
    for n, record_id in enumerate(ids):
        if n < LEFT_WON:
            org.update("Opportunity", record_id, {"StageName": "Closed Lost"})
        elif n < LEFT_WON + DELETED:
            org.delete("Opportunity", record_id)
        else:
            org.update("Opportunity", record_id, {"Amount": base + n})
    _LIFECYCLE_IDS[:] = ids
    org.reset_counters()
    run = _spawn("sync", {**args, "full": False})
    return {
        **run,
        "changed": len(ids),
        "left_closed_won": LEFT_WON,
        "deleted": DELETED,
        "api_calls": _calls(org),
    }


def _restore(org: Any) -> None:
    """Undo the lifecycle scenario's un-wins and deletes, so the next backend sees the same."""
    for n, record_id in enumerate(_LIFECYCLE_IDS[: LEFT_WON + DELETED]):
        if n < LEFT_WON:
            org.update("Opportunity", record_id, {"StageName": "Closed Won"})
        else:
            org.undelete("Opportunity", record_id)
    org.reset_counters()


def main() -> None:
    """Seed, serve, run the chosen backends and scenarios, print one JSON object."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--opportunities", type=int, default=100_000, help="won opportunities")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument(
        "--scenario",
        choices=["backfill", "idle", "incremental", "lifecycle", "reconcile", "all"],
        default="all",
    )
    args = parser.parse_args()
    every = {"backfill", "idle", "incremental", "lifecycle", "reconcile"}
    scenarios = every if args.scenario == "all" else {args.scenario}
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    out: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "scenarios": sorted(scenarios),
    }
    with tempfile.TemporaryDirectory() as data_dir:
        start = time.perf_counter()
        org = _org(args.opportunities)
        try:
            out["seed_seconds"] = round(time.perf_counter() - start, 1)
            out.update(_floor(org))
            for backend in backends:
                result = _run_backend(org, backend, scenarios, data_dir)
                result["api_calls_over_floor"] = (
                    result["backfill"]["api_calls"]["total"] - out["floor_total"]
                )
                out[backend] = result
        finally:
            org.stop()
        if "backfill" in scenarios and args.opportunities > SMALL:
            small = _org(SMALL)
            try:
                small_floor = _floor(small)
                with _database("sqlite") as url:
                    sync = _spawn(
                        "sync",
                        {
                            "instance_url": small.instance_url,
                            "token": small.access_token,
                            "database_url": url,
                            "data_dir": data_dir,
                            "full": True,
                        },
                    )
            finally:
                small.stop()
            out["rss_vs_n_sqlite"] = {
                f"{small_floor['won_opportunities']}": sync["peak_rss_mb"],
                f"{out['won_opportunities']}": out.get("sqlite", {})
                .get("backfill", {})
                .get("peak_rss_mb"),
            }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
