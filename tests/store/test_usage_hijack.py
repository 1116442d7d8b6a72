"""No alias can capture another customer's usage, and no summary can read another's.

A customer's id always names that customer: as an alias it is a conflict naming that
customer, a key that is a customer id resolves to it even against an alias row stored
before the rule (which migration 0004 reports), and summary property names never become
SQL text.
"""

from __future__ import annotations

import importlib.util
import logging
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from sqlalchemy import insert

from sfsync.config import Settings
from sfsync.models import AliasConflict, AliasIsCustomerId, Store
from sfsync.models.aliases.lookups import aliases_of
from sfsync.models.aliases.ownership import add_aliases, move_alias
from sfsync.models.tables import IngestAlias, UsageEvent
from sfsync.models.usage.events import resolve_pending
from sfsync.models.usage.summary import summarize
from sfsync.sync.usage import UsageRules, ingest
from tests.store.conftest import MakeCustomer
from tests.store.usage_events import INJECTION, owners

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
MIGRATION = (
    Path(__file__).parents[2] / "models/migrations/versions/0004_alias_report_and_letter_history.py"
)


def event(tx: str, key: str, **properties: Any) -> dict[str, Any]:
    return {
        "transaction_id": tx,
        "customer_id": key,
        "event_type": "api_call",
        "timestamp": "2026-11-20T10:00:00Z",
        "properties": properties,
    }


def plant_legacy_alias(store: Store, alias: str, holder: uuid.UUID) -> None:
    """An alias row as an older release could store it (bypassing today's rule)."""
    with store.session() as s:
        s.execute(insert(IngestAlias).values(alias=alias, customer_id=holder, created_at=NOW))


def migration() -> ModuleType:
    spec = importlib.util.spec_from_file_location("migration_0004", MIGRATION)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_an_alias_equal_to_a_customer_id_is_a_conflict_naming_that_customer(
    store: Store, make_customer: MakeCustomer
) -> None:
    """`aliases add ATTACKER <victim id>` is refused, naming the victim; nothing attached."""
    victim, attacker = make_customer(), make_customer()
    with pytest.raises(AliasIsCustomerId) as info, store.session() as s:
        add_aliases(s, attacker, ["fine", str(victim)])
    assert isinstance(info.value, AliasConflict) and info.value.holder_id == victim
    assert str(victim) in str(info.value)
    with pytest.raises(AliasIsCustomerId), store.session() as s:
        move_alias(s, str(victim), attacker)
    with store.session() as s:
        assert aliases_of(s, attacker) == []


def test_a_customer_id_key_resolves_to_its_customer_against_a_legacy_alias(
    store: Store, settings: Settings, make_customer: MakeCustomer
) -> None:
    """Ingest and the sweep attribute a key that is a customer id to that customer."""
    victim, attacker = make_customer(), make_customer()
    plant_legacy_alias(store, str(victim), attacker)
    with store.session() as s:
        ingest(s, [event("at-insert", str(victim))], UsageRules.of(settings), now=NOW)
    with store.session() as s:  # a pending event, as if stored before either existed
        s.add(
            UsageEvent(
                transaction_id="pending",
                customer_key=str(victim),
                event_type="api_call",
                timestamp=NOW,
                properties={},
            )
        )
    with store.session() as s:
        resolve_pending(s)
    assert owners(store, str(victim)) == {victim: 2}


def test_migration_0004_warns_about_each_alias_equal_to_a_customer_id(
    store: Store, make_customer: MakeCustomer, caplog: pytest.LogCaptureFixture
) -> None:
    """The migration names every stored alias that is another customer's id."""
    victim, attacker = make_customer(), make_customer(aliases=["harmless"])
    plant_legacy_alias(store, str(victim), attacker)
    module = migration()
    with caplog.at_level(logging.WARNING, "sfsync.migrations"), store.engine.begin() as conn:
        assert module.aliases_equal_to_customer_ids(conn) == [(str(victim), str(attacker))]
        with Operations.context(MigrationContext.configure(conn)):
            module.downgrade()  # the column it adds, so upgrading again is the real step
            module.upgrade()
    assert f"{victim} (held by {attacker})" in caplog.text
    assert "harmless" not in caplog.text


def test_a_summary_property_name_is_never_sql(
    store: Store, settings: Settings, make_customer: MakeCustomer
) -> None:
    """The issue's UNION injection sums nothing of another customer, on both backends."""
    mine = make_customer(aliases=["mine"])
    make_customer(aliases=["theirs"])
    with store.session() as s:
        ingest(
            s,
            [event("m1", "mine", n=1), event("t1", "theirs", n=1000), event("t2", "theirs", n=5)],
            UsageRules.of(settings),
            now=NOW,
        )
    name = INJECTION.removeprefix("property:")
    with store.session() as s:
        rows = summarize(s, mine, sums=[name, "n"])
        grouped = summarize(s, mine, sums=[name], group_by=[])
    assert [(r.events, r.sums) for r in rows] == [(1, {name: Decimal(0), "n": Decimal(1)})]
    assert [r.events for r in grouped] == [1]
