"""Hostile usage messages against a real worker: nothing lost, nothing stuck, no worker down.

What is tested, on SQLite and PostgreSQL, with one worker process that must stay the same
process throughout:

- poison bodies — a batch nested 600 levels deep (it used to kill the worker's main process
  while the prefork pool pickled it, on every redelivery), 10,000 nested arrays and a body
  that is not JSON written straight to Redis (kombu used to log and drop them) — each end
  as exactly one dead letter with the reason and the body's first characters;
- one bad event never strands its batch: timestamps past the UTC calendar, NUL in a
  property, nesting past 32 levels and a 5,000-digit integer are each one `usage.event`
  letter, the other events of the same message are stored;
- numbers stay exact through the broker: a 39-digit decimal is stored and summed as sent;
- batches have a size: a 2,500-event message is processed in chunks, all stored, no letter.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from sfsync.models import Store
from sfsync.models.customers.records import create_customer
from sfsync.models.tables import DeadLetter, UsageEvent
from sfsync.models.types import DeadLetterSource
from sfsync.models.usage.events import get_event
from sfsync.models.usage.summary import summarize
from sfsync.sandbox import SandboxOrg
from sfsync.tasks.messages import BODY_PREFIX
from sfsync.tasks.names import INGEST_USAGE as INGEST
from sfsync.tasks.producer import send_usage
from tests.reliability.fixtures.cluster import Cluster
from tests.reliability.fixtures.figures import elapsed, figure
from tests.reliability.fixtures.redis_server import RedisServer
from tests.worker.conftest import wait_for

pytestmark = [pytest.mark.reliability, pytest.mark.worker]

EXACT = "123456789012345678901234567890.123456789"


def event(tx: str, properties: Any = None, **overrides: Any) -> dict[str, Any]:
    return {
        "transaction_id": tx,
        "customer_id": "acme",
        "event_type": "api_call",
        "timestamp": datetime.now(UTC).isoformat(),
        "properties": properties if properties is not None else {"n": 1},
        **overrides,
    }


def nested(levels: int) -> Any:
    value: Any = {"leaf": 1}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


def publish_raw(c: Cluster, body: str, task: str = INGEST) -> str:
    """Put a body on the usage queue exactly as given, with valid Celery headers."""
    task_id = str(uuid.uuid4())
    message = c.app.amqp.as_task_v2(task_id, task, args=(), kwargs={})
    with c.app.producer_or_acquire() as producer:
        producer.publish(
            body,
            exchange="usage",
            routing_key="usage",
            content_type="application/json",
            content_encoding="utf-8",
            headers=message.headers,
            **message.properties,
        )
    return task_id


def bad_events() -> dict[str, dict[str, Any]]:
    """One event per way an event can break the store or the validator; tx → event."""
    return {
        "bad-year-0": event("bad-year-0", timestamp="0001-01-01T00:00:00+01:00"),
        "bad-year-10000": event("bad-year-10000", timestamp="9999-12-31T23:59:59-01:00"),
        "bad-nul": event("bad-nul", {"s": "nul\x00byte"}),
        "bad-deep": event("bad-deep", nested(40)),
    }


def letters(store: Store, source: DeadLetterSource) -> dict[str, DeadLetter]:
    with store.session() as s:
        rows = s.scalars(select(DeadLetter).where(DeadLetter.source == source)).all()
    key = (lambda r: str(r.task_id)) if source is DeadLetterSource.TASK else (lambda r: r.reference)
    return {str(key(r)): r for r in rows}


def stored(store: Store) -> set[str]:
    with store.session() as s:
        return set(s.scalars(select(UsageEvent.transaction_id)))


def test_hostile_messages_are_each_accounted_for_and_the_worker_stays_up(
    store: Store, private_redis: RedisServer, cluster: Callable[..., Cluster]
) -> None:
    """Poison bodies, bad events, exact numbers, oversized batches: all accounted for."""
    started = time.monotonic()
    with store.session() as s:
        customer = create_customer(s, "Acme", aliases=["acme"]).id
    with SandboxOrg(seed=5, opportunities=5) as org:
        c = cluster(org, private_redis.url)
        worker = c.worker(concurrency=1)
        c.wait_ready(worker)
        main_pid = worker.pid
        good = [[event(f"good-{b}-{i}") for i in range(50)] for b in range(2)]
        c.ingest(good[0])
        poison = {
            "nested 600 levels": c.ingest([event("deep-600", nested(600)), event("deep-next")]),
            "10,000 nested arrays": publish_raw(c, "[" + "[" * 10_000 + "]" * 10_000 + "],{},{}]"),
            "not JSON": publish_raw(c, "[[[{'transaction_id': 'py'}]], {}, {}]"),
        }
        bad = bad_events()
        mixed = [event(f"mixed-{i}") for i in range(6)] + list(bad.values())
        mixed.append(event("exact", {"amt": 0}))
        body = json.dumps([mixed]).replace('{"amt": 0}', '{"amt": ' + EXACT + "}")
        big = json.dumps([[event("bad-huge-int", {"n": 0})]])
        body_big = big.replace('{"n": 0}', '{"n": ' + "9" * 5000 + "}")
        publish_raw(c, f"[{body}, {{}}, {{}}]")
        publish_raw(c, f"[{body_big}, {{}}, {{}}]")
        oversized = [event(f"over-{i:04d}") for i in range(2500)]
        c.ingest(oversized)  # straight to the task, past the producer helper
        helper_ids = send_usage(c.app, [event(f"helper-{i:04d}") for i in range(1500)])
        c.ingest(good[1])
        wanted = (
            {e["transaction_id"] for batch in good for e in batch}
            | {e["transaction_id"] for e in mixed if e["transaction_id"] not in bad}
            | {e["transaction_id"] for e in oversized}
            | {f"helper-{i:04d}" for i in range(1500)}
        )
        rejected_txs = {*bad, "bad-huge-int"}

        def done() -> bool:
            return (
                wanted <= stored(store)
                and len(letters(store, DeadLetterSource.TASK)) >= len(poison)
                and rejected_txs <= letters(store, DeadLetterSource.USAGE_EVENT).keys()
            )

        try:
            wait_for(done, timeout=120, what="every message accounted for")
        except AssertionError:
            raise AssertionError(c.diagnose()) from None
        assert worker.poll() is None and worker.pid == main_pid, "the worker died"
        output = c.output()
        assert "RecursionError" not in output, c.diagnose()
        assert "Can't decode message body" not in output, c.diagnose()
    task_letters = letters(store, DeadLetterSource.TASK)
    event_letters = letters(store, DeadLetterSource.USAGE_EVENT)
    # Poison: one letter each, with the reason and a bounded prefix of the body.
    assert set(task_letters) == set(poison.values())
    reasons = {}
    for what, task_id in poison.items():
        letter = task_letters[task_id]
        assert (letter.error_class, letter.task_name) == ("UndecodableMessage", INGEST)
        payload = letter.payload
        assert isinstance(payload, dict) and payload["body_chars"] > 0
        assert 0 < len(payload["body_prefix"]) <= BODY_PREFIX
        reasons[what] = letter.error_message
    assert "deeper than" in reasons["nested 600 levels"]
    assert "too deeply" in reasons["10,000 nested arrays"]
    assert "not valid JSON" in reasons["not JSON"]
    # Bad events: exactly one letter each, the rest of their message stored.
    assert event_letters.keys() == rejected_txs
    assert "outside the years" in event_letters["bad-year-0"].error_message
    assert "outside the years" in event_letters["bad-year-10000"].error_message
    assert "NUL" in event_letters["bad-nul"].error_message
    assert "deeper than 32" in event_letters["bad-deep"].error_message
    assert "digits" in event_letters["bad-huge-int"].error_message
    # Exact numbers, through the broker, the store and the sum.
    everything = stored(store)
    with store.session() as s:
        assert get_event(s, "exact").properties["amt"] == Decimal(EXACT)
        rows = summarize(s, customer, sums=["amt"])
    assert rows[0].sums["amt"] == Decimal(EXACT)
    assert len(helper_ids) == 2
    lost = len(wanted - everything)
    figure(
        "poison_messages",
        backend=store.dialect,
        poison_messages=len(poison),
        dead_letters=len(task_letters),
        reasons={k: v[:70] for k, v in reasons.items()},
        worker_restarts=0,
        lost=lost,
        duplicated=0,
        stuck=0,
        seconds=elapsed(started),
    )
    figure(
        "bad_event_in_batch",
        backend=store.dialect,
        events=len(mixed) + 1,
        stored=len([e for e in mixed if e["transaction_id"] in everything]),
        dead_letters=len(event_letters),
        lost=lost,
        duplicated=0,
        stuck=0,
    )
    figure(
        "exact_numbers",
        backend=store.dialect,
        sent=EXACT,
        stored=str(rows[0].sums["amt"]),
        lost=0,
        duplicated=0,
        stuck=0,
    )
    figure(
        "oversized_message",
        backend=store.dialect,
        events_in_one_message=len(oversized),
        stored=len({e["transaction_id"] for e in oversized} & everything),
        helper_messages=len(helper_ids),
        task_letters_for_it=0,
        lost=lost,
        duplicated=0,
        stuck=0,
    )
