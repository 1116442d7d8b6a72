"""The owners' look-ups of a usage batch (PostgreSQL) are planned per call: statements that
send an array of keys are never prepared, so PostgreSQL never switches them to a generic
plan (a sequential scan searching the array for each alias)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from sfsync.config import Settings
from sfsync.models import Store
from sfsync.models.aliases.ownership import add_aliases
from sfsync.sync.usage import UsageRules, ingest
from tests.store.conftest import MakeCustomer

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


def _batch(n: int, first: int, keys: list[str]) -> list[dict[str, object]]:
    return [
        {
            "transaction_id": f"plan-{first + i:06d}",
            "customer_id": keys[i % len(keys)],
            "event_type": "api_call",
            "timestamp": "2026-11-20T10:00:00Z",
        }
        for i in range(n)
    ]


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_array_lookups_stay_unprepared_after_many_batches(
    store: Store, settings: Settings, make_customer: MakeCustomer
) -> None:
    """Eight batches on one connection (psycopg prepares a statement on its fifth run):
    no statement sending an array of keys is prepared (so none gets a generic plan)."""
    owner = make_customer()
    with store.session() as s:
        add_aliases(s, owner, [f"org-{i}" for i in range(50)])
    keys = [f"org-{i}" for i in range(60)] + [str(owner)]
    rules = UsageRules.of(settings)
    with store.session() as s:
        for b in range(8):
            report = ingest(s, _batch(100, b * 100, keys), rules, now=NOW)
            assert report.accepted == 100
        prepared = s.execute(text("SELECT statement FROM pg_prepared_statements")).scalars()
        with_arrays = [sql for sql in prepared if "ANY(" in sql.upper().replace(" ", "")]
    assert with_arrays == []
