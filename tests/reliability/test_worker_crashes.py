"""SIGKILLed workers lose nothing and duplicate nothing: the store-first guarantee.

What is tested: the store is the source of truth and every task is idempotent, so killing
workers at random moments (the whole process group, or only the pool processes) and
restarting them loses no deal and no event and duplicates neither — while deals leave
Closed Won and are deleted in Salesforce at each kill: their contracts end up ended or
archived, never active, and every other won deal's contract active. Deals: the poll commits
each page with its cursor, so the next beat tick re-reads from the committed cursor (a
lost poll message is never needed). Usage: a pool process killed mid-batch is requeued at
once (`task_reject_on_worker_lost`); a batch whose message died with the main process is
re-sent by the producer (at-least-once producer, idempotent ingest) instead of waiting for
the broker's visibility timeout. The pending sweep makes attribution exact.
"""

from __future__ import annotations

import itertools
import random
import subprocess
import time
from collections.abc import Callable
from typing import Any

import pytest

from sfsync.models import Store
from sfsync.sandbox import SandboxOrg
from tests.reliability.fixtures.cluster import Cluster, resend_missing
from tests.reliability.fixtures.figures import elapsed, figure
from tests.reliability.fixtures.redis_server import RedisServer, queues_empty
from tests.reliability.fixtures.snapshot import settle
from tests.reliability.fixtures.truth import Truth, batches
from tests.worker.conftest import wait_for

pytestmark = [pytest.mark.reliability, pytest.mark.worker]

SEED = 20260711
OPPORTUNITIES = 57_000  # about 20,000 closed-won across 11,400 accounts with sub-organisations
EVENTS = 200_000  # in batches of 1,000, sent in bursts so some are queued when a kill comes
BURST = 25
SEND_EVERY = 2.5
KILLS = 4
LEFT_WON, DELETED = 30, 15  # per kill, among accounts that keep at least one won deal


def add_bad_deals(org: SandboxOrg) -> int:
    """Won deals the mapping must dead-letter: no account, a negative amount, a bad currency."""
    account = next(r.id for r in org.store.rows("Account"))
    bad: list[dict[str, Any]] = [
        {"Name": "No account", "AccountId": None},
        {"Name": "Negative", "AccountId": account, "Amount": -5},
        {"Name": "Lower-case currency", "AccountId": account, "CurrencyIsoCode": "usd"},
    ]
    for fields in bad:
        org.create(
            "Opportunity",
            {"StageName": "Closed Won", "CloseDate": "2026-01-15", "Amount": 10, **fields},
        )
    return len(bad)


def lifecycle_burst(org: SandboxOrg, truth: Truth, rng: random.Random, gone: set[str]) -> None:
    """Un-win and delete deals of accounts with several, each keeping one (its customer
    stays the truth's)."""
    by_root: dict[str, list[str]] = {}
    for opportunity, root in truth.contracts.items():
        if opportunity not in gone:
            by_root.setdefault(root, []).append(opportunity)
    spare = [o for deals in by_root.values() if len(deals) > 1 for o in sorted(deals)[1:]]
    chosen = rng.sample(sorted(spare), LEFT_WON + DELETED)
    for opportunity in chosen[:LEFT_WON]:
        org.update("Opportunity", opportunity, {"StageName": "Closed Lost"})
    for opportunity in chosen[LEFT_WON:]:
        org.delete("Opportunity", opportunity)
    gone.update(chosen)


def unacked(server: RedisServer) -> int:
    """Messages delivered to a worker and not yet acknowledged (kombu's `unacked` hash)."""
    client = server.client()
    try:
        return int(client.hlen("unacked"))
    finally:
        client.close()


@pytest.mark.parametrize("backend", ["postgres"])
def test_killed_workers_lose_and_duplicate_nothing(
    store: Store,
    private_redis: RedisServer,
    cluster: Callable[..., Cluster],
) -> None:
    """Four SIGKILLs during a backfill and a usage load: the store still equals the truth."""
    started = time.monotonic()
    rng = random.Random(SEED)
    with SandboxOrg(seed=SEED, opportunities=OPPORTUNITIES, page_size=2000) as org:
        bad = add_bad_deals(org)
        truth = Truth.of(org)
        events, expected = truth.usage(rng, EVENTS)
        sent = batches(events)
        c = cluster(
            org,
            private_redis.url,
            broker_visibility_timeout="60",
            task_retry_backoff_max="2",
        )
        worker = c.worker(concurrency=2)
        c.beat()
        c.wait_ready(worker)
        # Kill moments are random (seeded) while the producer sends one batch at a time.
        moments = list(itertools.accumulate(rng.uniform(2.0, 4.5) for _ in range(KILLS)))
        pending = list(sent)
        kills: list[dict[str, Any]] = []
        gone: set[str] = set()
        restarts = 0

        def supervised() -> subprocess.Popen[bytes]:
            # A worker whose pool is killed while it starts exits ("Could not start worker
            # processes"): its supervisor (systemd, Kubernetes) starts it again, and so do we.
            nonlocal worker, restarts
            if worker.poll() is not None:
                restarts += 1
                worker = c.worker(concurrency=2)
            return worker

        t0 = time.monotonic()
        while moments or pending:
            supervised()
            now = time.monotonic() - t0
            if moments and now >= moments[0]:
                moments.pop(0)
                mode = rng.choice(("group", "pool"))
                in_flight = unacked(private_redis)
                if mode == "group":
                    Cluster.kill_group(worker)
                    worker = c.worker(concurrency=2)
                else:
                    Cluster.kill_children(worker)
                lifecycle_burst(org, truth, rng, gone)
                kills.append({"at_s": round(now, 1), "mode": mode, "in_flight": in_flight})
            elif pending:
                for _ in range(min(BURST, len(pending))):
                    c.ingest(pending.pop(0))
                time.sleep(min(SEND_EVERY, moments[0] - now) if moments else SEND_EVERY)
            else:
                time.sleep(moments[0] - now)  # the next random moment, by design
        # The producer re-sends what it cannot see stored (and two batches on purpose).
        wait_for(
            lambda: supervised() is not None and queues_empty(private_redis),
            timeout=120,
            what="the queues to drain",
        )
        resent = resend_missing(c, store, sent)
        for batch in rng.sample(sent, 2):
            c.ingest(batch)
        truth = truth.after_leaving(org, gone)
        snap = settle(store, truth, expected, c, timeout=180)
        found = snap.check(truth, expected, frozenset(gone))
    figure(
        "worker_crashes",
        opportunities=OPPORTUNITIES + bad,
        won=len(truth.contracts) + len(gone) + len(truth.rejected),
        customers=len(truth.customers),
        dead_lettered_deals=len(truth.rejected),
        left_closed_won_or_deleted=len(gone),
        ended_or_archived=len(snap.contracts.keys() - snap.active),
        events=EVENTS,
        batches=len(sent),
        batches_resent_missing=len(resent),
        batches_resent_on_purpose=2,
        kills=kills,
        supervisor_restarts=restarts,
        open_task_letters={k: v for k, v in snap.open_letters.items() if k.startswith("task")},
        **found,
        seconds=elapsed(started),
    )
