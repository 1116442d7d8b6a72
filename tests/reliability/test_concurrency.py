"""Workers, beat, manual triggers and racing processes: no duplicates, no unhandled errors.

What is tested: idempotency by constraint. Two workers with two processes each, beat and
a burst of manual poll triggers run at once (the lease lets one poll run; the others are
recorded as skipped), overlapping usage batches are ingested concurrently, and eight
processes provision the same account at the same instant. Each rule (one customer per
account, one contract per opportunity, one owner per alias, one event per transaction id)
holds, and no deadlock or serialisation error escapes unhandled.
"""

from __future__ import annotations

import multiprocessing
import random
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from sfsync.config import Settings
from sfsync.models import Store
from sfsync.models.contracts.terms import ContractTerms
from sfsync.models.tables import DeadLetter, SyncRun
from sfsync.models.types import DeadLetterSource, RunStatus
from sfsync.sandbox import SandboxOrg
from sfsync.sync.mapping import Deal
from sfsync.sync.provision import provision_deal
from sfsync.tasks import names
from tests.reliability.fixtures.cluster import Cluster
from tests.reliability.fixtures.figures import elapsed, figure
from tests.reliability.fixtures.redis_server import RedisServer
from tests.reliability.fixtures.snapshot import Snapshot, settle
from tests.reliability.fixtures.truth import Truth, batches

pytestmark = [pytest.mark.reliability, pytest.mark.worker]

SEED = 777
OPPORTUNITIES = 1500  # about 520 closed-won
EVENTS = 6000  # each event sent in two or three overlapping batches
MANUAL_TRIGGERS = 12
RACERS = 8
ACCOUNT = "001000000000RACEAAA"  # any well-formed 18-character id
STORE_ERRORS = ("deadlock", "could not serialize", "SerializationFailure", "DeadlockDetected")


def overlapping_batches(events: list[dict[str, Any]], rng: random.Random) -> list[list[Any]]:
    """Every event in two or three batches of ≤1,000, in shuffled orders."""
    copies: list[dict[str, Any]] = []
    for event in events:
        copies += [event] * rng.choice((2, 3))
    rng.shuffle(copies)
    return batches(copies)


@pytest.mark.parametrize("backend", ["postgres"])
def test_two_workers_beat_and_manual_triggers_race_without_duplicates(
    store: Store,
    private_redis: RedisServer,
    cluster: Callable[..., Cluster],
) -> None:
    """2 workers x 2 processes, beat, 12 manual polls and overlapping batches: exact store."""
    started = time.monotonic()
    rng = random.Random(SEED)
    with SandboxOrg(seed=SEED, opportunities=OPPORTUNITIES, page_size=200) as org:
        truth = Truth.of(org)
        events, expected = truth.usage(rng, EVENTS)
        sent = overlapping_batches(events, rng)
        c = cluster(org, private_redis.url)
        workers = [c.worker(concurrency=2, name=f"w{n}") for n in (1, 2)]
        c.beat()
        for worker in workers:
            c.wait_ready(worker)
        for n in range(MANUAL_TRIGGERS):
            c.send(names.POLL_OPPORTUNITIES, trigger="manual")
            c.send(names.POLL_ACCOUNTS, trigger="manual")
            c.ingest(sent[n % len(sent)])
        for batch in sent[MANUAL_TRIGGERS:]:
            c.ingest(batch)
        snap = settle(store, truth, expected, c, timeout=150)
        found = snap.check(truth, expected)
        log = c.output()
    with store.session() as s:
        statuses = list(s.scalars(select(SyncRun.status)))
        task_letters = s.scalars(
            select(DeadLetter).where(DeadLetter.source == DeadLetterSource.TASK)
        ).all()
    assert not [x for x in task_letters if any(e in x.error_message for e in STORE_ERRORS)]
    # A failed run says why only in the workers' log: show its lines.
    why = [line for line in log.splitlines() if "failed" in line or "Error" in line][-20:]
    assert RunStatus.FAILED not in statuses, why
    assert not [line for line in log.splitlines() if "Traceback" in line]
    figure(
        "concurrency_workers",
        opportunities=OPPORTUNITIES,
        won=len(truth.contracts),
        customers=len(truth.customers),
        workers="2x2",
        manual_triggers=MANUAL_TRIGGERS * 2,
        events=EVENTS,
        batches=len(sent),
        copies_sent=sum(len(b) for b in sent),
        runs={s.value: statuses.count(s) for s in set(statuses)},
        task_letters=len(task_letters),
        store_errors_retried=sum(log.count(e) for e in STORE_ERRORS[2:]),
        **found,
        seconds=elapsed(started),
    )


def _provision(url: str, opportunity: str, barrier: Any, results: Any) -> None:
    """One racer: wait for the others, then provision a deal of the shared account."""
    store = Store(url)
    settings = Settings(_env_file=None)
    deal = Deal(
        account_id=ACCOUNT,
        account_name="Race Industries",
        aliases=(ACCOUNT, "race-industries", "race-eu", "race-us"),
        opportunity_id=opportunity,
        contract=ContractTerms(
            name=f"Race deal {opportunity[-4:]}",
            starting_at=datetime(2026, 1, 1, tzinfo=UTC),
            ending_before=None,
            amount=Decimal("1200.50"),
            currency="EUR",
        ),
        system_modstamp=datetime(2026, 1, 1, tzinfo=UTC),
    )

    try:
        barrier.wait(timeout=60)
        with store.session() as s:
            result = provision_deal(s, deal, settings)
        results.put(("ok", opportunity, result.customer_created, result.contract))
    except Exception:
        results.put(("error", opportunity, traceback.format_exc(), None))
    finally:
        store.close()


@pytest.mark.parametrize("backend", ["postgres"])
def test_eight_processes_provisioning_one_account_make_one_customer(
    store: Store, store_url: str
) -> None:
    """8 spawned processes released by a barrier: one customer, one contract per opportunity."""
    started = time.monotonic()
    opportunities = [f"006000000000RAC{n}AA" for n in range(RACERS // 2)]  # each raced twice
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(RACERS)
    results = ctx.Queue()
    procs = [
        ctx.Process(
            target=_provision,
            args=(store_url, opportunities[n % len(opportunities)], barrier, results),
        )
        for n in range(RACERS)
    ]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    errors = [o[2] for o in outcomes if o[0] == "error"]
    assert not errors, errors[0]
    snap = Snapshot.of(store)
    assert snap.customer_rows == 1
    assert snap.customers[ACCOUNT][1] == {ACCOUNT, "race-industries", "race-eu", "race-us"}
    assert snap.contract_rows == len(opportunities)
    assert {o for o, (acct, *_) in snap.contracts.items() if acct == ACCOUNT} == set(opportunities)
    created = sum(1 for o in outcomes if o[2] is True)
    assert created == 1
    figure(
        "concurrency_same_account",
        processes=RACERS,
        opportunities=len(opportunities),
        customers_created=created,
        contract_outcomes=sorted(str(o[3]) for o in outcomes),
        errors=len(errors),
        duplicated=(snap.customer_rows - 1) + (snap.contract_rows - len(opportunities)),
        seconds=elapsed(started),
    )
