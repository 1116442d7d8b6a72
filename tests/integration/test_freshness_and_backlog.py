"""Freshness and backlog: how far behind Salesforce a stream is, after a quiet period and
during a run that has catching up to do."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from sfsync.models import Store
from sfsync.models.operations.cursors import position
from sfsync.models.operations.runs import StreamTiming, stream_timing
from sfsync.models.types import Stream, utcnow
from sfsync.sandbox import SandboxOrg
from tests.integration.conftest import Poll

PAGE = 5


@pytest.fixture
def sandbox_org() -> Iterator[SandboxOrg]:
    """An org of each test's own, with no seeded deals and small pages: its history is all
    the test made."""
    with SandboxOrg(seed=5, opportunities=0, port=0, page_size=PAGE) as org:
        yield org


def old_deals(org: SandboxOrg, count: int, age: timedelta) -> list[datetime]:
    """`count` won deals on one account, last modified `age` ago (one second apart)."""
    base = (datetime.now(UTC) - age).replace(microsecond=0)  # Salesforce keeps milliseconds
    account = org.create("Account", {"Name": f"Quiet {age}"}, commit_at=base)
    stamps = [base + timedelta(seconds=n) for n in range(count)]
    for n, at in enumerate(stamps):
        org.create(
            "Opportunity",
            {
                "Name": f"Quiet deal {n}",
                "StageName": "Closed Won",
                "CloseDate": "2026-11-02",
                "Amount": 100.0 + n,
                "CurrencyIsoCode": "USD",
                "AccountId": account,
            },
            commit_at=at,
        )
    return stamps


def timing(store: Store) -> StreamTiming:
    with store.reader() as s:
        return stream_timing(s, Stream.OPPORTUNITIES, utcnow())


def test_after_a_quiet_period_the_stream_is_fresh_and_has_no_backlog(
    org: SandboxOrg, store: Store, sync_deals: Poll
) -> None:
    """The last change is five days old: after a run the store is seconds fresh, and a run
    that only re-reads it (the lookback) reports no backlog while it goes."""
    stamps = old_deals(org, 3, timedelta(days=5))
    before = utcnow()
    sync_deals()
    after = timing(store)
    assert after.fresh_as_of is not None and after.fresh_as_of >= before - timedelta(seconds=1)
    assert after.freshness_seconds is not None and after.freshness_seconds < 60
    assert (after.backlog_since, after.backlog_seconds) == (None, None)

    seen: list[StreamTiming] = []
    sync_deals(progress=lambda n: seen.append(timing(store)))
    assert seen, "the second run read the lookback's records again"
    assert all(t.backlog_seconds is None for t in seen), seen
    final = timing(store)
    assert final.freshness_seconds is not None and final.freshness_seconds < 60
    with store.reader() as s:
        cursor = position(s, Stream.OPPORTUNITIES)
    assert cursor == max(stamps)  # the cursor is five days old, and that is no delay


def test_a_run_reports_the_oldest_change_it_has_read_and_not_applied(
    org: SandboxOrg, store: Store, sync_deals: Poll
) -> None:
    """Deals changed two hours ago, read over several pages: while the run goes the backlog
    is the age of the oldest change on the page being applied; after it, none."""
    stamps = old_deals(org, 3 * PAGE, timedelta(hours=2))
    seen: list[StreamTiming] = []
    sync_deals(progress=lambda n: seen.append(timing(store)))
    assert len(seen) >= 3
    first = seen[0]
    assert first.backlog_since == min(stamps)
    assert first.backlog_seconds is not None and first.backlog_seconds >= 2 * 3600 - 60
    # Page by page the oldest unapplied change moves forward, never back.
    sinces = [t.backlog_since for t in seen if t.backlog_since is not None]
    assert sinces == sorted(sinces) and sinces[-1] > sinces[0]
    done = timing(store)
    assert (done.backlog_since, done.backlog_seconds) == (None, None)
    assert done.freshness_seconds is not None and done.freshness_seconds < 60
