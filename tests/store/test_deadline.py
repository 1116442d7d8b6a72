"""A store transaction with a deadline: its waits end with it, and it never commits past it."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from sfsync.models import DeadlinePassed, Store, StoreUnavailable
from sfsync.models.customers.records import create_customer
from sfsync.models.deadline import Deadline
from sfsync.models.tables import Customer
from tests.conftest import table_locked


def _customers(store: Store) -> int:
    with store.reader() as s:
        return int(s.scalar(select(func.count()).select_from(Customer)) or 0)


def test_a_transaction_abandoned_before_its_commit_writes_nothing(store: Store) -> None:
    """The server gave up on the request while it worked: the commit is refused."""
    deadline = Deadline(30)
    with pytest.raises(DeadlinePassed), store.session(deadline) as s:
        create_customer(s, "Abandoned")
        assert deadline.abandon()
    assert _customers(store) == 0


def test_a_transaction_whose_deadline_passed_while_working_writes_nothing(store: Store) -> None:
    """Work that outlives its deadline is rolled back, even though nothing failed."""
    deadline = Deadline(0.2)
    with pytest.raises(DeadlinePassed), store.session(deadline) as s:
        create_customer(s, "Too late")
        while deadline.remaining() > 0:
            time.sleep(0.05)  # the slow work under test, not synchronisation
    assert _customers(store) == 0


def test_a_write_blocked_by_a_lock_gives_up_at_its_deadline(store: Store) -> None:
    """Lock waits end with the deadline (PostgreSQL lock_timeout, SQLite busy timeout)."""
    with table_locked(store.url, "customers"):
        began = time.monotonic()
        with pytest.raises(StoreUnavailable), store.session(Deadline(1)) as s:
            create_customer(s, "Blocked")
        assert time.monotonic() - began < 5
    assert _customers(store) == 0
    with store.session() as s:  # without a deadline the connection waits as before
        create_customer(s, "Later")
    assert _customers(store) == 1
