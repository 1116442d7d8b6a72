"""Archiving a customer releases its aliases (usage pending again) and archives its contracts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sfsync.models import Conflict, NotFound, Store
from sfsync.models.aliases.lookups import aliases_of
from sfsync.models.aliases.ownership import add_aliases
from sfsync.models.contracts.records import create_contract, get_contract
from sfsync.models.contracts.terms import ContractTerms
from sfsync.models.customers.archive import archive_customer
from sfsync.models.customers.fields import list_keys, register_key, remove_key, set_fields
from sfsync.models.customers.records import create_customer
from sfsync.models.types import ContractStatus, Entity
from sfsync.models.usage.events import NewEvent, get_event
from sfsync.models.usage.insert import insert_events


def _event(tx: str, key: str) -> NewEvent:
    return NewEvent(tx, key, "e", datetime.now(UTC), {}, "{}")


def test_archive_releases_aliases_and_archives_contracts(store: Store) -> None:
    """The alias is free for another customer, its usage follows; the record stays."""
    with store.session() as s:
        old = create_customer(s, "Old", aliases=["shared"])
        contract = create_contract(s, old.id, ContractTerms("C", datetime(2026, 1, 1, tzinfo=UTC)))
        insert_events(s, [_event("t1", "shared")])
    with store.session() as s:
        archived = archive_customer(s, old.id)
        assert archived.archived_at is not None
        assert aliases_of(s, old.id) == []
        assert get_event(s, "t1").customer_id is None
        assert get_contract(s, contract.id).status == ContractStatus.ARCHIVED
        new = create_customer(s, "New")
        add_aliases(s, new.id, ["shared"])
        assert get_event(s, "t1").customer_id == new.id
    with store.session() as s:
        assert archive_customer(s, old.id).archived_at == archived.archived_at


def test_remove_key_deletes_its_values_and_keeps_sfsyncs_own_keys(store: Store) -> None:
    """A removed key is gone with its values; sfdc_account_id cannot be removed."""
    with store.session() as s:
        register_key(s, Entity.CUSTOMER, "tier")
        c = create_customer(s, "C")
        set_fields(s, Entity.CUSTOMER, c.id, {"tier": "gold"})
        remove_key(s, Entity.CUSTOMER, "tier")
        assert ("customer", "tier") not in {(k.entity.value, k.key) for k in list_keys(s)}
    with store.session() as s, pytest.raises(NotFound):
        remove_key(s, Entity.CUSTOMER, "tier")
    with store.session() as s, pytest.raises(Conflict, match="cannot be removed"):
        remove_key(s, Entity.CUSTOMER, "sfdc_account_id")
