"""A Redis restart without persistence mid-run loses messages, never data.

What is tested: messages are doorbells. Killing the broker (no RDB, no AOF) drops every
queued and unacknowledged message; workers and beat reconnect to the empty broker, the
next beat tick re-polls from the committed cursor and the sweep attributes what is
stored. Usage batches the broker lost were never stored, so the producer re-sends them
(events are durable only once stored; ingest is idempotent).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

import pytest
from sqlalchemy import select

from sfsync.models import Store
from sfsync.models.tables import Contract, SyncRun
from sfsync.models.types import RunStatus, Stream
from sfsync.sandbox import SandboxOrg
from sfsync.tasks import names
from tests.reliability.fixtures.cluster import Cluster, resend_missing
from tests.reliability.fixtures.figures import elapsed, figure
from tests.reliability.fixtures.redis_server import RedisServer, queued
from tests.reliability.fixtures.snapshot import count, settle
from tests.reliability.fixtures.truth import Truth, batches
from tests.worker.conftest import wait_for

pytestmark = [pytest.mark.reliability, pytest.mark.worker]

SEED = 4242
OPPORTUNITIES = 1500  # about 520 closed-won
EVENTS = 8000


@pytest.mark.parametrize("backend", ["postgres"])
def test_redis_restart_without_persistence_loses_no_data(
    store: Store,
    private_redis: RedisServer,
    cluster: Callable[..., Cluster],
) -> None:
    """Redis killed and restarted empty mid-backfill: after a beat tick the store is exact."""
    started = time.monotonic()
    rng = random.Random(SEED)
    with SandboxOrg(seed=SEED, opportunities=OPPORTUNITIES, page_size=200) as org:
        truth = Truth.of(org)
        events, expected = truth.usage(rng, EVENTS)
        sent = batches(events)
        c = cluster(org, private_redis.url)
        worker = c.worker(concurrency=2)
        c.beat()
        c.wait_ready(worker)
        org.faults.latency(0.3)  # a slower org keeps the backfill going when Redis dies
        first, rest = sent[:3], sent[3:]
        for batch in first:
            c.ingest(batch)
        wait_for(lambda: count(store, Contract) > 0, timeout=60, what="the backfill to start")
        for batch in rest:
            c.ingest(batch)
        for _ in range(3):
            c.send(names.POLL_OPPORTUNITIES, trigger="manual")
        in_broker = queued(private_redis)
        private_redis.restart()  # SIGKILL, then a fresh empty server on the same port
        restarted_at = time.monotonic()
        org.faults.clear()

        def polled_after_restart() -> bool:
            with store.session() as s:
                runs = s.scalars(
                    select(SyncRun).where(
                        SyncRun.stream == Stream.OPPORTUNITIES,
                        SyncRun.status == RunStatus.SUCCEEDED,
                    )
                ).all()
            return any(
                r.started_at.timestamp() > time.time() - (time.monotonic() - restarted_at)
                for r in runs
            )

        try:
            wait_for(polled_after_restart, timeout=120, what="a successful poll after the loss")
        except AssertionError:
            raise AssertionError(c.diagnose()) from None
        resent = resend_missing(c, store, sent)
        snap = settle(store, truth, expected, c, timeout=120)
        found = snap.check(truth, expected)
    figure(
        "broker_loss",
        opportunities=OPPORTUNITIES,
        won=len(truth.contracts),
        customers=len(truth.customers),
        events=EVENTS,
        batches=len(sent),
        messages_lost_with_redis=in_broker,
        batches_resent=len(resent),
        redis_restarts=private_redis.restarts,
        **found,
        seconds=elapsed(started),
    )
