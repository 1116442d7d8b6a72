"""Chains of merges and accounts that left their holder's tree (`sync.moved_accounts`).

Pure parts only: a chain ends at its last master whatever its length (and a cycle ends
rather than loops), an account's lineage is every ancestor the hierarchy knows, and an
account is picked when a customer holding its aliases is no longer among its ancestors.
"""

from __future__ import annotations

import itertools
import uuid

from hypothesis import given
from hypothesis import strategies as st

from sfsync.sync.moved_accounts import left_their_holders, lineage, through_chains
from sfsync.sync.salesforce import AccountNode

A, B, C, D, E = (f"001{n:012d}AAA" for n in range(1, 6))
CUSTOMER_A, CUSTOMER_D = uuid.UUID(int=1), uuid.UUID(int=4)


def _tree(*edges: tuple[str, str | None]) -> dict[str, AccountNode]:
    return {child: AccountNode(child, child, parent) for child, parent in edges}


def test_a_chain_of_merges_ends_at_its_last_master() -> None:
    """A into B, B into C: both losers' aliases go to C; C itself is not a loser."""
    assert through_chains({A: B, B: C}) == {A: C, B: C}


def test_a_cycle_of_merges_ends_instead_of_looping() -> None:
    """A corrupt cycle (A into B, B into A) stops where it would come back."""
    chains = through_chains({A: B, B: A})
    assert chains == {A: A, B: B}


@given(st.lists(st.sampled_from([A, B, C, D, E]), min_size=2, max_size=5, unique=True))
def test_every_loser_of_a_straight_chain_ends_at_its_last_account(chain: list[str]) -> None:
    """A straight chain of merges of any length: each loser's master is the chain's end."""
    merged = dict(itertools.pairwise(chain))
    assert through_chains(merged) == dict.fromkeys(chain[:-1], chain[-1])


def test_lineage_is_the_account_and_every_known_ancestor() -> None:
    """Up the parents the hierarchy knows; an unknown parent ends it; a cycle stops."""
    accounts = _tree((C, B), (B, A), (A, None), (E, D))
    assert lineage(C, accounts) == {A, B, C}
    assert lineage(E, accounts) == {D, E}
    assert lineage(D, accounts) == {D}
    assert lineage(A, _tree((A, B), (B, A))) == {A, B}


def test_an_account_whose_holder_is_no_longer_an_ancestor_left_its_tree() -> None:
    """C was under A's customer and now sits under D: picked; B is still under A: not."""
    accounts = _tree((B, A), (A, None), (C, D), (D, None))
    holders_of = {B: {CUSTOMER_A}, C: {CUSTOMER_A}}
    account_of: dict[uuid.UUID, str | None] = {CUSTOMER_A: A, CUSTOMER_D: D}
    assert left_their_holders(holders_of, account_of, accounts) == [C]


def test_a_changed_account_is_picked_even_under_its_holder() -> None:
    """A `changed` account may have moved aliases but not contracts: it is read again."""
    accounts = _tree((B, A), (A, None))
    holders_of = {B: {CUSTOMER_A}}
    assert left_their_holders(holders_of, {CUSTOMER_A: A}, accounts, {B}) == [B]
    assert left_their_holders(holders_of, {CUSTOMER_A: A}, accounts) == []
