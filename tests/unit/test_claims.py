"""The ownership planners (`sync.claims`): who owns a tree, and what claiming its aliases moves.

Properties over random trees, holders and origins: every alias the tree yields is decided
exactly once (added, moved, kept or contested, or left over for lack of room), a manual
alias or one from outside the tree is never moved, a customer whose account is in the tree
is absorbed, and a root's customer merged into one whose account left its tree is revived.
"""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from sfsync.models.aliases.lookups import AliasOrigin
from sfsync.sync.claims import Held, Owner, OwnState, plan_claim, plan_loser_values, plan_owner

ACCOUNTS = [f"001{n:012d}AAA" for n in range(8)]
CUSTOMERS = [uuid.UUID(int=n + 1) for n in range(4)]
ME = CUSTOMERS[0]

origins_st = st.dictionaries(
    st.text(alphabet="abcdef", min_size=1, max_size=3),
    st.builds(AliasOrigin, st.sampled_from(ACCOUNTS), st.sampled_from(["Id", "F"])),
    max_size=12,
)
held_st = st.one_of(
    st.none(),
    st.builds(
        Held,
        st.sampled_from(CUSTOMERS),
        st.one_of(st.none(), st.builds(AliasOrigin, st.sampled_from(ACCOUNTS), st.just("Id"))),
    ),
)


Case = tuple[
    frozenset[str], dict[str, AliasOrigin], dict[str, Held], dict[uuid.UUID, str | None], int
]


@st.composite
def claims(
    draw: st.DrawFn,
) -> tuple[
    frozenset[str], dict[str, AliasOrigin], dict[str, Held], dict[uuid.UUID, str | None], int
]:
    tree = frozenset(draw(st.sets(st.sampled_from(ACCOUNTS), min_size=1)))
    origins = draw(origins_st)
    held = {a: h for a in origins if (h := draw(held_st)) is not None}
    accounts = {c: draw(st.one_of(st.none(), st.sampled_from(ACCOUNTS))) for c in CUSTOMERS[1:]}
    return tree, origins, held, accounts, draw(st.integers(0, 15))


@given(claims())
def test_every_alias_of_the_tree_is_decided_exactly_once(case: Case) -> None:
    """Added, moved, kept or contested, or overflow: one of them, for each alias."""
    tree, origins, held, accounts, room = case
    plan = plan_claim(ME, tree, origins, held, accounts, room)
    absorbed = set(plan.absorb)
    kept = {
        a
        for a, h in held.items()
        if h.holder == ME or (h.holder in absorbed and h.origin is not None)
    }
    contested = {c.alias for c in plan.conflicts}
    buckets = [set(plan.add), set(plan.move), kept, contested, set(plan.overflow)]
    assert sum(len(b) for b in buckets) == len(origins)
    assert set().union(*buckets) == set(origins)
    assert len(plan.add) + len(plan.move) <= max(0, room)


@given(claims())
def test_only_salesforce_aliases_from_the_tree_move_and_inside_customers_are_absorbed(
    case: Case,
) -> None:
    """A manual alias or one sourced outside the tree is never moved; accounts in the tree
    absorb their customers, and nothing else is absorbed."""
    tree, origins, held, accounts, room = case
    plan = plan_claim(ME, tree, origins, held, accounts, room)
    for alias, previous in plan.move.items():
        origin = held[alias].origin
        assert origin is not None and origin.account_id in tree
        assert previous == held[alias].holder != ME
    assert set(plan.absorb) == {c for c, a in accounts.items() if a in tree}
    for contested in plan.conflicts:
        assert contested.holder_id != ME


def test_what_fits_is_taken_in_the_trees_order_and_the_rest_overflows() -> None:
    """Room for two: the first two new aliases, in the tree's order; the third overflows."""
    origins = {a: AliasOrigin(ACCOUNTS[0]) for a in ("x", "y", "z")}
    plan = plan_claim(ME, {ACCOUNTS[0]}, origins, {}, {}, 2)
    assert (plan.add, list(plan.overflow)) == (("x", "y"), ["z"])


@given(
    st.sets(st.sampled_from(ACCOUNTS), min_size=1),
    st.sampled_from(ACCOUNTS),
    st.booleans(),
    st.booleans(),
)
def test_a_root_merged_into_a_customer_outside_its_tree_is_revived_only_by_a_fresh_reader(
    tree: set[str], survivor_account: str, survivor_active: bool, may_revive: bool
) -> None:
    """Survivor's account in the tree: the survivor owns it; outside: revived (if allowed)."""
    own = OwnState(ME, False, CUSTOMERS[1], survivor_account, survivor_active)
    plan = plan_owner(tree, own, may_revive=may_revive)
    if survivor_account in tree or not may_revive:
        expected = Owner.SURVIVOR if survivor_active else Owner.ARCHIVED
        assert (plan.how, plan.customer_id) == (expected, CUSTOMERS[1])
    else:
        assert (plan.how, plan.customer_id) == (Owner.REVIVE, ME)


def test_a_root_without_a_customer_gets_one_and_one_archived_by_hand_is_refused() -> None:
    """No customer: created; active: used; archived with no survivor: refused, never revived."""
    tree = {ACCOUNTS[0]}
    assert plan_owner(tree, None).how is Owner.CREATE
    assert plan_owner(tree, OwnState(ME, True)) == plan_owner(tree, OwnState(ME, True))
    assert plan_owner(tree, OwnState(ME, True)).how is Owner.USE
    assert plan_owner(tree, OwnState(ME, False)).how is Owner.ARCHIVED


def test_a_losers_values_go_to_the_masters_customer_unless_held_or_released_since() -> None:
    """Nobody's values are given; held or released ones are not; no customer: none."""
    values = ["L", "l", "x"]
    assert plan_loser_values(values, {"x"}, set(), True) == ("L", "l")
    assert plan_loser_values(values, set(), {"L", "l"}, True) == ("x",)
    assert plan_loser_values(values, set(), set(), False) == ()
