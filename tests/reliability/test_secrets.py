"""Secrets stay secret, and the broker carries JSON only.

What is tested: Celery's own dumps of a live worker (`celery report`, `inspect conf`,
`inspect stats`, which Flower serves too) with passwords in the store and broker URLs; and
sentinel values for the password, security token and client secret, and
every access token the org issues, never appear in worker or beat output (at DEBUG), dead
letters, run records, CLI output or the broker's messages (read from Redis while they
wait for a paused worker and while they are in flight) — through logins, expiring
sessions, 5xx and throttling. A pickled message is refused: it never runs and the
worker logs the refusal.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from sfsync.models import Store
from sfsync.models.tables import DeadLetter, SyncRun, UsageEvent
from sfsync.sandbox import SandboxOrg
from sfsync.tasks import names
from tests.conftest import need
from tests.reliability.fixtures.cluster import Cluster
from tests.reliability.fixtures.figures import count_faults, elapsed, figure
from tests.reliability.fixtures.redis_server import RedisServer
from tests.reliability.fixtures.snapshot import settle
from tests.reliability.fixtures.truth import Truth
from tests.worker.conftest import ROOT, Processes, base_env, wait_for

pytestmark = [pytest.mark.reliability, pytest.mark.worker]

SEED = 5150
OPPORTUNITIES = 400
SENTINELS = {
    "password": "SENTINEL-PASSWORD-5f1e",
    "security_token": "SENTINEL-SECTOKEN-a9c3",
    "consumer_secret": "SENTINEL-CLIENTSECRET-77d0",
}
REFUSAL = "Refusing to deserialize untrusted content of type pickle"


def broker_dump(server: RedisServer) -> bytes:
    """Every message on the queues and in the unacknowledged hash, raw."""
    client = server.client()
    try:
        raw = [m for q in ("sync", "usage", "default") for m in client.lrange(q, 0, -1)]
        raw += list(client.hvals("unacked"))
        return b"\n".join(raw)
    finally:
        client.close()


def store_dump(store: Store) -> str:
    """Dead letters and run records, every column, as text."""
    with store.session() as s:
        rows: list[Any] = [
            {c.key: getattr(x, c.key) for c in DeadLetter.__table__.columns}
            for x in s.scalars(select(DeadLetter))
        ]
        rows += [
            {c.key: getattr(x, c.key) for c in SyncRun.__table__.columns}
            for x in s.scalars(select(SyncRun))
        ]
    return json.dumps(rows, default=str)


def cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", "from cli import main; main()", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return done.stdout + done.stderr


@pytest.mark.parametrize("backend", ["postgres"])
def test_secrets_never_leak_and_pickled_messages_are_refused(
    store: Store,
    private_redis: RedisServer,
    cluster: Callable[..., Cluster],
) -> None:
    """Sentinels appear nowhere; a pickled ingest message is refused and never runs."""
    started = time.monotonic()
    with SandboxOrg(seed=SEED, opportunities=OPPORTUNITIES, page_size=200) as org:
        org.auth.password = SENTINELS["password"]
        org.auth.security_token = SENTINELS["security_token"]
        org.auth.consumer_secret = SENTINELS["consumer_secret"]
        issued: list[str] = []
        issue = org.auth.issue_access

        def recording_issue() -> str:
            token = issue()
            issued.append(token)
            return token

        org.auth.issue_access = recording_issue  # type: ignore[method-assign]
        truth = Truth.of(org)
        c = cluster(
            org,
            private_redis.url,
            sf_username=org.username,
            sf_password=SENTINELS["password"],
            sf_security_token=SENTINELS["security_token"],
            sf_consumer_secret=SENTINELS["consumer_secret"],
            log_level="DEBUG",
        )
        injected = count_faults(org)
        org.set_token_lifetime(2)
        org.faults.fail_next(3, "500")
        org.faults.fail_next(4, "403", paths="/services/data/")
        # Paused worker: the messages wait on Redis, where we read them.
        for trigger in ("manual", "beat"):
            c.send(names.POLL_OPPORTUNITIES, trigger=trigger)
        c.send(names.PROVISION_OPPORTUNITY, "006000000000NONEAA")
        now = datetime.now(UTC).isoformat()
        event = {"transaction_id": "pickled-1", "customer_id": "k", "event_type": "e"}
        c.app.send_task(
            names.INGEST_USAGE, args=[[{**event, "timestamp": now}]], serializer="pickle"
        )
        waiting = broker_dump(private_redis)
        c.beat()
        worker = c.worker(concurrency=2)
        c.wait_ready(worker)
        in_flight = broker_dump(private_redis)
        settle(store, truth, {}, c, timeout=120)
        wait_for(lambda: REFUSAL in c.output(), timeout=30, what="the pickle refusal in the log")
        org.revoke_tokens()  # one more renewal on the next poll
        c.send(names.POLL_OPPORTUNITIES, trigger="manual")
        outputs = [
            cli(c.env, "sync", "status", "--json"),
            cli(c.env, "runs", "list", "--json"),
            cli(c.env, "dlq", "list", "--json"),
            cli(c.env, "sync", "run", "--inline", "--json"),
        ]
        with store.session() as s:
            pickled_ran = s.get(UsageEvent, "pickled-1") is not None
        logs = c.output()
    places = {
        "worker_and_beat_logs": logs,
        "dead_letters_and_runs": store_dump(store),
        "cli_output": "\n".join(outputs),
        "broker_waiting": waiting.decode(errors="replace"),
        "broker_in_flight": in_flight.decode(errors="replace"),
    }
    secrets = {**SENTINELS, **{f"access_token_{n}": t for n, t in enumerate(issued)}}
    leaks = [(p, name) for p, text in places.items() for name, v in secrets.items() if v in text]
    assert not leaks, leaks
    assert issued, "the org issued no access token: the login did not happen"
    assert not pickled_ran
    assert REFUSAL in logs
    figure(
        "secrets",
        sentinels=sorted(SENTINELS),
        access_tokens_issued=len(issued),
        faults_injected=dict(injected),
        token_lifetime_s=2,
        places_checked={p: len(t) for p, t in places.items()},
        broker_messages_read=waiting.count(b"\n") + 1,
        leaks=len(leaks),
        pickled_message_ran=pickled_ran,
        pickled_message_refused=REFUSAL in logs,
        seconds=elapsed(started),
    )


DUMP_SENTINELS = {
    "database_password": "SENTINEL-DBPASS-31c4",
    "broker_password": "SENTINEL-BROKERPASS-8e2b",
    "consumer_secret": "SENTINEL-CLIENTSECRET-4d17",
}


def celery(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "celery", "-A", "sfsync.celery_app", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("backend", ["postgres"])
def test_celery_config_dumps_hold_no_secret(
    store_url: str,
    tmp_path: Path,
    processes: Callable[[dict[str, str]], Processes],
) -> None:
    """`celery report`, `inspect conf` and `inspect stats` of a live worker show no password."""
    need(shutil.which("redis-server") is not None, "redis-server on PATH")
    broker = RedisServer(tmp_path, password=DUMP_SENTINELS["broker_password"])
    broker.start()
    # Trust auth ignores the password, so the worker reaches the store with it in its URL.
    user, sep, rest = store_url.partition("@")
    assert sep, store_url
    database_url = f"{user}:{DUMP_SENTINELS['database_password']}@{rest}"
    try:
        with SandboxOrg(seed=SEED, opportunities=10) as org:
            env = base_env(tmp_path, database_url, broker.url, org)
            env["SFSYNC_SF_CONSUMER_SECRET"] = DUMP_SENTINELS["consumer_secret"]
            procs = processes(env)
            worker = procs.worker(concurrency=1)
            procs.wait_for(
                lambda: worker.poll() is None and "ready" in procs.output(), what="worker ready"
            )
            report = celery(env, "report")
            conf = celery(env, "inspect", "conf", "--json", "--timeout", "10")
            stats = celery(env, "inspect", "stats", "--json", "--timeout", "10")
            logs = procs.output()
    finally:
        broker.kill()
    assert report.returncode == 0, report.stderr
    # The worker answered over the password-protected broker: the real URL reached kombu.
    assert conf.returncode == 0 and json.loads(conf.stdout), conf.stdout + conf.stderr
    assert stats.returncode == 0 and json.loads(stats.stdout), stats.stdout + stats.stderr
    places = {
        "celery_report": report.stdout + report.stderr,
        "inspect_conf": conf.stdout + conf.stderr,
        "inspect_stats": stats.stdout + stats.stderr,
        "worker_log": logs,
    }
    leaks = [
        (place, name)
        for place, text in places.items()
        for name, value in DUMP_SENTINELS.items()
        if value in text
    ]
    assert not leaks, leaks
    assert "sfsync_settings" not in places["inspect_conf"]
    figure(
        "secrets_in_celery_dumps",
        places_checked={p: len(t) for p, t in places.items()},
        leaks=len(leaks),
    )
