"""Customers and custom fields keep the billing model's rules, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from sfsync.models import (
    AliasConflict,
    Conflict,
    Entity,
    InvalidInput,
    NotFound,
    Store,
    UniqueFieldConflict,
    UnknownFieldKey,
)
from sfsync.models.aliases.lookups import aliases_of
from sfsync.models.customers.fields import delete_field, get_fields, register_key, set_fields
from sfsync.models.customers.records import (
    count_customers,
    create_customer,
    find_customer,
    get_customer,
)
from tests.store.conftest import MakeCustomer


def test_customer_created_with_aliases_and_fields(store: Store) -> None:
    """A customer is created with its aliases and custom fields in one call."""
    with store.session() as s:
        c = create_customer(
            s,
            "WidgetsExpress",
            aliases=["we-main", "we-eu"],
            custom_fields={"sfdc_account_id": "001000000000001AAA"},
        )
    with store.session() as s:
        assert get_customer(s, c.id).name == "WidgetsExpress"
        assert sorted(aliases_of(s, c.id)) == ["we-eu", "we-main"]
        assert get_fields(s, Entity.CUSTOMER, c.id) == {"sfdc_account_id": "001000000000001AAA"}


def test_customer_found_by_id_alias_and_unique_field(
    store: Store, make_customer: MakeCustomer
) -> None:
    """find_customer resolves an id, an alias and a unique custom field value."""
    cid = make_customer(aliases=["alias-1"], custom_fields={"sfdc_account_id": "001A"})
    with store.session() as s:
        assert find_customer(s, customer_id=cid).id == cid  # type: ignore[union-attr]
        assert find_customer(s, alias="alias-1").id == cid  # type: ignore[union-attr]
        assert find_customer(s, field=("sfdc_account_id", "001A")).id == cid  # type: ignore[union-attr]
        assert find_customer(s, alias="nobody") is None


@pytest.mark.parametrize("name", ["", "x" * 161])
def test_customer_name_length_is_enforced(store: Store, name: str) -> None:
    """Names have 1 to 160 characters."""
    with pytest.raises(InvalidInput), store.session() as s:
        create_customer(s, name)


def test_second_customer_with_same_sfdc_account_id_conflicts(
    store: Store, make_customer: MakeCustomer
) -> None:
    """A unique custom field value belongs to one customer; the conflict names the holder."""
    first = make_customer(custom_fields={"sfdc_account_id": "001X"})
    with pytest.raises(UniqueFieldConflict) as info, store.session() as s:
        create_customer(s, "Copy", custom_fields={"sfdc_account_id": "001X"})
    assert info.value.holder_id == first
    with store.session() as s:
        assert count_customers(s) == 1


def test_failed_create_leaves_nothing_behind(store: Store, make_customer: MakeCustomer) -> None:
    """An alias conflict during creation rolls back the customer and its fields."""
    make_customer(aliases=["taken"])
    with pytest.raises(AliasConflict), store.session() as s:
        create_customer(
            s, "Late", aliases=["free", "taken"], custom_fields={"sfdc_account_id": "001Y"}
        )
    with store.session() as s:
        assert find_customer(s, alias="free") is None
        assert find_customer(s, field=("sfdc_account_id", "001Y")) is None


def test_unknown_custom_field_key_is_an_error(store: Store, make_customer: MakeCustomer) -> None:
    """Setting a value for an unregistered key fails and names the key."""
    cid = make_customer()
    with pytest.raises(UnknownFieldKey, match="region"), store.session() as s:
        set_fields(s, Entity.CUSTOMER, cid, {"region": "eu"})


def test_custom_field_value_length_is_enforced(store: Store, make_customer: MakeCustomer) -> None:
    """Values have at most 200 characters."""
    cid = make_customer()
    with pytest.raises(InvalidInput), store.session() as s:
        set_fields(s, Entity.CUSTOMER, cid, {"sfdc_account_id": "x" * 201})


def test_non_unique_key_allows_shared_values(store: Store, make_customer: MakeCustomer) -> None:
    """Without enforce_uniqueness, two customers may share a value; overwrite replaces it."""
    a, b = make_customer(), make_customer()
    with store.session() as s:
        register_key(s, Entity.CUSTOMER, "region")
        set_fields(s, Entity.CUSTOMER, a, {"region": "eu"})
        set_fields(s, Entity.CUSTOMER, b, {"region": "eu"})
        set_fields(s, Entity.CUSTOMER, b, {"region": "us"})
    with store.session() as s:
        assert get_fields(s, Entity.CUSTOMER, a) == {"region": "eu"}
        assert get_fields(s, Entity.CUSTOMER, b) == {"region": "us"}


def test_unique_key_registered_later_is_enforced_by_index(
    store: Store, make_customer: MakeCustomer
) -> None:
    """A key registered with uniqueness refuses a second holder of a value."""
    a, b = make_customer(), make_customer()
    with store.session() as s:
        register_key(s, Entity.CUSTOMER, "stripe_id", unique=True)
        set_fields(s, Entity.CUSTOMER, a, {"stripe_id": "cus_1"})
    with pytest.raises(UniqueFieldConflict), store.session() as s:
        set_fields(s, Entity.CUSTOMER, b, {"stripe_id": "cus_1"})


def test_registering_a_key_with_other_uniqueness_conflicts(store: Store) -> None:
    """A key's uniqueness cannot be flipped by registering it again."""
    with pytest.raises(Conflict), store.session() as s:
        register_key(s, Entity.CUSTOMER, "sfdc_account_id", unique=False)


def test_deleting_a_custom_field_frees_the_value(store: Store, make_customer: MakeCustomer) -> None:
    """After deletion, another customer may take the unique value."""
    a = make_customer(custom_fields={"sfdc_account_id": "001Z"})
    with store.session() as s:
        delete_field(s, Entity.CUSTOMER, a, "sfdc_account_id")
    b = make_customer(custom_fields={"sfdc_account_id": "001Z"})
    with store.session() as s, pytest.raises(NotFound):
        assert find_customer(s, field=("sfdc_account_id", "001Z")).id == b  # type: ignore[union-attr]
        delete_field(s, Entity.CUSTOMER, a, "sfdc_account_id")
