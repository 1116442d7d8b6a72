"""Reliability fixtures: a private Redis, a worker cluster, and the truth computed from the org.

Every scenario runs real processes — `celery worker`, `celery beat`, a `redis-server` of its
own on a loopback port (so it can be killed and restarted without touching the machine's
shared instance), the sandbox org in the test process and PostgreSQL — and checks the
store against what the sandbox's records say it must hold, computed here without sfsync's
mapping code.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import redis
from celery import Celery
from sqlalchemy import func, select

from celery_app import create_app
from config import Settings
from models import Store
from models.tables import (
    Contract,
    Customer,
    CustomFieldValue,
    DeadLetter,
    IngestAlias,
    SyncCursor,
    UsageEvent,
)
from models.types import ContractStatus, DeadLetterSource, DeadLetterStatus, Stream
from models.usage_attribution import attributed_customer
from sandbox import SandboxOrg
from tests.conftest import need
from tests.worker.conftest import Processes, base_env, processes, wait_for

# `processes` is the worker suite's fixture, re-exported so pytest finds it here too.
__all__ = ["Cluster", "RedisServer", "Truth", "figure", "processes", "wait_for"]


def figure(scenario: str, **data: Any) -> dict[str, Any]:
    """Print the scenario's one line of JSON figures (shown by `pytest -s` and in CI logs)."""
    line = {"scenario": scenario, **data}
    print(json.dumps(line, default=str, sort_keys=False))
    return line


# --- a Redis server of our own -----------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """A `redis-server` without persistence on a private loopback port: killed means empty.

    With a `password` it requires AUTH (`--requirepass`), and `url` carries the password.
    """

    def __init__(self, workdir: Path, password: str | None = None) -> None:
        self.port = _free_port()
        self.workdir = workdir
        self.password = password
        self.proc: subprocess.Popen[bytes] | None = None
        self.restarts = 0

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def start(self) -> None:
        log = (self.workdir / f"redis-{self.port}-{self.restarts}.log").open("wb")
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--dir",
                str(self.workdir),
                *(("--requirepass", self.password) if self.password else ()),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for(self.ping, timeout=20, what=f"redis-server on port {self.port}")

    def ping(self) -> bool:
        try:
            with redis.Redis(port=self.port, password=self.password, socket_timeout=1) as client:
                return bool(client.ping())
        except redis.RedisError:
            return False

    def kill(self) -> None:
        """SIGKILL: every queued and unacknowledged message is gone."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def restart(self) -> None:
        self.kill()
        self.restarts += 1
        self.start()

    def client(self) -> Any:
        """A synchronous client (typed Any: redis-py's stubs mix in the asyncio variants)."""
        return redis.Redis(port=self.port, password=self.password)


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A fresh redis-server for this test only (never the machine's shared 6379)."""
    need(shutil.which("redis-server") is not None, "redis-server on PATH")
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.kill()


# --- the cluster of Celery processes -----------------------------------------------------------


def _pool_children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False)
    return [int(x) for x in out.stdout.split()]


class Cluster:
    """Workers and beat on one broker and store, plus a producer app for `send_task`."""

    def __init__(self, procs: Processes, env: dict[str, str]) -> None:
        self.procs = procs
        self.env = env
        settings = Settings(
            _env_file=None,
            data_dir=Path(env["SFSYNC_DATA_DIR"]) / "producer",
            broker_url=env["SFSYNC_BROKER_URL"],
            broker_visibility_timeout=int(env.get("SFSYNC_BROKER_VISIBILITY_TIMEOUT", "3600")),
            task_retry_backoff_max=int(env.get("SFSYNC_TASK_RETRY_BACKOFF_MAX", "600")),
        )
        self.app: Celery = create_app(settings)
        self.workers: list[subprocess.Popen[bytes]] = []

    def worker(self, concurrency: int = 2, name: str | None = None) -> subprocess.Popen[bytes]:
        extra = ("-n", f"{name}@%h") if name else ()
        proc = self.procs.worker(*extra, concurrency=concurrency)
        self.workers.append(proc)
        return proc

    def beat(self) -> subprocess.Popen[bytes]:
        return self.procs.beat()

    def send(self, task: str, *args: Any, **kwargs: Any) -> str:
        return str(self.app.send_task(task, args=list(args), kwargs=kwargs).id)

    def ingest(self, batch: Sequence[Any]) -> str:
        return self.send("sfsync.usage.ingest", list(batch))

    def wait_ready(self, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
        """Until the worker's pool processes exist (it consumes from then on)."""
        wait_for(
            lambda: proc.poll() is None and len(_pool_children(proc.pid)) > 0,
            timeout=timeout,
            what="the worker's pool processes",
        )

    @staticmethod
    def kill_group(proc: subprocess.Popen[bytes]) -> None:
        """SIGKILL the worker's whole process group: main process and pool, no goodbye."""
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)

    @staticmethod
    def kill_children(proc: subprocess.Popen[bytes]) -> int:
        """SIGKILL the pool processes only; the main process notices and replaces them."""
        children = _pool_children(proc.pid)
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)
        return len(children)

    def output(self) -> str:
        return self.procs.output()

    def diagnose(self, tail: int = 6000) -> str:
        return self.output()[-tail:]


@pytest.fixture
def cluster(
    tmp_path: Path,
    store_url: str,
    processes: Callable[[dict[str, str]], Processes],
) -> Callable[..., Cluster]:
    """A factory: `cluster(org, broker_url, **SFSYNC_overrides)` → a `Cluster`."""

    def make(org: SandboxOrg, broker_url: str, **overrides: str) -> Cluster:
        env = base_env(tmp_path, store_url, broker_url, org)
        env.update(
            {
                # A run killed with its lease held blocks the next one until the lease expires.
                "SFSYNC_SYNC_LEASE_SECONDS": "10",
                "SFSYNC_SF_READ_TIMEOUT": "10",
                "SFSYNC_LOG_LEVEL": "INFO",
            }
        )
        env.update({f"SFSYNC_{k.upper()}": v for k, v in overrides.items()})
        return Cluster(processes(env), env)

    return make


# --- the truth, from the sandbox's records ------------------------------------------------------

_CURRENCY = re.compile(r"[A-Z]{3}")


def _aware(value: Any) -> datetime:
    assert isinstance(value, datetime)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _newest_opportunity(org: SandboxOrg) -> datetime:
    return max(_aware(r.values["SystemModstamp"]) for r in org.store.rows("Opportunity"))


@dataclass
class Truth:
    """What the store must hold, computed from the org's records (not sfsync's code)."""

    #: account id → the root (ultimate parent) of its hierarchy
    root_of: dict[str, str]
    #: won opportunity id → its root account, for the deals that can be provisioned
    contracts: dict[str, str]
    #: won opportunity id → why it cannot be provisioned (the mapping dead-letters it)
    rejected: dict[str, str]
    #: ingest alias → root account id, for roots that become customers
    alias_owner: dict[str, str]
    #: every alias of every root (customer or not), for generating usage keys
    all_aliases: dict[str, str]
    #: newest SystemModstamp of any opportunity (deleted ones too) / of any account
    opportunity_cursor: datetime
    account_cursor: datetime

    @property
    def customers(self) -> set[str]:
        return set(self.contracts.values())

    def after_leaving(self, org: SandboxOrg, gone: set[str]) -> Truth:
        """The truth once the `gone` deals left Closed Won or were deleted: no contract of
        theirs is active, and the stream's cursor reaches the newest change of any
        opportunity (the incremental run reads them all, through queryAll)."""
        contracts = {o: root for o, root in self.contracts.items() if o not in gone}
        return replace(self, contracts=contracts, opportunity_cursor=_newest_opportunity(org))

    @classmethod
    def of(cls, org: SandboxOrg) -> Truth:
        accounts = {r.id: r.values for r in org.store.rows("Account") if not r.deleted}
        root_of: dict[str, str] = {}
        for account_id in accounts:
            node = account_id
            while (parent := accounts[node].get("ParentId")) and parent in accounts:
                node = str(parent)
            root_of[account_id] = node
        all_aliases: dict[str, str] = {}
        for account_id, values in accounts.items():
            root = root_of[account_id]
            all_aliases[account_id] = root
            # Salesforce's multi-select separator is ";"; any other value is one alias.
            for part in str(values.get("Ingest_Alias__c") or "").split(";"):
                if part.strip():
                    all_aliases[part.strip()] = root
        contracts: dict[str, str] = {}
        rejected: dict[str, str] = {}
        for rec in org.store.rows("Opportunity"):
            v = rec.values
            if rec.deleted or not v.get("IsWon"):
                continue
            reason = cls._reject_reason(v, accounts, root_of)
            if reason:
                rejected[rec.id] = reason
            else:
                contracts[rec.id] = root_of[str(v["AccountId"])]
        customers = set(contracts.values())
        alias_owner = {a: r for a, r in all_aliases.items() if r in customers}
        return cls(
            root_of=root_of,
            contracts=contracts,
            rejected=rejected,
            alias_owner=alias_owner,
            all_aliases=all_aliases,
            # Incremental runs read every changed opportunity (queryAll: won or not, deleted
            # too), so once one has run the cursor is the newest change of any of them.
            opportunity_cursor=_newest_opportunity(org),
            account_cursor=max(_aware(a["SystemModstamp"]) for a in accounts.values()),
        )

    @staticmethod
    def _reject_reason(
        v: dict[str, Any], accounts: dict[str, dict[str, Any]], root_of: dict[str, str]
    ) -> str | None:
        account = v.get("AccountId")
        if not account or account not in accounts:
            return "account"
        # The deal is provisioned as its hierarchy's root: the root's name is the customer's.
        root_name = str(accounts[root_of[str(account)]].get("Name") or "").strip()
        name = str(v.get("Name") or "").strip()
        if not name or len(name) > 160 or not root_name or len(root_name) > 160:
            return "name"
        currency = v.get("CurrencyIsoCode") or "USD"
        if not _CURRENCY.fullmatch(str(currency)):
            return "currency"
        amount = v.get("Amount")
        if amount is not None and Decimal(str(amount)) < 0:
            return "amount"
        return None

    def usage(
        self, rng: random.Random, count: int, *, unknown_share: float = 0.05, prefix: str = "tx"
    ) -> tuple[list[dict[str, Any]], dict[str, str | None]]:
        """`count` valid events keyed on aliases (some unknown); → (events, tx → root or None)."""
        keys = sorted(self.all_aliases)
        now = datetime.now(UTC)
        events: list[dict[str, Any]] = []
        expected: dict[str, str | None] = {}
        for n in range(count):
            if rng.random() < unknown_share:
                key = f"unknown-{rng.randrange(50)}"
            else:
                key = rng.choice(keys)
            tx = f"{prefix}-{n:07d}"
            stamp = now - timedelta(minutes=rng.randrange(60 * 24 * 20))
            events.append(
                {
                    "transaction_id": tx,
                    "customer_id": key,
                    "event_type": rng.choice(("api_call", "storage_gb", "seat")),
                    "timestamp": stamp.isoformat().replace("+00:00", "Z"),
                    "properties": {"region": rng.choice(("eu", "us")), "n": rng.randrange(100)},
                }
            )
            expected[tx] = self.alias_owner.get(key)
        return events, expected


def batches(items: Sequence[Any], size: int = 1000) -> list[list[Any]]:
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


# --- what the store holds ----------------------------------------------------------------------


@dataclass
class Snapshot:
    """The store, read back: keyed by Salesforce ids so two stores compare directly."""

    customer_rows: int
    customers: dict[str, tuple[str, frozenset[str]]]  # account id → (name, aliases)
    contract_rows: int
    contracts: dict[str, tuple[Any, ...]]  # opportunity id → (account id, terms…)
    events: dict[str, str | None]  # transaction id → account id of its customer
    event_rows: int
    open_letters: Counter[str] = field(default_factory=Counter)
    opportunity_letters: dict[str, str] = field(default_factory=dict)  # open ones, id → msg
    cursors: dict[str, datetime | None] = field(default_factory=dict)

    @classmethod
    def of(cls, store: Store) -> Snapshot:
        with store.session() as s:
            account_of = {
                cid: value
                for cid, value in s.execute(
                    select(CustomFieldValue.entity_id, CustomFieldValue.value).where(
                        CustomFieldValue.key == "sfdc_account_id"
                    )
                )
            }
            aliases: dict[Any, set[str]] = {}
            for alias, cid in s.execute(select(IngestAlias.alias, IngestAlias.customer_id)):
                aliases.setdefault(cid, set()).add(alias)
            customer_rows = 0
            customers: dict[str, tuple[str, frozenset[str]]] = {}
            for cid, name in s.execute(select(Customer.id, Customer.name)):
                customer_rows += 1
                key = account_of.get(cid, f"customer:{cid}")
                customers[key] = (name, frozenset(aliases.get(cid, ())))
            opp_of = {
                cid: value
                for cid, value in s.execute(
                    select(CustomFieldValue.entity_id, CustomFieldValue.value).where(
                        CustomFieldValue.key == "sfdc_opportunity_id"
                    )
                )
            }
            contract_rows = 0
            contracts: dict[str, tuple[Any, ...]] = {}
            for row in s.execute(
                select(
                    Contract.id,
                    Contract.customer_id,
                    Contract.name,
                    Contract.starting_at,
                    Contract.ending_before,
                    Contract.amount,
                    Contract.currency,
                    Contract.status,
                )
            ):
                contract_rows += 1
                contracts[opp_of.get(row[0], f"contract:{row[0]}")] = (
                    account_of.get(row[1]),
                    *row[2:],
                )
            events: dict[str, str | None] = {}
            event_rows = 0
            for tx, cid in s.execute(select(UsageEvent.transaction_id, attributed_customer(s))):
                event_rows += 1
                events[tx] = account_of.get(cid) if cid else None
            open_letters: Counter[str] = Counter()
            opportunity_letters: dict[str, str] = {}
            for source, ref, cls_, msg in s.execute(
                select(
                    DeadLetter.source,
                    DeadLetter.reference,
                    DeadLetter.error_class,
                    DeadLetter.error_message,
                ).where(DeadLetter.status == DeadLetterStatus.OPEN)
            ):
                open_letters[f"{source.value}:{cls_}"] += 1
                if source == DeadLetterSource.OPPORTUNITY and ref:
                    opportunity_letters[ref] = msg
            cursors = {c.stream.value: c.position for c in s.scalars(select(SyncCursor))}
        return cls(
            customer_rows,
            customers,
            contract_rows,
            contracts,
            events,
            event_rows,
            open_letters,
            opportunity_letters,
            cursors,
        )

    @property
    def active(self) -> set[str]:
        """Opportunities whose contract is active (the last column is the status)."""
        return {o for o, terms in self.contracts.items() if terms[-1] is ContractStatus.ACTIVE}

    def check(
        self,
        truth: Truth,
        expected_events: dict[str, str | None],
        gone: frozenset[str] = frozenset(),
    ) -> dict[str, int]:
        """Assert the store equals the truth; → lost/duplicated counts for the figures.

        `gone`: deals that left Closed Won or were deleted during the run; their contracts,
        if they were provisioned before, must be ended or archived, never active.
        """
        lost = {
            "customers": len(truth.customers - self.customers.keys()),
            "contracts": len(truth.contracts.keys() - self.active),
            "events": len(expected_events.keys() - self.events.keys()),
            "rejected_deals_without_letter": len(
                truth.rejected.keys() - self.opportunity_letters.keys()
            ),
        }
        duplicated = {
            "customers": self.customer_rows - len(self.customers),
            "contracts": self.contract_rows - len(self.contracts),
            "events": self.event_rows - len(self.events),
        }
        assert lost == dict.fromkeys(lost, 0), lost
        assert duplicated == dict.fromkeys(duplicated, 0), duplicated
        assert self.customers.keys() == truth.customers
        assert self.active == truth.contracts.keys()
        assert self.contracts.keys() - self.active <= gone
        wrong_owner = [o for o, (acct, *_) in self.contracts.items() if truth.contracts[o] != acct]
        assert not wrong_owner, f"{len(wrong_owner)} contracts on the wrong customer"
        for account, (_, aliases) in self.customers.items():
            want = {a for a, r in truth.alias_owner.items() if r == account}
            assert aliases == want, f"aliases of {account}: {aliases ^ want}"
        assert self.events.keys() == expected_events.keys()
        misattributed = [tx for tx, root in expected_events.items() if self.events[tx] != root]
        assert not misattributed, f"{len(misattributed)} events misattributed"
        assert self.opportunity_letters.keys() == truth.rejected.keys()
        assert self.cursors.get(Stream.OPPORTUNITIES.value) == truth.opportunity_cursor
        return {"lost": sum(lost.values()), "duplicated": sum(duplicated.values())}


def count(store: Store, model: type[Any]) -> int:
    with store.session() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def settle(
    store: Store,
    truth: Truth,
    expected_events: dict[str, str | None],
    cluster: Cluster,
    timeout: float = 120,
) -> Snapshot:
    """Wait until the store converges on the truth (beat ticks and sweeps do the rest)."""
    state: dict[str, Snapshot] = {}

    def converged() -> bool:
        snap = Snapshot.of(store)
        state["last"] = snap
        return (
            snap.active == truth.contracts.keys()
            and snap.events.keys() >= expected_events.keys()
            and all(snap.events.get(tx) == root for tx, root in expected_events.items())
            and snap.cursors.get(Stream.OPPORTUNITIES.value) == truth.opportunity_cursor
        )

    try:
        wait_for(converged, timeout=timeout, what="the store to converge on the truth")
    except AssertionError:
        snap = state.get("last")
        detail = (
            f"active contracts {len(snap.active)}/{len(truth.contracts)}, "
            f"events {len(snap.events)}/{len(expected_events)}, cursors {snap.cursors}"
            if snap
            else ""
        )
        raise AssertionError(f"{detail}\n{cluster.diagnose()}") from None
    return state["last"]


def new_id() -> str:
    return uuid.uuid4().hex[:8]


def elapsed(start: float) -> float:
    return round(time.monotonic() - start, 1)


def count_faults(org: SandboxOrg) -> Counter[str]:
    """Tally the faults the sandbox actually injects (kind, 'hang', 'slow'), from now on."""
    tally: Counter[str] = Counter()
    decide = org.api.decide

    def counting(path: str) -> Any:
        decision = decide(path)
        if decision.kind:
            tally[decision.kind] += 1
        if decision.hang:
            tally["hang"] += 1
        return decision

    org.api.decide = counting
    return tally


def queued(server: RedisServer) -> int:
    """Messages on the queues plus those delivered and not yet acknowledged."""
    client = server.client()
    try:
        waiting = sum(int(client.llen(q)) for q in ("sync", "usage", "default"))
        return waiting + int(client.hlen("unacked"))
    finally:
        client.close()


def queues_empty(server: RedisServer) -> bool:
    client = server.client()
    try:
        return all(client.llen(q) == 0 for q in ("sync", "usage", "default"))
    finally:
        client.close()


def resend_missing(
    c: Cluster, store: Store, sent: Sequence[Sequence[dict[str, Any]]]
) -> list[Sequence[dict[str, Any]]]:
    """The producer's at-least-once step: re-send every batch not wholly stored."""
    with store.session() as s:
        stored = set(s.scalars(select(UsageEvent.transaction_id)))
    missing = [b for b in sent if any(e["transaction_id"] not in stored for e in b)]
    for batch in missing:
        c.ingest(batch)
    return missing
