"""Garbage in: every input accounted for, no worker crash, each rejection says what to fix.

What is tested: "nothing bad is silently dropped". Malformed closed-won opportunities each
end as a contract or a dead letter with an actionable reason, while the good deals of the
same pages go on; fuzzed usage events each end as stored, duplicate or rejected
(dead-lettered with the reason): accepted + duplicate + rejected = input.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from sfsync.models import Store
from sfsync.models.tables import DeadLetter
from sfsync.models.types import DeadLetterSource, RunStatus
from sfsync.sandbox import SandboxOrg
from sfsync.sandbox.client import loopback_session
from sfsync.sync.salesforce import SalesforceClient
from sfsync.sync.streams.opportunities import poll_opportunities
from tests.reliability.fixtures.cluster import Cluster
from tests.reliability.fixtures.figures import elapsed, figure
from tests.reliability.fixtures.redis_server import RedisServer, queues_empty
from tests.reliability.fixtures.snapshot import Snapshot
from tests.reliability.fixtures.truth import batches
from tests.unit.factories import build_settings
from tests.worker.conftest import wait_for

pytestmark = [pytest.mark.reliability, pytest.mark.worker]

SEED = 31337
OPPORTUNITIES = 300
FUZZED_EVENTS = 3000
TRICKY = "O'Brien \"Ltd\" ' OR Name != '' LIMIT 1 --; SELECT Id FROM User WHERE IsActive = true"


def malformed_opportunities(org: SandboxOrg) -> dict[str, str]:
    """Won deals with bad or hostile values; → opportunity id → what is odd about it."""
    account = org.create(
        "Account", {"Name": 'Quote\'s "Corp" SELECT', "Ingest_Alias__c": 'q\'1;"q2" LIMIT'}
    )
    odd_account = org.create("Account", {"Name": "Ünïcødé 🚀 \u202eRTL\u202c Z\u200bW Co"})
    long_account = org.create("Account", {"Name": "L" * 10_000})
    cases: dict[str, dict[str, Any]] = {
        "missing account": {"AccountId": None},
        "unknown currency (lower case)": {"CurrencyIsoCode": "usd"},
        "unknown currency (4 letters)": {"CurrencyIsoCode": "EURO"},
        "absurd close date 9999": {"CloseDate": "9999-12-31"},
        "absurd close date 0001": {"CloseDate": "0001-01-01"},
        "10 KB name": {"Name": "N" * 10_000},
        "10 KB account name": {"AccountId": long_account},
        "odd unicode name": {
            "Name": "Déal 🚀 \u202eevil\u202c \u200b e\u0301 \U0001d518\U0001d52b\U0001d526"
        },
        "odd unicode account": {"AccountId": odd_account},
        "quotes and SOQL in name and aliases": {"Name": TRICKY},
        "negative amount": {"Amount": -1},
        "blank name": {"Name": "   "},
    }
    made: dict[str, str] = {}
    for what, fields in cases.items():
        values = {
            "Name": what,
            "AccountId": account,
            "StageName": "Closed Won",
            "CloseDate": "2026-01-15",
            "Amount": 100,
            "CurrencyIsoCode": "USD",
            **fields,
        }
        made[org.create("Opportunity", values)] = what
    return made


# Valid however odd: control characters, markup, BOMs, deep-but-allowed nesting, exact
# decimals (sent as kombu's decimal type) and big integers within the digit limit.
ODD_BUT_VALID: list[dict[str, Any]] = [
    {},
    {"ctl": "\x1b[2J\x07\r\t", "markup": "[/bold] [link=https://evil.example]x[/link]"},
    {"bom": "\ufeffleading BOM"},
    {"deep": {"a": {"b": {"c": {"d": [1, [2, [3]]]}}}}},
    {"amt": Decimal("123456789012345678901234567890.123456789")},
    {"big": 10**60, "neg": -(10**60), "tiny": Decimal("1e-999")},
]


def nested(levels: int) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": 1}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


def fuzzed_events(rng: random.Random, count: int) -> tuple[list[Any], dict[str, int]]:
    """A mix of valid, duplicate and broken events; → (events, expected outcome counts)."""
    now = datetime.now(UTC)

    def good(n: int) -> dict[str, Any]:
        return {
            "transaction_id": f"fz-{n}",
            "customer_id": rng.choice(("acct-a", "acct-b", "ünï-🚀", TRICKY[:100], "[/bold]")),
            "event_type": "api_call",
            "timestamp": (now - timedelta(minutes=n % 5000)).isoformat(),
            "properties": {"n": n, "s": "x" * rng.randrange(20), **rng.choice(ODD_BUT_VALID)},
        }

    broken: list[Callable[[dict[str, Any]], Any]] = [
        lambda e: {k: v for k, v in e.items() if k != "customer_id"},
        lambda e: {**e, "transaction_id": ""},
        lambda e: {**e, "transaction_id": "t" * 129},
        lambda e: {**e, "transaction_id": 12345},
        lambda e: {**e, "timestamp": "yesterday"},
        lambda e: {**e, "timestamp": "2026-13-45T99:99:99Z"},
        lambda e: {**e, "timestamp": (now - timedelta(days=400)).isoformat()},
        lambda e: {**e, "timestamp": (now + timedelta(days=3)).isoformat()},
        lambda e: {**e, "timestamp": "2026-01-01T00:00:00"},
        lambda e: {**e, "properties": [1, 2, 3]},
        lambda e: {**e, "properties": {"blob": "x" * 20_000}},
        lambda e: {**e, "extra": True},
        lambda e: {**e, "customer_id": "nul\x00"},
        lambda e: {**e, "properties": {"s": "nul\x00in a value"}},
        lambda e: {**e, "properties": {"nul\x00key": 1}},
        lambda e: {**e, "properties": nested(40)},
        lambda e: {**e, "properties": {"n": 10**100}},
        lambda e: {**e, "properties": {"n": Decimal("1e5000")}},
        lambda e: {**e, "properties": {"n": float("inf")}},
        lambda e: {**e, "timestamp": "0001-01-01T00:00:00+01:00"},
        lambda e: {**e, "timestamp": "9999-12-31T23:59:59-01:00"},
        # Exponents no decimal context holds, ids past 64 bits, dates that do not exist.
        lambda e: {**e, "properties": {"n": Decimal("1e999999999")}},
        lambda e: {**e, "properties": {"n": Decimal("-1e-999999999")}},
        lambda e: {**e, "transaction_id": 2**64 + 1},
        lambda e: {**e, "customer_id": 99999999999999999999999},
        lambda e: {**e, "timestamp": "0001-01-01T00:00:00+14:00"},
        lambda e: {**e, "timestamp": "2026-02-30T00:00:00Z"},
        lambda e: {**e, "event_type": None},
        lambda e: [e],
        lambda e: "not an event",
        lambda e: None,
        lambda e: 42,
    ]
    events: list[Any] = []
    expected = {"accepted": 0, "duplicate": 0, "rejected": 0}
    n = 0
    while len(events) < count:
        roll = rng.random()
        if roll < 0.55:
            events.append(good(n))
            expected["accepted"] += 1
            n += 1
        elif roll < 0.7 and n:
            events.append(good(rng.randrange(n)))  # the same id and payload again
            expected["duplicate"] += 1
        else:
            events.append(rng.choice(broken)(good(10_000_000 + len(events))))
            expected["rejected"] += 1
    return events, expected


def actionable(message: str) -> bool:
    """A reason a person can act on: one plain sentence, not a stack trace or a repr."""
    return (
        10 <= len(message) <= 600
        and "Traceback" not in message
        and not message.startswith(("(", "<", "{"))
        and "psycopg" not in message
    )


@pytest.mark.parametrize("backend", ["postgres"])
def test_bad_deals_and_fuzzed_usage_are_each_accounted_for(
    store: Store,
    private_redis: RedisServer,
    cluster: Callable[..., Cluster],
) -> None:
    """Malformed deals and fuzzed events: contract/stored or a dead letter with a reason."""
    started = time.monotonic()
    rng = random.Random(SEED)
    with SandboxOrg(seed=SEED, opportunities=OPPORTUNITIES) as org:
        odd = malformed_opportunities(org)
        won = {r.id for r in org.store.rows("Opportunity") if r.values.get("IsWon")}
        events, expected = fuzzed_events(rng, FUZZED_EVENTS)
        c = cluster(org, private_redis.url)
        worker = c.worker(concurrency=2)
        c.beat()
        for batch in batches(events, 500):
            c.ingest(batch)

        def accounted() -> bool:
            snap = Snapshot.of(store)
            return (
                won <= snap.contracts.keys() | snap.opportunity_letters.keys()
                and len(snap.events) >= expected["accepted"]
                and queues_empty(private_redis)
            )

        try:
            wait_for(accounted, timeout=120, what="every deal and event accounted for")
        except AssertionError:
            raise AssertionError(c.diagnose()) from None
        snap = Snapshot.of(store)
        assert worker.poll() is None, "the worker died"
    with store.session() as s:
        usage_letters = s.scalars(
            select(DeadLetter).where(DeadLetter.source == DeadLetterSource.USAGE_EVENT)
        ).all()
        task_letters = s.scalars(
            select(DeadLetter).where(DeadLetter.source == DeadLetterSource.TASK)
        ).all()
    assert not task_letters, [(x.task_name, x.error_message) for x in task_letters]
    # Deals: each won one is a contract or an open dead letter, never both, never neither.
    provisioned = won & snap.contracts.keys()
    rejected = won & snap.opportunity_letters.keys()
    assert provisioned | rejected == won and not provisioned & rejected
    outcome = {
        what: ("contract" if oid in provisioned else snap.opportunity_letters[oid][:90])
        for oid, what in odd.items()
    }
    bad_reasons = {o: m for o, m in snap.opportunity_letters.items() if not actionable(m)}
    assert not bad_reasons, bad_reasons
    for what in ("missing account", "10 KB name", "10 KB account name", "negative amount"):
        assert outcome[what] != "contract", what
    assert outcome["quotes and SOQL in name and aliases"] == "contract"
    assert outcome["odd unicode name"] == "contract"
    # Usage: accepted + duplicate + rejected = input, each rejection with its reason.
    stored = len(snap.events)
    assert stored == expected["accepted"]
    # One open letter per (source, transaction id): a rejected id sent twice is one letter
    # with two attempts, so rejections are counted in attempts.
    rejections = sum(x.attempts for x in usage_letters)
    assert rejections == expected["rejected"]
    assert stored + expected["duplicate"] + rejections == len(events)
    unclear = [x.error_message for x in usage_letters if not actionable(x.error_message)]
    assert not unclear, unclear[:3]
    figure(
        "bad_input",
        opportunities_won=len(won),
        malformed_deals=len(odd),
        deals_provisioned=len(provisioned),
        deals_dead_lettered=len(rejected),
        malformed_outcomes=outcome,
        events=len(events),
        events_expected=expected,
        events_stored=stored,
        events_rejected_with_reason=rejections,
        rejection_letters=len(usage_letters),
        worker_crashes=0,
        lost=0,
        seconds=elapsed(started),
    )


# Names Salesforce can return but no store can hold. Before mapping refused them, the page's
# insert failed and the stream retried the same page for ever.
UNSTORABLE = {"NUL in name": "nul\x00byte", "lone surrogate in name": "bad \ud800 surrogate"}


@pytest.mark.parametrize("backend", ["postgres"])
@pytest.mark.parametrize("case", sorted(UNSTORABLE))
def test_a_name_no_store_can_hold_is_dead_lettered_not_a_stuck_stream(
    store: Store, tmp_path: Path, case: str
) -> None:
    """A deal whose name holds NUL or a lone surrogate is one dead letter; the rest goes on."""
    with SandboxOrg(seed=SEED, opportunities=40) as org:
        account = org.create("Account", {"Name": "Holder"})
        bad = org.create(
            "Opportunity",
            {
                "Name": UNSTORABLE[case],
                "AccountId": account,
                "StageName": "Closed Won",
                "CloseDate": "2026-01-15",
            },
        )
        settings = build_settings(
            sf_instance_url=org.instance_url,
            sf_access_token=org.issue_token(),
            data_dir=tmp_path / "data",
        )
        client = SalesforceClient(settings, loopback_session(org.instance_url))
        try:
            result = poll_opportunities(store, client, settings)
        finally:
            client.close()
        won = {r.id for r in org.store.rows("Opportunity") if r.values.get("IsWon")}
    snap = Snapshot.of(store)
    assert result.status == RunStatus.SUCCEEDED
    assert bad in snap.opportunity_letters
    assert snap.contracts.keys() == won - {bad}
