"""Stream leases and cursors: one poll at a time per stream, the cursor only moves forward."""

from __future__ import annotations

import multiprocessing as mp
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sfsync.models import Store
from sfsync.models.errors import LeaseLost
from sfsync.models.operations.cursors import (
    acquire_lease,
    advance,
    position,
    release_lease,
    renew_lease,
)
from sfsync.models.types import Stream

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def test_held_lease_blocks_another_owner_until_released(store: Store) -> None:
    """A second owner cannot take a held lease; after release it can."""
    with store.session() as s:
        assert acquire_lease(s, Stream.OPPORTUNITIES, "a", 60)
    with store.session() as s:
        assert not acquire_lease(s, Stream.OPPORTUNITIES, "b", 60)
        assert acquire_lease(s, Stream.ACCOUNTS, "b", 60)
    with store.session() as s:
        release_lease(s, Stream.OPPORTUNITIES, "a")
    with store.session() as s:
        assert acquire_lease(s, Stream.OPPORTUNITIES, "b", 60)


def test_expired_lease_is_taken_over_and_the_old_owner_cannot_write(store: Store) -> None:
    """A run whose lease expired is superseded; its next page is refused."""
    with store.session() as s:
        assert acquire_lease(s, Stream.OPPORTUNITIES, "dead-worker", 5, now=T0)
    with store.session() as s:
        assert acquire_lease(s, Stream.OPPORTUNITIES, "next-tick", 60)
    with pytest.raises(LeaseLost), store.session() as s:
        advance(s, Stream.OPPORTUNITIES, "dead-worker", T0, 60)
    with pytest.raises(LeaseLost), store.session() as s:
        renew_lease(s, Stream.OPPORTUNITIES, "dead-worker", 60)


def test_cursor_never_moves_backwards(store: Store) -> None:
    """Advancing to an older position keeps the newer one."""
    with store.session() as s:
        acquire_lease(s, Stream.OPPORTUNITIES, "a", 60)
        advance(s, Stream.OPPORTUNITIES, "a", T0 + timedelta(hours=1), 60)
        advance(s, Stream.OPPORTUNITIES, "a", T0, 60)
    with store.session() as s:
        assert position(s, Stream.OPPORTUNITIES) == T0 + timedelta(hours=1)


def _try_lease(url: str, owner: str, barrier: Any) -> bool:
    store = Store(url)
    barrier.wait()
    try:
        with store.session() as s:
            return acquire_lease(s, Stream.OPPORTUNITIES, owner, 60)
    finally:
        store.close()


def test_one_of_many_racing_processes_gets_the_lease(store: Store) -> None:
    """Processes racing for a free lease: exactly one wins."""
    ctx = mp.get_context("spawn")
    barrier = ctx.Manager().Barrier(5)
    with ctx.Pool(5) as pool:
        won = pool.starmap(_try_lease, [(store.url, f"w{i}", barrier) for i in range(5)])
    assert sorted(won) == [False] * 4 + [True]
