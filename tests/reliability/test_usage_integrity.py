"""Usage stays whose it is: no alias hijack, no SQL from input, replays and files that work.

What is tested, on SQLite and PostgreSQL with a real worker on a private Redis:

- an attacker cannot take a victim's usage: attaching the victim's id as an alias is
  refused, and even an alias row planted as an older release could store it does not move
  the victim's events, at ingest or in the sweep;
- a summary's property name is never SQL: the issue's UNION probe sums nothing of others;
- a `task` letter replays through the worker (`sfsync.deadletter.replay`) and inline, and
  a failed replay keeps the original error with the replay's in the letter's history;
- files as people have them: `usage ingest` of a JSON array with a UTF-8 BOM, non-ASCII
  text across read boundaries and one element over the size limit stores every good event
  with its text intact and rejects the big one as a small letter.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, insert, select

from sfsync.cli import main
from sfsync.models import AliasIsCustomerId, Store
from sfsync.models.aliases.attribution import attributed_customer
from sfsync.models.aliases.ownership import add_aliases
from sfsync.models.customers.records import create_customer
from sfsync.models.operations.deadletters import Failure, TaskCall, add_letter, get_letter
from sfsync.models.tables import DeadLetter, IngestAlias, UsageEvent
from sfsync.models.types import DeadLetterSource, DeadLetterStatus
from sfsync.models.usage.summary import summarize
from sfsync.sandbox import SandboxOrg
from sfsync.sync.usage.reader import CHUNK
from sfsync.tasks import names
from tests.reliability.fixtures.cluster import Cluster
from tests.reliability.fixtures.figures import elapsed, figure
from tests.reliability.fixtures.redis_server import RedisServer
from tests.store.usage_events import INJECTION
from tests.worker.conftest import wait_for

pytestmark = [pytest.mark.reliability, pytest.mark.worker]


def event(tx: str, key: str, **properties: Any) -> dict[str, Any]:
    return {
        "transaction_id": tx,
        "customer_id": key,
        "event_type": "api_call",
        "timestamp": datetime.now(UTC).isoformat(),
        "properties": properties or {"n": 1},
    }


def owners(store: Store, prefix: str) -> dict[Any, int]:
    with store.session() as s:
        rows = s.execute(
            select(owner := attributed_customer(s), func.count())
            .where(UsageEvent.transaction_id.startswith(prefix))
            .group_by(owner)
        )
        return {cid: int(n) for cid, n in rows}


def task_letter(store: Store, args: list[Any]) -> int:
    with store.session() as s:
        return add_letter(
            s,
            Failure(
                source=DeadLetterSource.TASK,
                reference=f"task-{time.monotonic_ns()}",
                error_class="StoreUnavailable",
                error_message="database temporarily unavailable: OperationalError",
                task_name=names.INGEST_USAGE,
                task_args=TaskCall(tuple(args)),
            ),
        ).id


def test_usage_integrity_hijack_injection_replay_and_files(
    store: Store,
    store_url: str,
    tmp_path: Path,
    private_redis: RedisServer,
    cluster: Callable[..., Cluster],
) -> None:
    """Victim keeps its usage, summaries stay its own, task letters replay, files read."""
    started = time.monotonic()
    with store.session() as s:
        victim = create_customer(s, "Victim", aliases=["victim-main"]).id
        attacker = create_customer(s, "Attacker", aliases=["attacker-main"]).id
    refused = False
    try:
        with store.session() as s:
            add_aliases(s, attacker, [str(victim)])
    except AliasIsCustomerId:
        refused = True
    with store.session() as s:  # as an older release could have stored it
        s.execute(insert(IngestAlias).values(alias=str(victim), customer_id=attacker))
    with SandboxOrg(seed=11, opportunities=5) as org:
        c = cluster(org, private_redis.url)
        worker = c.worker(concurrency=2)
        c.wait_ready(worker)
        c.ingest([event(f"victim-{i:03d}", str(victim), n=i) for i in range(100)])
        c.ingest([event(f"attacker-{i:03d}", "attacker-main", n=1000) for i in range(10)])
        wait_for(lambda: sum(owners(store, "victim-").values()) == 100, what="victim events")
        wait_for(lambda: sum(owners(store, "attacker-").values()) == 10, what="attacker events")
        good_letter = task_letter(store, [[event("replayed-0", "victim-main")]])
        bad_letter = task_letter(store, [{"not": "a list"}])
        c.send(names.REPLAY_LETTER, good_letter)
        c.send(names.REPLAY_LETTER, bad_letter)

        def replayed() -> bool:
            with store.session() as s:
                return get_letter(s, good_letter).status is DeadLetterStatus.REPLAYED and bool(
                    get_letter(s, bad_letter).error_history
                )

        try:
            wait_for(replayed, timeout=60, what="both replays")
        except AssertionError:
            raise AssertionError(c.diagnose()) from None
        assert worker.poll() is None
    assert owners(store, "victim-") == {victim: 100}
    with store.session() as s:
        name = INJECTION.removeprefix("property:")
        (row,) = summarize(s, victim, sums=[name, "n"])
        bad = get_letter(s, bad_letter)
        history = list(bad.error_history or [])
        assert (bad.status, bad.error_class) == (DeadLetterStatus.OPEN, "StoreUnavailable")
    # The victim's 100 events and the one the replayed letter carried; nothing else.
    assert row.sums == {name: Decimal(0), "n": Decimal(sum(range(100)) + 1)}
    assert row.events == 101
    assert [h["error_class"] for h in history] == ["ValueError"]
    # Files: a BOM, non-ASCII text on read boundaries, one element over the limit.
    text = "€" * 5000  # 15,000 bytes: the 64 KiB read boundaries fall inside such texts
    items = [event(f"file-{i}", "victim-main", s=text) for i in range(12)]
    big = event("file-big", "victim-main", blob="x" * (1 << 20))
    path = tmp_path / "events.json"
    body = json.dumps([*items[:2], big, *items[2:]], ensure_ascii=False)
    path.write_bytes(b"\xef\xbb\xbf" + body.encode())
    args = ["--data-dir", str(tmp_path / "cli"), "--database-url", store_url]
    result = CliRunner().invoke(
        main, [*args, "usage", "ingest", str(path), "--json"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output + result.stderr
    counts = json.loads(result.stdout)
    assert counts == {"accepted": 12, "duplicate": 0, "rejected": 1}
    with store.session() as s:
        stored_texts = list(
            s.scalars(
                select(UsageEvent.properties).where(UsageEvent.transaction_id.startswith("file-"))
            )
        )
        (letter,) = s.scalars(
            select(DeadLetter).where(
                DeadLetter.source == DeadLetterSource.USAGE_EVENT,
                DeadLetter.error_message.contains("characters long"),
            )
        ).all()
        letter_chars = len(json.dumps(letter.payload))
    assert len(body.encode()) > 3 * CHUNK
    assert len(stored_texts) == 12 and all(p["s"] == text for p in stored_texts)
    assert letter_chars < 8192
    common = {"backend": store.dialect, "duplicated": 0, "stuck": 0}
    figure(
        "alias_hijack",
        **common,
        attach_refused=refused,
        victim_events=100,
        victim_events_kept=owners(store, "victim-").get(victim, 0),
        lost=0,
    )
    figure("summary_injection", **common, other_customers_rows_read=0, lost=0)
    figure(
        "task_letter_replay",
        **common,
        replayed_by_worker=1,
        failed_replay_kept_original_error=True,
        history_entries=len(history),
        lost=0,
    )
    figure(
        "input_files",
        **common,
        bom=True,
        events=13,
        accepted=counts["accepted"],
        rejected=counts["rejected"],
        oversized_letter_chars=letter_chars,
        text_intact=True,
        lost=0,
        seconds=elapsed(started),
    )
