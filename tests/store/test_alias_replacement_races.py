"""Ingest and alias-set replacements racing on one customer: no deadlock, no 404, exact state.

Ingest share-locks the aliases it uses in alias order; a replacement locks the customer
row, then its alias rows in alias order, then usage rows (`models.aliases`). Many threads
ingesting events keyed on a customer's aliases while others replace that customer's alias
set must all succeed, and the store must end with one of the sets a replacement made and
every event attributed by it.
"""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import func, select

from sfsync.config import Settings
from sfsync.models import Store
from sfsync.models.aliases.attribution import attributed_customer
from sfsync.models.aliases.lookups import aliases_of
from sfsync.models.aliases.ownership import replace_aliases
from sfsync.models.tables import UsageEvent
from sfsync.models.usage.events import resolve_pending
from sfsync.sync.usage import UsageRules, ingest
from tests.conftest import run_all
from tests.store.conftest import MakeCustomer

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
POOL = [f"org-{n:02d}" for n in range(24)]
INGESTERS = 6
REPLACERS = 6
ROUNDS = 15
BATCH = 40


def test_concurrent_ingest_and_alias_replacements_never_fail(
    store: Store, settings: Settings, make_customer: MakeCustomer
) -> None:
    """6 threads ingesting over a customer's aliases and 6 replacing its set: zero errors,
    every event stored once and attributed by the final alias table."""
    customer = make_customer(aliases=POOL[::2])
    rules = UsageRules.of(settings)
    made: list[frozenset[str]] = []
    made_lock = threading.Lock()

    def ingester(n: int) -> Callable[[], None]:
        def run() -> None:
            rng = random.Random(n)
            for round_ in range(ROUNDS):
                keys = rng.sample(POOL, len(POOL))
                events = [
                    {
                        "transaction_id": f"i{n}-r{round_}-{k}",
                        "customer_id": keys[k % len(keys)],
                        "event_type": "api_call",
                        "timestamp": "2026-11-20T10:00:00Z",
                    }
                    for k in range(BATCH)
                ]
                with store.session() as s:
                    report = ingest(s, events, rules, now=NOW)
                assert report.counts()["accepted"] == BATCH
                with store.session() as s:  # a client's retry: every event a duplicate
                    report = ingest(s, events, rules, now=NOW)
                assert report.counts()["duplicate"] == BATCH

        return run

    def replacer(n: int) -> Callable[[], None]:
        def run() -> None:
            rng = random.Random(1000 + n)
            for _ in range(ROUNDS):
                wanted = rng.sample(POOL, rng.randint(4, 16))
                with store.session() as s:
                    replace_aliases(s, customer, wanted)
                with made_lock:
                    made.append(frozenset(wanted))

        return run

    errors = run_all(
        [ingester(n) for n in range(INGESTERS)] + [replacer(n) for n in range(REPLACERS)]
    )
    assert errors == []
    with store.session() as s:
        final = frozenset(aliases_of(s, customer))
        resolve_pending(s)
    assert final in made
    with store.session() as s:
        total = s.scalar(select(func.count()).select_from(UsageEvent))
        rows = s.execute(select(UsageEvent.customer_key, attributed_customer(s))).all()
    assert total == INGESTERS * ROUNDS * BATCH
    expected: dict[str, uuid.UUID | None] = {k: customer if k in final else None for k in POOL}
    assert {key: owner for key, owner in rows} == expected
