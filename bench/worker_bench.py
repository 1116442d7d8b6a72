"""Benchmark: the backfill driven by beat through a real worker on Redis and PostgreSQL.

Run as `python -m bench.worker_bench [--opportunities N] [--redis URL]`; prints one JSON
object. The same org as `bench.sync_bench` (20,000 accounts, ~N closed-won opportunities)
is served by this process; a `celery worker` with two processes and a `celery beat` polling
every 2 s run as subprocesses against a fresh PostgreSQL database and a Redis database that
is flushed first. Reported: seconds from starting the processes to the first successful
beat-triggered opportunity run that saw every won opportunity (worker start-up included),
opportunities per second over that run alone, API calls (the sandbox's counters), and the
runs recorded meanwhile (overlapping ticks are `skipped` by the lease).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import redis
from sqlalchemy import select

from sfsync.bench.sync_bench import _calls, _database, _floor, _org
from sfsync.bench.sync_children import ALIAS_FIELDS
from sfsync.models import Store
from sfsync.models.tables import SyncRun
from sfsync.models.types import RunStatus, RunTrigger, Stream

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 1800.0


def _env(org: Any, database_url: str, redis_url: str, data_dir: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SFSYNC_")}
    env.update(
        SFSYNC_DATA_DIR=data_dir,
        SFSYNC_DATABASE_URL=database_url,
        SFSYNC_BROKER_URL=redis_url,
        SFSYNC_SF_INSTANCE_URL=org.instance_url,
        SFSYNC_SF_LOGIN_URL=org.login_url,
        SFSYNC_SF_CONSUMER_KEY=org.consumer_key,
        SFSYNC_SF_CONSUMER_SECRET=org.consumer_secret,
        SFSYNC_SF_ALIAS_FIELDS=ALIAS_FIELDS,
        SFSYNC_POLL_INTERVAL="2",
        SFSYNC_LOG_LEVEL="WARNING",
    )
    return env


def _start(args: list[str], env: dict[str, str], folder: str, name: str) -> subprocess.Popen[bytes]:
    with (Path(folder) / f"{name}.log").open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "celery_app", *args],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


@contextlib.contextmanager
def _running(*procs: subprocess.Popen[bytes]) -> Iterator[None]:
    """Stop the processes' groups on the way out: SIGTERM, then SIGKILL after 30 s."""
    try:
        yield
    finally:
        for proc in procs:
            _signal_group(proc, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                _signal_group(proc, signal.SIGKILL)
                proc.wait(timeout=30)


def _signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)


def _finished_run(database_url: str, won: int) -> dict[str, Any] | None:
    """The first successful beat-triggered opportunity run that saw every won deal."""
    store = Store(database_url)
    try:
        with store.session() as s:
            run = s.scalars(
                select(SyncRun)
                .where(
                    SyncRun.stream == Stream.OPPORTUNITIES,
                    SyncRun.trigger == RunTrigger.BEAT,
                    SyncRun.status == RunStatus.SUCCEEDED,
                    SyncRun.records_seen >= won,
                )
                .order_by(SyncRun.id)
                .limit(1)
            ).first()
            if run is None or run.finished_at is None:
                return None
            statuses = [r.status.value for r in s.scalars(select(SyncRun))]
            return {
                "run_seconds": (run.finished_at - run.started_at).total_seconds(),
                "records_seen": run.records_seen,
                "contracts_created": run.contracts_created,
                "runs": {status: statuses.count(status) for status in sorted(set(statuses))},
            }
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--opportunities", type=int, default=100_000, help="won opportunities")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/13", help="flushed first")
    args = parser.parse_args()

    client = redis.Redis.from_url(args.redis)
    client.flushdb()
    org = _org(args.opportunities)
    try:
        won = _floor(org)["won_opportunities"]
        with tempfile.TemporaryDirectory() as folder, _database("postgresql") as url:
            env = _env(org, url, args.redis, folder)
            org.reset_counters()
            started = time.perf_counter()
            # The processes stop before their database is dropped: a beat or worker left
            # talking to a dropped database may not answer SIGTERM in time.
            with _running(
                _start(["worker", "-c", "2", "-Q", "sync,usage,default"], env, folder, "worker"),
                _start(["beat"], env, folder, "beat"),
            ):
                deadline = started + TIMEOUT
                done = None
                while done is None and time.perf_counter() < deadline:
                    time.sleep(0.5)  # polling the store for the outcome, not synchronising work
                    done = _finished_run(url, won)
                elapsed = time.perf_counter() - started
                calls = _calls(org)
    finally:
        org.stop()
        client.flushdb()
        client.close()
    out: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "backend": "postgresql+redis",
        "worker_processes": 2,
        "won_opportunities": won,
        "finished": done is not None,
        "seconds_to_done_from_process_start": round(elapsed, 1),
        "api_calls_all_streams": calls,
    }
    if done is not None:
        out.update(done)
        out["opportunities_per_s_in_run"] = round(done["records_seen"] / done["run_seconds"])
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
