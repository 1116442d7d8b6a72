"""Deals of accounts that moved (`sync.moved_accounts`), on SQLite and PostgreSQL.

Of the won deals read again for accounts that left their tree, only those whose contract is
not under their root's customer (or that customer's survivor) are provisioned again, and the
customers that take them are named with their root and the aliases of their tree.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sfsync.models import Store
from sfsync.models.aliases.lookups import AliasOrigin
from sfsync.models.contracts.records import create_contract
from sfsync.models.customers.fields import SFDC_ACCOUNT_ID, SFDC_OPPORTUNITY_ID
from sfsync.models.customers.retirement import merge_customers
from sfsync.sync.errors import MappingError
from sfsync.sync.mapping import Deal
from sfsync.sync.moved_accounts import misplaced_deals, moved_trees
from sfsync.sync.opportunities import MappedPage
from sfsync.sync.provision_batch import BatchItem
from sfsync.sync.salesforce import normalize_id
from tests.store.conftest import MakeCustomer, spec

ROOT, ACQUIRED, OTHER, LONE = (normalize_id(f"001{n:012d}") for n in range(1, 5))
PLACED, ELSEWHERE, NEW, SURVIVED = (normalize_id(f"006{n:012d}") for n in range(1, 5))
CHILD = normalize_id("001000000000009")


def _item(index: int, account: str, opportunity: str, *aliases: str) -> BatchItem:
    origins = tuple(AliasOrigin(CHILD, "F") for _ in aliases)
    deal = Deal(
        account, "Acme", aliases, opportunity, spec(), datetime(2026, 6, 1, tzinfo=UTC), origins
    )
    return BatchItem(index, deal)


def test_only_deals_not_under_their_roots_customer_are_provisioned_again(
    store: Store, make_customer: MakeCustomer
) -> None:
    """In place (also under a survivor): skipped; under another customer, or not held: kept."""
    root = make_customer(custom_fields={SFDC_ACCOUNT_ID: ROOT})
    other = make_customer(custom_fields={SFDC_ACCOUNT_ID: OTHER})
    acquired = make_customer(custom_fields={SFDC_ACCOUNT_ID: ACQUIRED})
    with store.session() as s:
        create_contract(s, root, spec(), custom_fields={SFDC_OPPORTUNITY_ID: PLACED})
        create_contract(s, other, spec(), custom_fields={SFDC_OPPORTUNITY_ID: ELSEWHERE})
        create_contract(s, acquired, spec(), custom_fields={SFDC_OPPORTUNITY_ID: SURVIVED})
        merge_customers(s, acquired, root)
    items = [
        _item(0, ROOT, PLACED),
        _item(1, ROOT, ELSEWHERE),
        _item(2, ROOT, NEW),
        _item(3, ACQUIRED, SURVIVED),
    ]
    with store.session() as s:
        misplaced = misplaced_deals(s, MappedPage(items, [(9, MappingError("kept"))]))
    assert [i.deal.opportunity_id for i in misplaced.items] == [ELSEWHERE, NEW]
    assert [index for index, _ in misplaced.failures] == [9]


def test_the_customers_taking_moved_deals_are_named_with_their_trees_aliases(
    store: Store, make_customer: MakeCustomer
) -> None:
    """Each root's customer (its survivor, if merged) gets the union of its deals' aliases;
    a root without a customer is left out."""
    root = make_customer(custom_fields={SFDC_ACCOUNT_ID: ROOT})
    other = make_customer(custom_fields={SFDC_ACCOUNT_ID: OTHER})
    acquired = make_customer(custom_fields={SFDC_ACCOUNT_ID: ACQUIRED})
    with store.session() as s:
        merge_customers(s, acquired, other)
    items = [
        _item(0, ROOT, PLACED, "a"),
        _item(1, ROOT, ELSEWHERE, "b"),
        _item(2, LONE, NEW, "c"),
        _item(3, ACQUIRED, SURVIVED, "d"),
    ]
    with store.session() as s:
        trees = moved_trees(s, MappedPage(items, []))
    origin = AliasOrigin(CHILD, "F")
    assert trees == {
        root: (ROOT, {"a": origin, "b": origin}),
        other: (ACQUIRED, {"d": origin}),
    }
