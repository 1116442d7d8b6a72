"""`leased_run`: one run at a time per stream, the lease released whatever the run did."""

from __future__ import annotations

import pytest

from sfsync.models import Store
from sfsync.models.operations.cursors import acquire_lease
from sfsync.models.operations.runs import get_run
from sfsync.models.types import RunStatus, RunTrigger, Stream
from sfsync.sync.run_result import RunResult
from sfsync.sync.streams.lease import HELD, leased_run


def _done(owner: str) -> RunResult:
    return RunResult(1, Stream.ACCOUNTS, RunStatus.SUCCEEDED, error=owner)


def _free(store: Store, stream: Stream) -> bool:
    """Whether another owner can take the lease now (taking it)."""
    with store.session() as s:
        return acquire_lease(s, stream, "probe", 60)


def test_the_run_gets_the_owner_and_the_lease_is_released_after(store: Store) -> None:
    """The body runs once with the given owner; afterwards the lease is free."""
    owners: list[str] = []

    def body(owner: str) -> RunResult:
        owners.append(owner)
        assert not _free(store, Stream.ACCOUNTS)  # held while the body runs
        return _done(owner)

    result = leased_run(store, Stream.ACCOUNTS, 60, body, owner="me")
    assert (owners, result.status, result.error) == (["me"], RunStatus.SUCCEEDED, "me")
    assert _free(store, Stream.ACCOUNTS)


def test_a_held_lease_skips_the_run_and_records_why(store: Store) -> None:
    """Another owner's lease: the body never runs; a `skipped` run says why."""
    with store.session() as s:
        assert acquire_lease(s, Stream.RECONCILE, "other", 60)
    called: list[str] = []

    def body(owner: str) -> RunResult:
        called.append(owner)
        return _done(owner)

    result = leased_run(store, Stream.RECONCILE, 60, body, trigger=RunTrigger.MANUAL)
    assert called == []
    assert (result.status, result.error, result.stream) == (
        RunStatus.SKIPPED,
        HELD,
        Stream.RECONCILE,
    )
    with store.session() as s:
        run = get_run(s, result.run_id)
        assert (run.status, run.trigger, run.error) == (RunStatus.SKIPPED, RunTrigger.MANUAL, HELD)


def test_the_lease_is_released_when_the_run_raises(store: Store) -> None:
    """A failing body's error leaves `leased_run`, and the lease is free again."""

    def body(owner: str) -> RunResult:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        leased_run(store, Stream.OPPORTUNITIES, 60, body)
    assert _free(store, Stream.OPPORTUNITIES)


def test_each_run_without_an_owner_gets_its_own(store: Store) -> None:
    """Two runs without an owner use two different owners (host, pid, random suffix)."""
    owners: list[str] = []

    def body(owner: str) -> RunResult:
        owners.append(owner)
        return _done(owner)

    for _ in range(2):
        leased_run(store, Stream.ACCOUNTS, 60, body)
    assert len(set(owners)) == 2
