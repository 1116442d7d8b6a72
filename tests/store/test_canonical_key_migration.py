"""Migration 0012 rewrites stored keys to their canonical form and settles collisions.

Rows are planted as an older release could store them (bypassing today's rules), then the
migration's upgrade runs on the store: every key ends canonical, each collision is settled
the documented way and named in a warning, and usage follows the canonical key's owner.
"""

from __future__ import annotations

import importlib.util
import logging
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType

import pytest
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from sqlalchemy import insert, select

from sfsync.models import Store
from sfsync.models.aliases.attribution import attributed_customer
from sfsync.models.customers.fields import SFDC_ACCOUNT_ID
from sfsync.models.tables import CustomFieldValue, IngestAlias, UsageEvent
from sfsync.models.types import Entity
from tests.store.conftest import MakeCustomer

MIGRATION = Path(__file__).parents[2] / "models/migrations/versions/0012_canonical_keys.py"
ID15 = "001179666626958"
ID18 = "001179666626958AAA"
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def migration() -> ModuleType:
    spec = importlib.util.spec_from_file_location("migration_0012", MIGRATION)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def plant(
    store: Store,
    aliases: list[tuple[str, uuid.UUID]],
    fields: list[tuple[uuid.UUID, str]],
    events: list[tuple[str, str, uuid.UUID | None]],
) -> None:
    """Aliases (oldest first), sfdc_account_id values and events, stored as sent."""
    with store.session() as s:
        for n, (alias, holder) in enumerate(aliases):
            s.execute(
                insert(IngestAlias).values(
                    alias=alias, customer_id=holder, created_at=T0 + timedelta(minutes=n)
                )
            )
        for holder, value in fields:
            s.execute(
                insert(CustomFieldValue).values(
                    entity=Entity.CUSTOMER,
                    entity_id=holder,
                    key=SFDC_ACCOUNT_ID,
                    value=value,
                    is_unique=True,
                )
            )
        for tx, key, stored in events:
            s.add(
                UsageEvent(
                    transaction_id=tx,
                    customer_key=key,
                    customer_id=stored,
                    event_type="call",
                    timestamp=T0,
                    properties={},
                )
            )


def test_stored_keys_become_canonical_and_each_collision_is_settled_and_reported(
    store: Store, make_customer: MakeCustomer, caplog: pytest.LogCaptureFixture
) -> None:
    """The issue's cases: a victim's id in upper case held by an attacker is removed; one
    Account held as an alias in two spellings stays with the older holder; one Account as
    three customers' sfdc_account_id stays with the canonical holder; events follow."""
    victim, attacker, older, newer, third = (make_customer() for _ in range(5))
    outside = uuid.uuid4()
    plant(
        store,
        aliases=[
            (str(victim).upper(), attacker),
            (ID15, older),
            (ID18.lower(), newer),
            ("{" + str(outside).upper() + "}", third),
            ("plain-alias", third),
        ],
        fields=[(older, ID15), (newer, ID18), (third, ID18.lower())],
        events=[
            ("hijacked", str(victim).upper(), attacker),
            ("by-15", ID15, older),
            ("by-lower", ID18.lower(), newer),
            ("by-outside", str(outside).replace("-", ""), None),
            ("plain", "plain-alias", third),
        ],
    )
    module = migration()
    with (
        caplog.at_level(logging.WARNING, "sfsync.migrations"),
        store.engine.begin() as conn,
        Operations.context(MigrationContext.configure(conn)),
    ):
        module.upgrade()
    with store.session() as s:
        aliases = dict(s.execute(select(IngestAlias.alias, IngestAlias.customer_id)).tuples().all())
        fields = dict(
            s.execute(
                select(CustomFieldValue.entity_id, CustomFieldValue.value).where(
                    CustomFieldValue.key == SFDC_ACCOUNT_ID
                )
            )
            .tuples()
            .all()
        )
        events = {
            tx: (key, owner)
            for tx, key, owner in s.execute(
                select(UsageEvent.transaction_id, UsageEvent.customer_key, attributed_customer(s))
            )
        }
    assert aliases == {ID18: older, str(outside): third, "plain-alias": third}
    assert fields == {newer: ID18}
    assert events == {
        "hijacked": (str(victim), victim),
        "by-15": (ID18, older),
        "by-lower": (ID18, older),
        "by-outside": (str(outside), third),
        "plain": ("plain-alias", third),
    }
    warning = caplog.text
    assert f"{str(victim).upper()!r} held by {attacker}: it is customer {victim}'s id" in warning
    assert f"{ID18.lower()!r} held by {newer}" in warning
    assert f"sfdc_account_id {ID15!r} of customer {older}" in warning
    assert f"sfdc_account_id {ID18.lower()!r} of customer {third}" in warning
    assert "plain-alias" not in warning


def test_a_store_already_canonical_is_left_as_it_is(
    store: Store, make_customer: MakeCustomer, caplog: pytest.LogCaptureFixture
) -> None:
    """Run on canonical keys, the migration changes and reports nothing."""
    holder = make_customer(aliases=[ID15], custom_fields={SFDC_ACCOUNT_ID: ID15})
    plant(store, aliases=[], fields=[], events=[("e", ID18, holder)])
    with caplog.at_level(logging.WARNING, "sfsync.migrations"), store.engine.begin() as conn:
        report = migration().canonicalise_keys(conn)
    assert (report.aliases_rewritten, report.fields_rewritten, report.event_keys_rewritten) == (
        0,
        0,
        0,
    )
    assert report.removed == [] and caplog.text == ""
    with store.session() as s:
        assert s.scalar(select(UsageEvent.customer_id)) == holder
