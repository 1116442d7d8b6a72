"""Benchmark: usage through `POST /v1/ingest` against in-process ingest of the same events.

Run as `python -m bench.api_bench --events 20000 --clients 4 --backend sqlite|postgresql|both`;
prints one JSON object. Per backend, on a fresh store seeded with 1,000 aliases:

- in_process: the events through `sync.usage.ingest` in batches of 100 (one transaction per
  batch, one thread), as a request would carry them;
- http: the same number of other events through a live `sfsync serve` (a subprocess, the
  embedded filesystem broker), 100 events per request from `--clients` concurrent clients
  with keep-alive, each request stored durably before its 200;
- ratio: http ÷ in_process events per second (goal ≥ 0.7), and request latency percentiles.
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

from config import Settings
from models import Store, open_store
from models.aliases import add_aliases
from models.api_keys import create_key
from models.customers import create_customer
from models.types import ApiScope
from sync.usage import UsageRules, ingest

BATCH = 100
ALIASES = 1000
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
SFSYNC = Path(sys.executable).parent / "sfsync"


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


def _serve(url: str, data_dir: Path, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SFSYNC_")}
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


def run(url: str, events: int, clients: int, workers: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        settings = Settings(_env_file=None, data_dir=data_dir, database_url=url)
        store = open_store(url, auto_migrate=True)
        token = _seed(store)
        local = _in_process(store, _batches(events, "local"), settings)
        proc, base = _serve(url, data_dir, workers)
        try:
            remote = _http(base, token, _batches(events, "http"), clients)
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
        with store.session() as s:
            stored = s.execute(
                text("SELECT count(*) FROM usage_events WHERE transaction_id LIKE 'http-%'")
            ).scalar_one()
        store.close()
    in_process_rate = events / local
    http_rate = events / remote["seconds"]
    return {
        "events": events,
        "request_size": BATCH,
        "clients": clients,
        "server_workers": workers,
        "in_process_events_per_s": round(in_process_rate),
        "http_events_per_s": round(http_rate),
        "http_over_in_process": round(http_rate / in_process_rate, 2),
        "http_events_stored": stored,
        "http": remote,
    }


def main() -> None:
    """Run the benchmark and print one JSON object."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=1, help="sfsync serve --workers")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    out: dict[str, Any] = {}
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            out["sqlite"] = run(
                f"sqlite:///{Path(tmp) / 'store.db'}", args.events, args.clients, args.workers
            )
    if args.backend in ("postgresql", "both"):
        name = f"sfsync_api_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
            out["postgresql"] = run(url, args.events, args.clients, args.workers)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
