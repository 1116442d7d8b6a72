"""Salesforce's hierarchy applied to aliases (`sync.merges`), on SQLite and PostgreSQL.

Claiming a tree adds what nobody holds, moves what left another customer's tree, absorbs a
customer whose account joined the tree and leaves an operator's alias contested; releasing
drops only what the tree no longer yields; a Salesforce merge moves the loser's customer
and aliases to the master's customer, once.
"""

from __future__ import annotations

from collections.abc import Callable

from sfsync.models import Entity, Store
from sfsync.models.aliases.lookups import AliasOrigin, aliases_of, external_aliases_of
from sfsync.models.aliases.moves import list_moves
from sfsync.models.aliases.ownership import add_aliases
from sfsync.models.contracts.records import create_contract, get_contract
from sfsync.models.contracts.revisions import Change, history
from sfsync.models.customers.fields import SFDC_ACCOUNT_ID, find_by_field
from sfsync.models.customers.records import get_customer
from sfsync.models.types import AliasMoveReason, CustomerStatus, RevisionKind
from sfsync.models.usage.events import get_event
from sfsync.sync.claims import MERGED_FIELD
from sfsync.sync.merges import absorb_merged_account, claim_tree, release_outside
from sfsync.sync.salesforce import normalize_id
from tests.store.conftest import MakeCustomer, spec

ROOT, CHILD, OTHER, LOSER = (normalize_id(f"001{n:012d}") for n in range(1, 5))
RUN = Change("account stream", run_id=7)


def test_claiming_adds_free_aliases_keeps_its_own_and_contests_an_operators(
    store: Store, make_customer: MakeCustomer
) -> None:
    """Free aliases are attached with their origins, its own manual one stays manual; a
    manual alias held elsewhere is a conflict naming its holder and stays where it is."""
    me = make_customer(custom_fields={SFDC_ACCOUNT_ID: ROOT}, aliases=[ROOT])
    holder = make_customer(aliases=["by-hand"])
    origins = {
        ROOT: AliasOrigin(ROOT),
        "child-key": AliasOrigin(CHILD, "Ingest_Alias__c"),
        "by-hand": AliasOrigin(CHILD, "Ingest_Alias__c"),
    }
    with store.session() as s:
        claim = claim_tree(s, me, origins, {ROOT, CHILD}, change=RUN)
    assert claim.added == ["child-key"]
    assert (claim.moved, claim.merged, claim.overflow) == ({}, [], {})
    assert [(c.alias, c.account_id, c.holder_id) for c in claim.conflicts] == [
        ("by-hand", CHILD, holder)
    ]
    with store.session() as s:
        assert set(aliases_of(s, me)) == {ROOT, "child-key"}
        assert aliases_of(s, holder) == ["by-hand"]
        # The root's id was attached by hand: the claim keeps it, and keeps it an operator's.
        assert external_aliases_of(s, me) == {"child-key": AliasOrigin(CHILD, "Ingest_Alias__c")}


def test_an_alias_whose_account_moved_into_the_tree_moves_with_its_usage(
    store: Store, make_customer: MakeCustomer, add_events: Callable[..., None]
) -> None:
    """Re-parented: the alias leaves its old holder, its usage follows, the move is recorded."""
    me = make_customer(custom_fields={SFDC_ACCOUNT_ID: ROOT})
    old = make_customer(custom_fields={SFDC_ACCOUNT_ID: OTHER})
    with store.session() as s:
        add_aliases(s, old, [CHILD], {CHILD: AliasOrigin(CHILD)})
    add_events(CHILD)
    with store.session() as s:
        claim = claim_tree(s, me, {CHILD: AliasOrigin(CHILD)}, {ROOT, CHILD}, change=RUN)
    assert (claim.added, claim.moved, claim.conflicts) == ([], {CHILD: old}, [])
    with store.session() as s:
        assert (aliases_of(s, me), aliases_of(s, old)) == ([CHILD], [])
        assert get_event(s, "tx-1").customer_id == me
        (move,) = list_moves(s, alias=CHILD)
        assert (move.from_customer_id, move.to_customer_id, move.reason) == (
            old,
            me,
            AliasMoveReason.REPARENTED,
        )
        assert move.source_account_id == CHILD


def test_a_customer_whose_account_joined_the_tree_is_absorbed_with_its_contracts(
    store: Store, make_customer: MakeCustomer
) -> None:
    """An acquisition: the child's own customer merges in; its contract moves with a revision
    naming the acquired account, and its Salesforce aliases come along."""
    me = make_customer(custom_fields={SFDC_ACCOUNT_ID: ROOT})
    acquired = make_customer(custom_fields={SFDC_ACCOUNT_ID: CHILD})
    with store.session() as s:
        add_aliases(s, acquired, [CHILD], {CHILD: AliasOrigin(CHILD)})
        contract_id = create_contract(s, acquired, spec()).id
    with store.session() as s:
        claim = claim_tree(s, me, {CHILD: AliasOrigin(CHILD)}, {ROOT, CHILD}, change=RUN)
    assert [(m.absorbed_id, m.survivor_id) for m in claim.merged] == [(acquired, me)]
    assert claim.conflicts == []
    with store.session() as s:
        gone = get_customer(s, acquired)
        assert (gone.status, gone.merged_into) == (CustomerStatus.ARCHIVED, me)
        assert aliases_of(s, me) == [CHILD]
        assert get_contract(s, contract_id).customer_id == me
        last = history(s, contract_id)[-1]
        assert last.kind is RevisionKind.MOVED
        assert last.cause == f"acquired: account {CHILD}"
        assert last.run_id == 7


def test_release_drops_only_what_the_tree_no_longer_yields(
    store: Store, make_customer: MakeCustomer
) -> None:
    """A detached child's alias is released (recorded); manual aliases and values merged
    into an account still in the tree stay."""
    me = make_customer(custom_fields={SFDC_ACCOUNT_ID: ROOT}, aliases=["by-hand"])
    with store.session() as s:
        add_aliases(
            s,
            me,
            [ROOT, CHILD, "merged-in"],
            {
                ROOT: AliasOrigin(ROOT),
                CHILD: AliasOrigin(CHILD),
                "merged-in": AliasOrigin(ROOT, MERGED_FIELD),
            },
        )
    with store.session() as s:
        released = release_outside(s, me, {ROOT: AliasOrigin(ROOT)})
    assert released == [CHILD]
    with store.session() as s:
        assert set(aliases_of(s, me)) == {ROOT, "merged-in", "by-hand"}
        (move,) = list_moves(s, alias=CHILD)
        assert (move.from_customer_id, move.to_customer_id, move.reason) == (
            me,
            None,
            AliasMoveReason.DETACHED,
        )
        assert release_outside(s, me, {ROOT: AliasOrigin(ROOT)}) == []


def test_a_merged_away_accounts_customer_and_aliases_go_to_the_masters_customer_once(
    store: Store, make_customer: MakeCustomer
) -> None:
    """The loser's customer merges into the root's; its aliases now come from the master
    through the merge; reading the merge again changes nothing."""
    survivor = make_customer(custom_fields={SFDC_ACCOUNT_ID: ROOT})
    loser = make_customer(custom_fields={SFDC_ACCOUNT_ID: LOSER})
    with store.session() as s:
        add_aliases(
            s,
            loser,
            [LOSER, "loser-key"],
            {LOSER: AliasOrigin(LOSER), "loser-key": AliasOrigin(LOSER, "F")},
        )
    loser_aliases = {LOSER: AliasOrigin(LOSER), "loser-key": AliasOrigin(LOSER, "F")}
    with store.session() as s:
        merged = absorb_merged_account(
            s, LOSER, CHILD, ROOT, "Root", {ROOT, CHILD}, loser_aliases, RUN
        )
    assert merged is True
    through = AliasOrigin(CHILD, MERGED_FIELD)
    with store.session() as s:
        assert get_customer(s, loser).merged_into == survivor
        assert external_aliases_of(s, survivor) == {LOSER: through, "loser-key": through}
        reasons = {m.reason for m in list_moves(s, customer_id=survivor)}
        assert reasons == {AliasMoveReason.MERGED}
    with store.session() as s:
        again = absorb_merged_account(
            s, LOSER, CHILD, ROOT, "Root", {ROOT, CHILD}, loser_aliases, RUN
        )
    assert again is False
    with store.session() as s:
        assert external_aliases_of(s, survivor) == {LOSER: through, "loser-key": through}


def test_a_loser_without_a_customer_gives_its_free_values_to_an_existing_masters_customer(
    store: Store, make_customer: MakeCustomer
) -> None:
    """Values nobody holds are given, recorded as through the merge; a held one is not; a
    master whose tree has no customer gets nothing and none is created."""
    survivor = make_customer(custom_fields={SFDC_ACCOUNT_ID: ROOT})
    holder = make_customer(aliases=["taken"])
    values = {"free": AliasOrigin(LOSER, "F"), "taken": AliasOrigin(LOSER, "F")}
    with store.session() as s:
        assert absorb_merged_account(s, LOSER, ROOT, ROOT, "Root", {ROOT}, values, RUN) is False
    with store.session() as s:
        assert external_aliases_of(s, survivor) == {"free": AliasOrigin(ROOT, MERGED_FIELD)}
        assert aliases_of(s, holder) == ["taken"]
    with store.session() as s:
        lone = absorb_merged_account(s, LOSER, OTHER, OTHER, "Other", {OTHER}, values, RUN)
    assert lone is False
    with store.session() as s:
        assert find_by_field(s, Entity.CUSTOMER, SFDC_ACCOUNT_ID, OTHER) is None
