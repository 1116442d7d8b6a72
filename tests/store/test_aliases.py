"""Ingest aliases: one owner each, and usage keyed on an alias follows its owner."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from sfsync.models import AliasConflict, AliasLimitExceeded, InvalidInput, NotFound, Store
from sfsync.models.aliases.attribution import attributed_customer
from sfsync.models.aliases.lookups import alias_owners, aliases_of, list_aliases, unexpected_owners
from sfsync.models.aliases.ownership import add_aliases, move_alias, remove_aliases, replace_aliases
from sfsync.models.tables import UsageEvent
from tests.store.conftest import MakeCustomer


def attributed(store: Store, key: str) -> dict[uuid.UUID | None, int]:
    with store.session() as s:
        rows = s.execute(
            select(owner := attributed_customer(s), func.count())
            .where(UsageEvent.customer_key == key)
            .group_by(owner)
        )
        return {cid: n for cid, n in rows}


def test_alias_held_by_another_customer_conflicts_naming_holder(
    store: Store, make_customer: MakeCustomer
) -> None:
    """Adding an alias another customer holds raises AliasConflict with the holder's id."""
    holder = make_customer(aliases=["shared"])
    other = make_customer()
    with pytest.raises(AliasConflict) as info, store.session() as s:
        add_aliases(s, other, ["fresh", "shared"])
    assert info.value.holder_id == holder
    assert str(holder) in str(info.value)
    with store.session() as s:
        assert aliases_of(s, other) == []


def test_re_adding_an_alias_to_its_owner_is_a_noop(
    store: Store, make_customer: MakeCustomer
) -> None:
    """Adding an alias the customer already holds changes nothing."""
    cid = make_customer(aliases=["mine"])
    with store.session() as s:
        assert add_aliases(s, cid, ["mine"]) == []
        assert aliases_of(s, cid) == ["mine"]


@pytest.mark.parametrize("alias", ["", "a" * 129])
def test_alias_length_is_enforced(store: Store, make_customer: MakeCustomer, alias: str) -> None:
    """Aliases have 1 to 128 characters."""
    cid = make_customer()
    with pytest.raises(InvalidInput), store.session() as s:
        add_aliases(s, cid, [alias])


def test_more_than_2000_aliases_are_refused(store: Store, make_customer: MakeCustomer) -> None:
    """A customer holds at most 2,000 aliases."""
    cid = make_customer(aliases=[f"a{i}" for i in range(2000)])
    with pytest.raises(AliasLimitExceeded), store.session() as s:
        add_aliases(s, cid, ["one-too-many"])
    with store.session() as s:
        assert len(aliases_of(s, cid)) == 2000


def test_attaching_an_alias_attributes_its_stored_usage(
    store: Store, make_customer: MakeCustomer, add_events: Callable[..., None]
) -> None:
    """Usage stored before its alias existed is attributed when the alias is attached."""
    add_events("IngestAlias1", 5)
    cid = make_customer()
    assert attributed(store, "IngestAlias1") == {None: 5}
    with store.session() as s:
        add_aliases(s, cid, ["IngestAlias1"])
    assert attributed(store, "IngestAlias1") == {cid: 5}


def test_moving_an_alias_moves_its_usage(
    store: Store, make_customer: MakeCustomer, add_events: Callable[..., None]
) -> None:
    """An explicit move hands the alias and its usage to the new owner."""
    first = make_customer(aliases=["sub-org"])
    second = make_customer()
    add_events("sub-org", 3)
    with store.session() as s:
        assert move_alias(s, "sub-org", second) == first
    assert attributed(store, "sub-org") == {second: 3}
    with store.session() as s:
        assert alias_owners(s, ["sub-org"]) == {"sub-org": second}


def test_removing_an_alias_makes_its_usage_pending(
    store: Store, make_customer: MakeCustomer, add_events: Callable[..., None]
) -> None:
    """Usage keyed on a removed alias is detached again."""
    cid = make_customer(aliases=["gone"])
    add_events("gone", 2)
    with store.session() as s:
        remove_aliases(s, cid, ["gone"])
    assert attributed(store, "gone") == {None: 2}


def test_removing_an_alias_the_customer_does_not_hold_is_not_found(
    store: Store, make_customer: MakeCustomer
) -> None:
    """Removing someone else's alias is refused and changes nothing."""
    owner = make_customer(aliases=["x"])
    other = make_customer()
    with pytest.raises(NotFound), store.session() as s:
        remove_aliases(s, other, ["x"])
    with store.session() as s:
        assert aliases_of(s, owner) == ["x"]


def test_replace_aliases_adds_and_removes(store: Store, make_customer: MakeCustomer) -> None:
    """replace_aliases leaves exactly the given set."""
    cid = make_customer(aliases=["keep", "drop"])
    with store.session() as s:
        added, removed = replace_aliases(s, cid, ["keep", "new"])
    assert (added, removed) == (["new"], ["drop"])
    with store.session() as s:
        assert sorted(a.alias for a in list_aliases(s, cid)) == ["keep", "new"]


def test_unexpected_owners_reports_only_aliases_out_of_place(
    store: Store, make_customer: MakeCustomer
) -> None:
    """Aliases held by their expected owner are left out; others come with their owner."""
    alpha = make_customer(aliases=["alpha-1", "alpha-2"])
    beta = make_customer(aliases=["beta-1"])
    with store.session() as s:
        odd = unexpected_owners(
            s,
            {
                "alpha-1": alpha,  # in place
                "alpha-2": beta,  # held by alpha, expected beta
                "beta-1": None,  # held, expected by a customer not created yet
                "free-1": alpha,  # nobody holds it
                "free-2": None,
            },
        )
    assert odd == {"alpha-2": alpha, "beta-1": beta, "free-1": None, "free-2": None}
