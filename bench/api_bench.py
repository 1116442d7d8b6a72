"""Benchmark: usage through `POST /v1/ingest` against in-process ingest of the same events.

Run as `python -m bench.api_bench --backend sqlite|postgresql|both` (defaults: 20,000 events,
2 server workers, 8 keep-alive clients); prints one JSON object. Per backend, the same
events (same transaction ids) go, in one run, to two fresh stores each seeded with 1,000
aliases:

- in_process: through `sync.usage.ingest` in batches of 100 (one transaction per batch,
  one thread), as a request would carry them;
- http: through a live `sfsync serve --workers 2` (a subprocess, the embedded filesystem
  broker), 100 events per request from 8 concurrent keep-alive clients, each request
  stored durably before its 200;
- http_over_in_process: http ÷ in_process events per second, beside its target (≥ 0.9),
  and on PostgreSQL the HTTP rate beside its own (≥ 20,000 events/s); request latency
  percentiles; the load average before and after (the machine may be shared).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from sfsync.config import Settings
from sfsync.models import Store, open_store
from sfsync.models.aliases.ownership import add_aliases
from sfsync.models.customers.records import create_customer
from sfsync.models.operations.api_keys import create_key
from sfsync.models.types import ApiScope
from sfsync.sync.usage import UsageRules, ingest

BATCH = 100
ALIASES = 1000
#: Issue 28's targets: HTTP ingest as fast as in-process, and 20k events/s on PostgreSQL.
RATIO_TARGET = 0.9
PG_RATE_TARGET = 20_000
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
SFSYNC = Path(sys.executable).parent / "sfsync"
_ADMIN = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")


def _batches(n: int, prefix: str) -> list[list[dict[str, Any]]]:
    stamp = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    events = [
        {
            "transaction_id": f"{prefix}-{i}",
            "customer_id": f"org-{i % ALIASES:04d}",
            "event_type": "api_call",
            "timestamp": stamp,
            "properties": {"bytes": i % 10_000, "region": "eu-west-1"},
        }
        for i in range(n)
    ]
    return [events[i : i + BATCH] for i in range(0, n, BATCH)]


def _seed(store: Store) -> str:
    with store.session() as s:
        for start in range(0, ALIASES, 10):
            customer = create_customer(s, f"Customer {start}")
            add_aliases(s, customer.id, [f"org-{i:04d}" for i in range(start, start + 10)])
        return create_key(s, "bench", ApiScope.INGEST).token


def _in_process(store: Store, batches: list[list[dict[str, Any]]], settings: Settings) -> float:
    rules = UsageRules.of(settings)
    started = time.perf_counter()
    for batch in batches:
        with store.session() as s:
            ingest(s, batch, rules)
    return time.perf_counter() - started


def _serve(
    url: str, data_dir: Path, workers: int, key_cache: float | None
) -> tuple[subprocess.Popen[bytes], str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SFSYNC_")}
    if key_cache is not None:
        env["SFSYNC_API_KEY_CACHE_SECONDS"] = str(key_cache)
    env.update({"SFSYNC_DATABASE_URL": url, "SFSYNC_DATA_DIR": str(data_dir)})
    env["SFSYNC_LOG_LEVEL"] = "WARNING"  # no access log in the measured path
    log = data_dir.parent / "serve.log"
    with socket.socket() as probe:  # a free port: the quiet log does not say which it took
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen(
        [str(SFSYNC), "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return proc, base
        except httpx.TransportError:
            time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)
    raise RuntimeError(f"sfsync serve did not start: {log.read_text(errors='replace')[-2000:]}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        # Every answer is in: a slow graceful shutdown on a loaded machine changes no figure.
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _http(
    base: str, token: str, batches: list[list[dict[str, Any]]], clients: int
) -> dict[str, Any]:
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    work = iter(batches)

    def client() -> None:
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=base, headers=headers, timeout=60) as http:
            while True:
                with lock:
                    batch = next(work, None)
                if batch is None:
                    return
                t0 = time.perf_counter()
                response = http.post("/v1/ingest", json=batch)
                elapsed = time.perf_counter() - t0
                with lock:
                    latencies.append(elapsed)
                    if response.status_code != 200:
                        errors.append(response.text[:200])

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - started
    latencies.sort()
    return {
        "seconds": round(seconds, 3),
        "errors": len(errors),
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p95_ms": round(latencies[int(len(latencies) * 0.95) - 1] * 1000, 1),
    }


def run(
    local_url: str,
    http_url: str,
    events: int,
    clients: int,
    workers: int,
    key_cache: float | None = None,
) -> dict[str, Any]:
    """The figures of one backend: `local_url` and `http_url` are two empty databases."""
    batches = _batches(events, "ev")
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        settings = Settings(_env_file=None, data_dir=data_dir, database_url=local_url)
        local_store = open_store(local_url, auto_migrate=True)
        _seed(local_store)
        local = _in_process(local_store, batches, settings)
        local_store.close()
        store = open_store(http_url, auto_migrate=True)
        token = _seed(store)
        proc, base = _serve(http_url, data_dir, workers, key_cache)
        try:
            remote = _http(base, token, batches, clients)
        finally:
            _stop(proc)
        with store.session() as s:
            stored = s.execute(text("SELECT count(*) FROM usage_events")).scalar_one()
        store.close()
    in_process_rate = events / local
    http_rate = events / remote["seconds"]
    ratio = http_rate / in_process_rate
    return {
        "events": events,
        "request_size": BATCH,
        "clients": clients,
        "server_workers": workers,
        "in_process_events_per_s": round(in_process_rate),
        "http_events_per_s": round(http_rate),
        "http_over_in_process": round(ratio, 2),
        "http_over_in_process_target": f">= {RATIO_TARGET}",
        "meets_ratio_target": ratio >= RATIO_TARGET,
        "http_events_stored": stored,
        "http": remote,
    }


def _postgres_database() -> str:
    name = f"sfsync_api_bench_{uuid.uuid4().hex[:8]}"
    with _ADMIN.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    return name


def main() -> None:
    """Run the benchmark and print one JSON object."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="sfsync serve --workers")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument(
        "--key-cache-seconds",
        type=float,
        default=None,
        help="the server's SFSYNC_API_KEY_CACHE_SECONDS (default: the setting's default)",
    )
    args = parser.parse_args()
    sizes = (args.events, args.clients, args.workers, args.key_cache_seconds)
    out: dict[str, Any] = {"load_average_before": [round(x, 2) for x in os.getloadavg()]}
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            out["sqlite"] = run(
                f"sqlite:///{Path(tmp) / 'local.db'}", f"sqlite:///{Path(tmp) / 'http.db'}", *sizes
            )
    if args.backend in ("postgresql", "both"):
        names = [_postgres_database(), _postgres_database()]
        base = PG_ADMIN.rsplit("/", 1)[0]
        try:
            result = run(f"{base}/{names[0]}", f"{base}/{names[1]}", *sizes)
        finally:
            with _ADMIN.connect() as conn:
                for name in names:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            _ADMIN.dispose()
        result["http_events_per_s_target"] = f">= {PG_RATE_TARGET}"
        result["meets_rate_target"] = result["http_events_per_s"] >= PG_RATE_TARGET
        out["postgresql"] = result
    out["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
