"""Concurrent writers from several processes: exactly one wins, the rest get the typed conflict."""

from __future__ import annotations

import multiprocessing as mp
import uuid
from typing import Any

from sqlalchemy import func, select

from sfsync.models import AliasConflict, Store, UniqueFieldConflict
from sfsync.models.aliases.ownership import add_aliases
from sfsync.models.customers.records import create_customer
from sfsync.models.tables import Customer, CustomFieldValue, IngestAlias
from tests.store.conftest import MakeCustomer

WORKERS = 6


def _add_alias(url: str, customer_id: str, barrier: Any) -> str:
    store = Store(url)
    barrier.wait()
    try:
        with store.session() as s:
            add_aliases(s, uuid.UUID(customer_id), ["contested"])
        return "won"
    except AliasConflict:
        return "conflict"
    finally:
        store.close()


def _create_customer(url: str, name: str, barrier: Any) -> str:
    store = Store(url)
    barrier.wait()
    try:
        with store.session() as s:
            create_customer(s, name, custom_fields={"sfdc_account_id": "001RACE"})
        return "won"
    except UniqueFieldConflict:
        return "conflict"
    finally:
        store.close()


def _run(target: Any, args: list[tuple[Any, ...]]) -> list[str]:
    ctx = mp.get_context("spawn")
    barrier = ctx.Manager().Barrier(len(args))
    with ctx.Pool(len(args)) as pool:
        return pool.starmap(target, [(*a, barrier) for a in args])


def test_same_alias_added_from_many_processes_has_one_owner(
    store: Store, make_customer: MakeCustomer
) -> None:
    """Processes racing to attach one alias to different customers: one wins, others conflict."""
    customers = [str(make_customer()) for _ in range(WORKERS)]
    results = _run(_add_alias, [(store.url, c) for c in customers])
    assert sorted(results) == ["conflict"] * (WORKERS - 1) + ["won"]
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(IngestAlias)) == 1


def test_same_sfdc_account_id_created_from_many_processes_once(store: Store) -> None:
    """Processes racing to create a customer for one account id: one customer exists after."""
    results = _run(_create_customer, [(store.url, f"Racer {i}") for i in range(WORKERS)])
    assert sorted(results) == ["conflict"] * (WORKERS - 1) + ["won"]
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(Customer)) == 1
        assert s.scalar(select(func.count()).select_from(CustomFieldValue)) == 1
