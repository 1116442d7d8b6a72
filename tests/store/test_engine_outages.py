"""The store's engine recovers by itself once an outage of its database ends."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from sfsync.models import Store, StoreUnavailable
from sfsync.models.customers.records import create_customer
from sfsync.models.tables import Customer
from tests.conftest import REQUIRE_SERVICES


@contextlib.contextmanager
def immutable(*files: Path) -> Iterator[None]:
    """The files cannot be written, even by root (a read-only disk), until the block ends."""
    present = [f for f in files if f.exists()]
    subprocess.run(["chattr", "+i", *map(str, present)], check=True)
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", *map(str, present)], check=True)


@pytest.fixture
def sqlite_file(sqlite_template: Path, tmp_path: Path) -> Path:
    if shutil.which("chattr") is None:
        reason = "chattr (Debian's e2fsprogs) makes a file unwritable for root; install it"
        if REQUIRE_SERVICES:
            pytest.fail(reason)
        pytest.skip(reason)
    target = tmp_path / "store.db"
    shutil.copyfile(sqlite_template, target)
    return target


def test_a_sqlite_connection_opened_during_an_outage_writes_once_the_file_is_writable(
    sqlite_file: Path,
) -> None:
    """A connection SQLite opened read-only in an outage is discarded, not kept read-only."""
    store = Store(f"sqlite:///{sqlite_file}")
    try:
        # The store's first connection is opened while the file is unwritable.
        with (
            immutable(sqlite_file, sqlite_file.with_name(sqlite_file.name + "-wal")),
            pytest.raises(StoreUnavailable),
            store.session() as s,
        ):
            create_customer(s, "During the outage")
        with store.session() as s:
            create_customer(s, "After the outage")
        with store.reader() as s:
            names = list(s.scalars(select(Customer.name)))
            assert s.scalar(select(func.count()).select_from(Customer)) == 1
        assert names == ["After the outage"]
    finally:
        store.close()
