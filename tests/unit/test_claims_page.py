"""A page's claims (`sync.claims.plan_page`): the set-based path decides as the per-deal path.

Properties over random pages of accounts, holders and rooms: each account's plan is the
one the per-deal path makes for that account from the same holders, the set-based path
takes exactly the accounts whose claim only adds free aliases and shares none with another
account of the page (worked out here from the inputs), and no alias is given to two
customers.
"""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from sfsync.models.aliases.lookups import AliasOrigin
from sfsync.sync.claims import AccountClaim, Held, plan_claim, plan_page

ACCOUNTS = [f"001{n:012d}AAA" for n in range(5)]
CUSTOMERS = [uuid.UUID(int=n + 1) for n in range(len(ACCOUNTS) + 2)]
ALIASES = st.text(alphabet="abcdef", min_size=1, max_size=2)

Page = tuple[list[AccountClaim], dict[str, Held]]


@st.composite
def pages(draw: st.DrawFn) -> Page:
    """Accounts each with its own customer, their aliases, and who holds which."""
    accounts = draw(st.lists(st.sampled_from(ACCOUNTS), min_size=1, unique=True))
    claims = [
        AccountClaim(
            account,
            CUSTOMERS[ACCOUNTS.index(account)],
            draw(st.dictionaries(ALIASES, st.just(AliasOrigin(account)), max_size=4)),
            draw(st.integers(0, 5)),
        )
        for account in accounts
    ]
    wanted = sorted({a for c in claims for a in c.origins})
    holders = st.builds(
        Held,
        st.sampled_from(CUSTOMERS),
        st.one_of(st.none(), st.builds(AliasOrigin, st.sampled_from(ACCOUNTS))),
    )
    held = {a: h for a in wanted if (h := draw(st.one_of(st.none(), holders))) is not None}
    return claims, held


@given(pages())
def test_each_accounts_plan_is_the_one_the_per_deal_path_makes(page: Page) -> None:
    """Per account, the page's plan equals `plan_claim` over the same holders."""
    claims, held = page
    planned = plan_page(claims, held, {})
    for c in claims:
        tree = {c.account, *(o.account_id for o in c.origins.values())}
        assert planned.plans[c.account] == plan_claim(
            c.customer_id, tree, c.origins, held, {}, c.room
        )


@given(pages())
def test_the_fast_path_takes_only_claims_that_add_free_aliases_no_one_else_wants(
    page: Page,
) -> None:
    """Fast: every alias is free or the account's customer's own, all free ones fit, and no
    other account of the page wants any of them; the plan adds exactly the free ones."""
    claims, held = page
    planned = plan_page(claims, held, {})
    for c in claims:
        others = {a for o in claims if o.account != c.account for a in o.origins}
        free = [a for a in c.origins if a not in held]
        own = all(held[a].holder == c.customer_id for a in c.origins if a in held)
        expected_fast = own and len(free) <= c.room and others.isdisjoint(c.origins)
        assert (c.account in planned.fast) == expected_fast
        if expected_fast:
            assert list(planned.plans[c.account].add) == free


@given(pages())
def test_no_alias_is_given_to_two_customers(page: Page) -> None:
    """Across the accounts the fast path takes, each alias is added for one customer at most,
    and never one another customer holds."""
    claims, held = page
    planned = plan_page(claims, held, {})
    given_to: dict[str, uuid.UUID] = {}
    for c in claims:
        if c.account not in planned.fast:
            continue
        for alias in planned.plans[c.account].add:
            assert alias not in held
            assert given_to.setdefault(alias, c.customer_id) == c.customer_id


@given(pages())
def test_the_same_page_gives_the_same_plans(page: Page) -> None:
    """Planning a page twice gives equal answers: nothing but the inputs decides."""
    claims, held = page
    assert plan_page(claims, held, {}) == plan_page(list(claims), dict(held), {})


def test_an_alias_two_accounts_want_is_left_to_the_per_deal_path() -> None:
    """Both accounts wanting `shared` are handed back; the one wanting only its own is taken."""
    first, second, third = ACCOUNTS[:3]
    claims = [
        AccountClaim(first, CUSTOMERS[0], {"shared": AliasOrigin(first)}, 5),
        AccountClaim(second, CUSTOMERS[1], {"shared": AliasOrigin(second)}, 5),
        AccountClaim(third, CUSTOMERS[2], {"own": AliasOrigin(third)}, 5),
    ]
    planned = plan_page(claims, {}, {})
    assert planned.fast == {third}
    assert planned.plans[first].add == planned.plans[second].add == ("shared",)


def test_an_account_whose_aliases_do_not_fit_is_left_to_the_per_deal_path() -> None:
    """Room for one and two new aliases: the overflow is the per-deal path's to letter."""
    account = ACCOUNTS[0]
    claim = AccountClaim(
        account, CUSTOMERS[0], {"x": AliasOrigin(account), "y": AliasOrigin(account)}, 1
    )
    planned = plan_page([claim], {}, {})
    assert planned.fast == frozenset()
    assert (planned.plans[account].add, list(planned.plans[account].overflow)) == (("x",), ["y"])


def test_a_claim_keeps_its_aliases_as_they_were_when_it_was_made() -> None:
    """Changing the dict a claim was made from changes neither the claim nor its plan."""
    account = ACCOUNTS[0]
    origins = {"x": AliasOrigin(account)}
    claim = AccountClaim(account, CUSTOMERS[0], origins, 5)
    origins["y"] = AliasOrigin(account)
    assert list(claim.origins) == ["x"]
    assert plan_page([claim], {}, {}).plans[account].add == ("x",)
