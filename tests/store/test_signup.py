"""Product-led signups: idempotent on the internal customer id."""

from __future__ import annotations

from sfsync.models import Entity, Store
from sfsync.models.aliases.lookups import aliases_of
from sfsync.models.customers.fields import get_fields
from sfsync.models.customers.records import count_customers, get_customer
from sfsync.sync.signup import provision_signup


def test_signup_creates_once_and_then_updates(store: Store) -> None:
    """The same internal id twice is one customer, renamed and with the new aliases."""
    with store.session() as s:
        first, created = provision_signup(s, "user-42", "Acme", ["acme-key-1"])
    with store.session() as s:
        second, created_again = provision_signup(s, "user-42", "Acme Inc", ["acme-key-2"])
    assert created and not created_again and first == second
    with store.session() as s:
        assert count_customers(s) == 1
        assert get_customer(s, first).name == "Acme Inc"
        assert sorted(aliases_of(s, first)) == ["acme-key-1", "acme-key-2"]
        assert get_fields(s, Entity.CUSTOMER, first) == {"internal_customer_id": "user-42"}
