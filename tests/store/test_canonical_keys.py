"""One spelling per identity: Account ids and customer ids are keys in canonical form only.

An Account id attached in 15 characters matches events keyed in 18 (any case) and is held
once as `sfdc_account_id`; a customer id in any UUID spelling is that customer in every path
(alias attach, event key), so no spelling of it can be attached elsewhere.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from sfsync.config import Settings
from sfsync.models import AliasIsCustomerId, Store, UniqueFieldConflict
from sfsync.models.aliases.attribution import attributed_customer
from sfsync.models.aliases.lookups import alias_owners, aliases_of
from sfsync.models.aliases.ownership import add_aliases, move_alias, replace_aliases
from sfsync.models.customers.fields import SFDC_ACCOUNT_ID, find_many_by_field, get_fields
from sfsync.models.customers.records import create_customer, find_customer
from sfsync.models.tables import UsageEvent
from sfsync.models.types import Entity
from sfsync.sync.usage import UsageRules, ingest
from tests.store.conftest import MakeCustomer
from tests.unit.factories import uuid_spellings

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
ID15 = "001179666626958"
ID18 = "001179666626958AAA"
ACCOUNT_SPELLINGS = [ID15, ID18, ID18.lower()]
SPELLING_NAMES = ["canonical", "upper", "braces", "urn", "hex", "upper-hex", "whitespace"]


def event(tx: str, key: str) -> dict[str, Any]:
    return {
        "transaction_id": tx,
        "customer_id": key,
        "event_type": "api_call",
        "timestamp": "2026-11-20T10:00:00Z",
    }


def attributed(store: Store) -> dict[str, uuid.UUID | None]:
    """transaction id → the customer its event belongs to."""
    with store.session() as s:
        rows = s.execute(select(UsageEvent.transaction_id, attributed_customer(s)))
        return {tx: owner for tx, owner in rows}


@pytest.mark.parametrize("attached", ACCOUNT_SPELLINGS)
def test_an_account_id_alias_in_any_spelling_matches_events_in_every_spelling(
    store: Store, settings: Settings, make_customer: MakeCustomer, attached: str
) -> None:
    """Attached as 15, 18 or lower-case 18 characters: stored as 18, and events keyed on
    each spelling (before and after the attach) reach the customer."""
    with store.session() as s:
        ingest(s, [event("early", ID15)], UsageRules.of(settings), now=NOW)
    cid = make_customer(aliases=[attached])
    with store.session() as s:
        assert aliases_of(s, cid) == [ID18]
        assert alias_owners(s, ACCOUNT_SPELLINGS) == {
            spelling: cid for spelling in ACCOUNT_SPELLINGS
        }
        assert find_customer(s, alias=ID18.lower()) is not None
        events = [event(f"late-{i}", key) for i, key in enumerate(ACCOUNT_SPELLINGS)]
        ingest(s, events, UsageRules.of(settings), now=NOW)
    assert set(attributed(store).values()) == {cid}


def test_an_account_is_held_as_sfdc_account_id_once_whatever_its_spelling(
    store: Store, make_customer: MakeCustomer
) -> None:
    """The issue's three forms: the first holder keeps it in 18 characters, the others
    conflict naming it, and every spelling finds it."""
    holder = make_customer(custom_fields={SFDC_ACCOUNT_ID: ID15})
    for spelling in ACCOUNT_SPELLINGS:
        with pytest.raises(UniqueFieldConflict) as info, store.session() as s:
            create_customer(s, "Copy", custom_fields={SFDC_ACCOUNT_ID: spelling})
        assert info.value.holder_id == holder
    with store.session() as s:
        assert get_fields(s, Entity.CUSTOMER, holder) == {SFDC_ACCOUNT_ID: ID18}
        found = find_customer(s, field=(SFDC_ACCOUNT_ID, ID18.lower()))
        assert found is not None and found.id == holder
        assert find_many_by_field(s, Entity.CUSTOMER, SFDC_ACCOUNT_ID, ACCOUNT_SPELLINGS) == {
            spelling: holder for spelling in ACCOUNT_SPELLINGS
        }


@pytest.mark.parametrize("which", range(7), ids=SPELLING_NAMES)
def test_no_spelling_of_a_customer_id_can_be_attached_to_another_customer(
    store: Store, make_customer: MakeCustomer, which: int
) -> None:
    """add, replace, move and create all refuse the victim's id in this spelling."""
    victim, attacker = make_customer(), make_customer()
    spelling = uuid_spellings(victim)[which]
    with pytest.raises(AliasIsCustomerId) as info, store.session() as s:
        add_aliases(s, attacker, [spelling])
    assert info.value.holder_id == victim
    with pytest.raises(AliasIsCustomerId), store.session() as s:
        replace_aliases(s, attacker, ["fine", spelling])
    with pytest.raises(AliasIsCustomerId), store.session() as s:
        move_alias(s, spelling, attacker)
    with pytest.raises(AliasIsCustomerId), store.session() as s:
        create_customer(s, "Attacker 2", aliases=[spelling])
    with store.session() as s:
        assert aliases_of(s, attacker) == []
        assert alias_owners(s, [spelling]) == {spelling: victim}


def test_events_keyed_on_every_spelling_of_a_customer_id_reach_that_customer(
    store: Store, settings: Settings, make_customer: MakeCustomer
) -> None:
    """Upper case, braces, urn:uuid:, 32 digits, whitespace: each event is the customer's,
    stored under the canonical id."""
    victim = make_customer()
    make_customer(aliases=["decoy"])
    events = [event(f"s-{i}", key) for i, key in enumerate(uuid_spellings(victim))]
    with store.session() as s:
        report = ingest(s, events, UsageRules.of(settings), now=NOW)
    assert report.counts()["accepted"] == 7
    assert attributed(store) == {f"s-{i}": victim for i in range(7)}
    with store.session() as s:
        keys = set(s.scalars(select(UsageEvent.customer_key)))
        assert keys == {str(victim)}
        assert s.scalar(select(func.count()).select_from(UsageEvent)) == 7


def test_a_uuid_alias_of_no_customer_is_kept_canonical_and_matches_every_spelling(
    store: Store, settings: Settings, make_customer: MakeCustomer
) -> None:
    """A UUID that is no customer's id can be an alias; it is one key in every spelling."""
    outside = uuid.uuid4()
    cid = make_customer(aliases=[str(outside).upper()])
    with store.session() as s:
        assert aliases_of(s, cid) == [str(outside)]
        events = [event(f"o-{i}", key) for i, key in enumerate(uuid_spellings(outside))]
        ingest(s, events, UsageRules.of(settings), now=NOW)
    assert set(attributed(store).values()) == {cid}
