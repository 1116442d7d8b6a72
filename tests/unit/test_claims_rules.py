"""The claim rules of `sync.claims.plan_claim`, against an oracle written from the inputs.

Each alias a tree yields has one fate decided by where it is held; the oracle below states
the rules of the module's docstring in test code (nowhere: added; by the claimer or by a
customer it absorbs: kept; Salesforce-sourced from the tree: moved; else contested), and
the planner must agree with it for random trees, holders, origins and rooms. The release
and merge-order rules (`plan_release`, `tree_origins`) are checked the same way.
"""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from sfsync.models.aliases.lookups import AliasOrigin
from sfsync.sync.claims import MERGED_FIELD, Held, plan_claim, plan_release, tree_origins

ACCOUNTS = [f"001{n:012d}AAA" for n in range(6)]
CUSTOMERS = [uuid.UUID(int=n + 1) for n in range(4)]
ME = CUSTOMERS[0]

origin_st = st.builds(AliasOrigin, st.sampled_from(ACCOUNTS), st.sampled_from(["Id", "F"]))
origins_st = st.dictionaries(st.text(alphabet="abcdefg", min_size=1, max_size=2), origin_st)
holder_st = st.builds(Held, st.sampled_from(CUSTOMERS), st.one_of(st.none(), origin_st))
tree_st = st.frozensets(st.sampled_from(ACCOUNTS), min_size=1)
holder_accounts_st = st.fixed_dictionaries(
    {c: st.one_of(st.none(), st.sampled_from(ACCOUNTS)) for c in CUSTOMERS[1:]}
)

Inputs = tuple[
    frozenset[str], dict[str, AliasOrigin], dict[str, Held], dict[uuid.UUID, str | None], int
]


@st.composite
def inputs(draw: st.DrawFn) -> Inputs:
    origins = draw(origins_st)
    held = {a: h for a in origins if (h := draw(st.one_of(st.none(), holder_st))) is not None}
    return draw(tree_st), origins, held, draw(holder_accounts_st), draw(st.integers(-1, 8))


def _expected(case: Inputs) -> dict[str, object]:
    """The plan the rules give, worked out alias by alias from the inputs."""
    tree, origins, held, holder_accounts, room = case
    absorbed = [c for c, account in holder_accounts.items() if account in tree and c != ME]
    add, move, resource, contested = [], {}, {}, []
    for alias, origin in origins.items():
        row = held.get(alias)
        if row is None:
            add.append(alias)
        elif row.holder == ME or (row.holder in absorbed and row.origin is not None):
            if row.origin != origin:
                resource[alias] = origin
        elif row.origin is not None and row.origin.account_id in tree:
            move[alias] = row.holder
        else:
            contested.append((alias, origin.account_id, row.holder))
    new = [a for a in origins if a in move or a in add]
    fits = new[: max(room, 0)]
    return {
        "absorb": sorted(absorbed),
        "add": [a for a in add if a in fits],
        "move": {a: h for a, h in move.items() if a in fits},
        "resource": resource,
        "contested": contested,
        "overflow": {a: origins[a] for a in new if a not in fits},
    }


@given(inputs())
def test_the_plan_follows_the_rules_alias_by_alias(case: Inputs) -> None:
    """Added, kept, moved or contested as the docstring says; what does not fit overflows."""
    tree, origins, held, holder_accounts, room = case
    plan = plan_claim(ME, tree, origins, held, holder_accounts, room)
    assert {
        "absorb": sorted(plan.absorb),
        "add": list(plan.add),
        "move": dict(plan.move),
        "resource": dict(plan.resource),
        "contested": [(c.alias, c.account_id, c.holder_id) for c in plan.conflicts],
        "overflow": dict(plan.overflow),
    } == _expected(case)


@given(inputs())
def test_the_same_inputs_give_the_same_plan(case: Inputs) -> None:
    """The planner reads nothing but its arguments: planning twice gives equal plans."""
    tree, origins, held, holder_accounts, room = case
    first = plan_claim(ME, tree, origins, held, holder_accounts, room)
    again = plan_claim(ME, set(tree), dict(origins), dict(held), dict(holder_accounts), room)
    assert first == again


@given(inputs())
def test_an_alias_another_customer_holds_by_hand_is_never_taken(case: Inputs) -> None:
    """A manual alias of a customer outside the tree stays its holder's: only contested."""
    tree, origins, held, holder_accounts, room = case
    plan = plan_claim(ME, tree, origins, held, holder_accounts, room)
    outsiders = {c for c, account in holder_accounts.items() if account not in tree}
    manual = {a for a, h in held.items() if h.origin is None and h.holder in outsiders - {ME}}
    assert manual.isdisjoint(plan.add)
    assert manual.isdisjoint(plan.move)
    assert manual <= {c.alias for c in plan.conflicts}


@given(inputs())
def test_the_plan_cannot_be_changed_after_it_is_made(case: Inputs) -> None:
    """A plan is a frozen value: its mappings refuse writes, so an applier cannot edit it."""
    tree, origins, held, holder_accounts, room = case
    plan = plan_claim(ME, tree, origins, held, holder_accounts, room)
    for mapping in (plan.move, plan.resource, plan.overflow):
        try:
            mapping["x"] = AliasOrigin(ACCOUNTS[0])  # type: ignore[index]
        except TypeError:
            continue
        raise AssertionError("a plan's mapping accepted a write")


def test_an_acquired_customers_aliases_come_with_it() -> None:
    """A customer whose account is in the tree is absorbed; its Salesforce aliases are kept."""
    acquired = CUSTOMERS[1]
    origin = AliasOrigin(ACCOUNTS[1])
    plan = plan_claim(
        ME,
        {ACCOUNTS[0], ACCOUNTS[1]},
        {"a": origin},
        {"a": Held(acquired, origin)},
        {acquired: ACCOUNTS[1]},
        5,
    )
    assert (plan.absorb, plan.add, dict(plan.move), plan.conflicts) == ((acquired,), (), {}, ())


@given(origins_st, origins_st)
def test_a_trees_own_values_come_first_and_win_over_merged_ones(
    own: dict[str, AliasOrigin], merged: dict[str, AliasOrigin]
) -> None:
    """Its own values in order, then values through merges it does not yield itself."""
    result = tree_origins(own, merged)
    assert list(result) == [*own, *(a for a in merged if a not in own)]
    assert all(result[a] == (own[a] if a in own else merged[a]) for a in result)


@given(
    st.dictionaries(
        st.text(alphabet="abcdefg", min_size=1, max_size=2),
        st.builds(AliasOrigin, st.sampled_from(ACCOUNTS), st.sampled_from(["Id", MERGED_FIELD])),
    ),
    origins_st,
)
def test_release_keeps_what_the_tree_yields_and_merges_into_its_accounts(
    held: dict[str, AliasOrigin], origins: dict[str, AliasOrigin]
) -> None:
    """Released: held, not yielded now, and not merged into an account the tree still has."""
    tree = {o.account_id for o in origins.values()}
    gone = plan_release(held, origins)
    for alias, origin in held.items():
        through_merge = origin.field == MERGED_FIELD and origin.account_id in tree
        assert (alias in gone) == (alias not in origins and not through_merge)
    assert all(gone[a] == held[a] for a in gone)
