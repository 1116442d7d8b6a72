"""A store outage loses nothing: usage batches wait on the broker until the store is back.

What is tested: with the store unavailable (PostgreSQL behind a TCP proxy that is stopped,
so connections are refused; SQLite's files made immutable, so every write fails) while 20
batches are sent through a real worker, each batch is retried with growing delays, runs
out of retries, finds that its dead letter cannot be written either — and is kept on the
broker instead of being acknowledged, its retries starting afresh; a message that fails for
good meanwhile is kept the same way. When PostgreSQL's proxy comes back it cuts its first two
connections, so a kept message's first attempt can fail once more: it is retried, never
dead-lettered. After the store comes back every event is stored exactly once and the only
letter is the broken message's. The outage and the delays are short here (seconds,
`SFSYNC_TASK_RETRY_BACKOFF_*`); in production they span minutes.
"""

from __future__ import annotations

import contextlib
import re
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from sfsync.models import Store
from sfsync.models.tables import DeadLetter, UsageEvent
from sfsync.sandbox import SandboxOrg
from sfsync.tasks import names
from tests.reliability.fixtures.cluster import Cluster
from tests.reliability.fixtures.figures import elapsed, figure
from tests.reliability.fixtures.redis_server import RedisServer
from tests.worker.conftest import wait_for

pytestmark = [pytest.mark.reliability, pytest.mark.worker]

BATCHES = 20
PER_BATCH = 50
MAX_RETRIES = 3
OUTAGE_SECONDS = 15
FIRST_RETRY = re.compile(r"sfsync\.usage\.ingest\[([0-9a-f-]{36})\] transient failure, retry 1 of")
KEPT = re.compile(
    r"sfsync\.usage\.ingest\[([0-9a-f-]{36})\] failed and its dead letter cannot be stored"
)


class TcpProxy:
    """A loopback TCP proxy to `upstream` that can be stopped (refusing connections and
    cutting the open ones) and started again on the same port."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self._listener: socket.socket | None = None
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._cut = 0

    def start(self, cut_first: int = 0) -> None:
        """Listen again; the first `cut_first` connections are closed as soon as accepted
        (a database that is back but still refusing its first clients)."""
        self._cut = cut_first
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        with self._lock:
            for sock in self._open:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._open.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            if self._cut > 0:
                self._cut -= 1
                client.close()
                continue
            try:
                server = socket.create_connection(self.upstream)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open.update((client, server))
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


class Outage:
    """Makes the worker's store unavailable and available again."""

    def __init__(self, start: Callable[[], None], end: Callable[[], None]) -> None:
        self.begin, self.end = start, end


@contextlib.contextmanager
def store_behind_outage(store: Store, tmp_path: Path) -> Iterator[tuple[str, Outage]]:
    """The URL the worker should use and the switch that takes its store down."""
    if store.dialect == "postgresql":
        url = make_url(store.url)
        proxy = TcpProxy((url.host or "127.0.0.1", url.port or 5432))
        proxy.start()
        try:
            yield (
                url.set(port=proxy.port).render_as_string(hide_password=False),
                # Back, the database refuses its first two clients: an attempt of a kept
                # message fails once more, and must still be retried, not dead-lettered.
                Outage(proxy.stop, lambda: proxy.start(cut_first=2)),
            )
        finally:
            proxy.stop()
        return
    database = Path(make_url(store.url).database or "")
    # Root ignores file modes, so "a read-only disk" is the immutable attribute: every write
    # through an open descriptor fails (EPERM). The -shm file is mapped and stays writable.
    files = [database, database.with_name(database.name + "-wal")]

    def chattr(flag: str) -> None:
        for f in files:
            if f.exists():
                subprocess.run(["chattr", flag, str(f)], check=True)

    try:
        yield store.url, Outage(lambda: chattr("+i"), lambda: chattr("-i"))
    finally:
        chattr("-i")


def events(batch: int) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    return [
        {
            "transaction_id": f"outage-{batch:02d}-{i:03d}",
            "customer_id": f"tenant-{i % 7}",
            "event_type": "api_call",
            "timestamp": (now - timedelta(minutes=i)).isoformat(),
            "properties": {"n": i},
        }
        for i in range(PER_BATCH)
    ]


def test_a_store_outage_keeps_every_batch_until_the_store_is_back(
    store: Store,
    tmp_path: Path,
    private_redis: RedisServer,
    cluster: Callable[..., Cluster],
) -> None:
    """20 batches sent while the store is down: all stored exactly once after it returns."""
    started = time.monotonic()
    with (
        store_behind_outage(store, tmp_path) as (worker_url, outage),
        SandboxOrg(seed=9, opportunities=5) as org,
    ):
        c = cluster(
            org,
            private_redis.url,
            database_url=worker_url,
            task_max_retries=str(MAX_RETRIES),
            task_retry_backoff_base="0.5",
            task_retry_backoff_max="3",
        )
        worker = c.worker(concurrency=2)
        c.wait_ready(worker)
        c.ingest(events(99))  # the worker's store is open and in use before the outage
        wait_for(lambda: count(store) == PER_BATCH, timeout=60, what="the first batch")
        outage.begin()
        outage_started = time.monotonic()
        batch_ids = {batch: c.ingest(events(batch)) for batch in range(BATCHES)}
        sent = set(batch_ids.values())
        # A message that fails for good while the store is down: its letter must wait too.
        broken = c.send(names.INGEST_USAGE, {"not": "a list"})
        sent.add(broken)
        # Every batch must have run out of retries and been kept, not acknowledged.
        try:
            wait_for(
                lambda: kept(c) >= sent,
                timeout=90,
                what="every batch to exhaust its retries during the outage",
            )
        except AssertionError:
            raise AssertionError(c.diagnose()) from None
        assert count(store) == PER_BATCH  # nothing got through while the store was down
        # A kept message starts its retries afresh: back during the outage, it fails
        # transiently and is retried from the first retry again, not kept at once.
        try:
            wait_for(
                lambda: retried_after_keeping(c) & sent,
                timeout=OUTAGE_SECONDS,
                what="a kept message to be retried from its first retry again",
            )
        except AssertionError:
            raise AssertionError(c.diagnose()) from None
        # The outage itself lasts OUTAGE_SECONDS: kept messages keep coming back meanwhile.
        time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - outage_started)))
        assert count(store) == PER_BATCH
        outage.end()
        outage_seconds = round(time.monotonic() - outage_started, 1)
        expected = PER_BATCH * (BATCHES + 1)
        try:
            wait_for(
                lambda: count(store) == expected and letters(store) == [broken],
                timeout=60,
                what="every event stored and the broken message's letter written",
            )
        except AssertionError:
            raise AssertionError(
                f"{count(store)}/{expected}\n{missing_batches(store, batch_ids, c)}"
            ) from None
        assert worker.poll() is None, "the worker died"
        # Kept by re-publishing at the capped delay, not by a hot requeue loop.
        assert "reject requeue" not in c.output(), c.diagnose()
        kept_ids = kept(c)
    with store.reader() as s:
        distinct = s.scalar(select(func.count(func.distinct(UsageEvent.transaction_id))))
    assert distinct == expected
    figure(
        "store_outage",
        backend=store.dialect,
        batches=BATCHES,
        events=BATCHES * PER_BATCH,
        outage_seconds=outage_seconds,
        retries_before_keeping=MAX_RETRIES,
        kept_for_redelivery=len(kept_ids & sent),
        failed_for_good_letter_written_after_recovery=1,
        lost=expected - count(store),
        duplicated=0,
        stuck=0,
        seconds=elapsed(started),
    )


def missing_batches(store: Store, batch_ids: dict[int, str], c: Cluster) -> str:
    """Each batch not stored, with every line the worker logged about its task id."""
    with store.reader() as s:
        stored = {str(t)[7:9] for t in s.scalars(select(UsageEvent.transaction_id))}
    log = c.output().splitlines()
    report = []
    for batch, task_id in sorted(batch_ids.items()):
        if f"{batch:02d}" not in stored:
            report.append(f"batch {batch} (task {task_id}) is not stored; the worker said:")
            report += [line[:400] for line in log if task_id in line]
    return "\n".join(report) or c.diagnose()


def letters(store: Store) -> list[str]:
    """Task ids of the dead letters written."""
    with store.reader() as s:
        return [str(t) for t in s.scalars(select(DeadLetter.task_id))]


def retried_after_keeping(c: Cluster) -> set[str]:
    """Ids of messages that, after being kept, failed transiently and took retry 1 again."""
    found = set()
    kept_at: dict[str, int] = {}
    for number, line in enumerate(c.output().splitlines()):
        if (m := KEPT.search(line)) is not None:
            kept_at.setdefault(m.group(1), number)
        elif (m := FIRST_RETRY.search(line)) is not None and m.group(1) in kept_at:
            found.add(m.group(1))
    return found


def kept(c: Cluster) -> set[str]:
    """Ids of the messages the worker kept because their dead letter could not be written."""
    return set(KEPT.findall(c.output()))


def count(store: Store) -> int:
    with store.reader() as s:
        return int(s.scalar(select(func.count()).select_from(UsageEvent)) or 0)
