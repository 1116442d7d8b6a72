"""Model-based: seeded random sequences of account changes, checked against the org's records.

Each step changes the sandbox org the way Salesforce users do (a new child, a detach, a
re-parent under another enterprise, the acquisition of a root, a Salesforce merge, a
rename, an alias-field edit, a new won deal, an open deal won later; one to three of them
inside one sync window), sends usage keyed on account ids (18
characters, 15, re-cased), alias values and manual aliases, and syncs both streams. Then
the store must equal what this module computes from the org's records and from the rules
of the billing model, never through sfsync's mapping:

- an account's aliases (its id, its alias-field value) belong to the customer of its
  top-most ancestor (or itself) that holds a customer, followed to its survivor if that one
  was merged and the survivor's account is in its tree; with no such ancestor they are held
  by nobody (their usage pending);
- a customer merged into one whose account is no longer in its tree (an acquisition undone,
  the survivor's account merged away) is active again, and holds its tree;
- a customer whose account has an ancestor holding a customer is merged into that one
  (merges are kept one step long: whoever was merged into it points on);
- a merged-away loser's aliases belong, wherever its master goes, to whoever holds the
  master's aliases, recorded as coming from the master through the merge (a master merged
  away in turn passes them on to its own master); its customer is merged there too;
- every won deal's account has its root's customer (created when the deal is won, or when
  the account later leaves for a root that has none), however long ago the deal was won,
  and its contract is under the customer holding the account's aliases;
- every change of a contract's owner is a revision, and every change of a
  Salesforce-sourced alias's holder an alias move;
- a merged-away loser's id and alias values go to the customer of the master's tree, even
  when the loser had no customer of its own, and are released for good when the master
  ends up in a tree without a customer;
- a manual alias stays on the customer it was attached to, whatever happens;
- every usage event is attributed to the holder of the alias its key names.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from sfsync.config import Settings
from sfsync.models import Entity, Store
from sfsync.models.aliases.attribution import attributed_customer
from sfsync.models.aliases.ownership import add_aliases
from sfsync.models.contracts.revisions import history
from sfsync.models.customers.fields import (
    SFDC_ACCOUNT_ID,
    SFDC_OPPORTUNITY_ID,
    fields_for,
    find_by_field,
)
from sfsync.models.operations.deadletters import list_letters
from sfsync.models.tables import AliasMove, Contract, Customer, IngestAlias, UsageEvent
from sfsync.models.types import ContractStatus, CustomerStatus, DeadLetterStatus, utcnow
from sfsync.sandbox import SandboxOrg
from sfsync.sync.salesforce import SalesforceClient
from sfsync.sync.usage import UsageRules, ingest
from tests.integration.conftest import Poll
from tests.integration.helpers import won_deal

FIELD = "Ingest_Alias__c"
STEPS = 10
MERGED = "MasterRecordId"


@pytest.fixture
def sandbox_org() -> Iterator[SandboxOrg]:
    """An org with no seeded accounts worth speaking of: the test builds every hierarchy."""
    with SandboxOrg(seed=11, accounts=1, opportunities=0) as org:
        yield org


@dataclass
class Model:
    """What the test knows that Salesforce's records do not say: who has a customer."""

    #: account → True for each account a customer was created for (its sfdc_account_id).
    customers: set[str] = field(default_factory=set)
    #: customer (by its account) → the customer it was merged into (one step: flattened).
    merged_into: dict[str, str] = field(default_factory=dict)
    #: manual alias → the customer (by its account) it was attached to.
    manual: dict[str, str] = field(default_factory=dict)
    #: a merged-away loser's alias → the master account it came to.
    merged_aliases: dict[str, str] = field(default_factory=dict)
    #: accounts with a won deal (a merge moves the loser's deals to its master).
    deals: set[str] = field(default_factory=set)
    #: open opportunities → their account (a merge moves them too).
    open_deals: dict[str, str] = field(default_factory=dict)
    #: transaction id → the alias its key names.
    events: dict[str, str] = field(default_factory=dict)
    serial: int = 0

    def head(self, customer: str) -> str:
        while customer in self.merged_into:
            customer = self.merged_into[customer]
        return customer

    def merge(self, absorbed: str, survivor: str) -> None:
        self.merged_into.pop(survivor, None)
        self.merged_into[absorbed] = survivor
        for other, into in list(self.merged_into.items()):
            if into == absorbed:
                self.merged_into[other] = survivor

    def next(self, prefix: str) -> str:
        self.serial += 1
        return f"{prefix}-{self.serial}"


class Org:
    """The org's live records, read through the API like any integration would."""

    def __init__(self, client: SalesforceClient) -> None:
        rows = client.query_all(f"SELECT Id, Name, ParentId, {FIELD} FROM Account")
        self.parent = {r["Id"]: r["ParentId"] for r in rows}
        self.value = {r["Id"]: r[FIELD] for r in rows}
        self.name = {r["Id"]: r["Name"] for r in rows}
        won = client.query_all("SELECT Id, AccountId FROM Opportunity WHERE IsWon = true")
        self.won = {r["Id"]: r["AccountId"] for r in won}

    def lineage(self, account: str) -> list[str]:
        """The account, then its ancestors up to the root."""
        chain = [account]
        while (parent := self.parent.get(chain[-1])) is not None:
            chain.append(parent)
        return chain

    def root(self, account: str) -> str:
        return self.lineage(account)[-1]

    def subtree(self, account: str) -> set[str]:
        return {a for a in self.parent if account in self.lineage(a)}


def resolve(model: Model, org: Org, top: str) -> str:
    """The customer that holds the tree of `top` (an account with a customer, the top-most of
    its lineage): its own, or its survivor while the survivor's account is in that tree."""
    head = model.head(top)
    return head if head == top or head in org.subtree(top) else top


def owner(model: Model, org: Org, account: str) -> str | None:
    """The customer (by its account) that holds an account's aliases, per the rules above."""
    holding = [a for a in org.lineage(account) if a in model.customers]
    return resolve(model, org, holding[-1]) if holding else None


def revive(model: Model, org: Org) -> None:
    """Customers merged into one whose account left their tree are active again."""
    for account in sorted(model.customers):
        live = account in org.parent and account in model.merged_into
        if live and owner(model, org, account) == account:
            del model.merged_into[account]


def settle(model: Model, org: Org) -> None:
    """Customers a sync makes: a won deal's contract belongs to the customer of its account's
    root, wherever the account has moved since (created if none); revivals; and merges: a
    customer under an ancestor holding a customer joins it."""
    model.customers.update(org.root(d) for d in model.deals if d in org.parent)
    revive(model, org)
    # What came through a merge to a master whose tree has no customer is released for
    # good: the loser no longer exists in Salesforce to yield it again.
    for alias, master in list(model.merged_aliases.items()):
        if owner(model, org, master) is None:
            del model.merged_aliases[alias]
    for account in sorted(model.customers):
        if account not in org.parent or model.head(account) != account:
            continue
        top = owner(model, org, account)
        if top is not None and top != account:
            model.merge(account, top)


def truth(model: Model, org: Org) -> dict[str, tuple[str, str, str | None, str | None]]:
    """alias → (holder's account, source, source account, source field)."""
    out: dict[str, tuple[str, str, str | None, str | None]] = {}
    for account in org.parent:
        holder = owner(model, org, account)
        if holder is None:
            continue
        out[account] = (holder, "salesforce", account, "Id")
        if org.value[account]:
            out[org.value[account]] = (holder, "salesforce", account, FIELD)
    for alias, master in model.merged_aliases.items():
        holder = owner(model, org, master)
        if holder is not None:
            out[alias] = (holder, "salesforce", master, MERGED)
    for alias, holder in model.manual.items():
        out[alias] = (holder, "manual", None, None)
    return out


# --- the steps ---------------------------------------------------------------------------------


def _pick(rng: random.Random, items: Any) -> Any:
    items = sorted(items)
    return rng.choice(items) if items else None


KINDS = [
    "child",
    "child",
    "detach",
    "reparent",
    "acquire",
    "merge",
    "rename",
    "edit",
    "deal",
    "open",
    "win",
]


def step(rng: random.Random, sf: SandboxOrg, model: Model, org: Org, read: Any) -> str:
    """One random account change; returns what it did (for the failure message). `read`
    reads the org again (a merge needs the org as it is after it)."""
    children = [a for a, p in org.parent.items() if p is not None]
    kind = rng.choice(KINDS)
    if kind == "child" or (kind in ("detach", "reparent") and not children):
        parent = _pick(rng, org.parent)
        sf.create(
            "Account", {"Name": model.next("Sub"), "ParentId": parent, FIELD: model.next("v")}
        )
        return f"child under {parent}"
    if kind == "detach":
        child = _pick(rng, children)
        sf.update("Account", child, {"ParentId": None})
        return f"detach {child}"
    if kind == "reparent":
        child = _pick(rng, children)
        targets = [a for a in org.parent if a not in org.subtree(child)]
        target = _pick(rng, targets)
        if target is None:
            return "nothing"
        sf.update("Account", child, {"ParentId": target})
        return f"reparent {child} under {target}"
    if kind == "acquire":
        # Any root with a customer, under any account of another tree: one with a customer,
        # or one without (an acquirer that may win a deal later).
        roots = [a for a in org.parent if org.parent[a] is None and owner(model, org, a)]
        root = _pick(rng, roots)
        targets = [a for a in org.parent if root and org.root(a) != root]
        target = _pick(rng, targets)
        if root is None or target is None:
            return "nothing"
        sf.update("Account", root, {"ParentId": target})
        return f"acquire {root} under {target}"
    if kind == "merge":
        return _merge(rng, sf, model, org, read)
    if kind == "rename":
        account = _pick(rng, org.parent)
        sf.update("Account", account, {"Name": model.next("Renamed")})
        return f"rename {account}"
    if kind == "edit":
        account = _pick(rng, org.parent)
        sf.update("Account", account, {FIELD: model.next("v")})
        return f"edit {account}"
    if kind == "open":
        account = _pick(rng, org.parent)
        opportunity = won_deal(sf, account, Name=model.next("Open"), StageName="Prospecting")
        model.open_deals[opportunity] = account
        return f"open deal on {account}"
    if kind == "win" and model.open_deals:
        opportunity = _pick(rng, model.open_deals)
        sf.update("Opportunity", opportunity, {"StageName": "Closed Won"})
        model.deals.add(model.open_deals.pop(opportunity))
        return f"win {opportunity}"
    account = _pick(rng, org.parent)
    won_deal(sf, account, Name=model.next("Deal"))
    model.deals.add(account)
    return f"deal on {account}"


def _merge(rng: random.Random, sf: SandboxOrg, model: Model, org: Org, read: Any) -> str:
    """A Salesforce merge of any account into any account of a tree whose root has (or, with
    this window's deals, gets) a customer: a master anywhere in its tree."""
    pending = model.customers | {org.root(d) for d in model.deals if d in org.parent}
    masters = [a for a in org.parent if org.root(a) in pending]
    master = _pick(rng, masters)
    loser = _pick(rng, [a for a in org.parent if a != master])
    if master is None or loser is None or master in org.subtree(loser):
        return "nothing"
    held = owner(model, org, loser)
    sf.merge(master, [loser])
    if loser in model.deals:  # Salesforce moves the loser's opportunities to the master
        model.deals.discard(loser)
        model.deals.add(master)
    for opportunity, account in model.open_deals.items():
        if account == loser:
            model.open_deals[opportunity] = master
    now = read()
    # What the sync does: the deals' stream first (customers of the deals' roots), then
    # the merge into the customer of the master's root, revived if it was merged away.
    model.customers.update(now.root(d) for d in model.deals if d in now.parent)
    revive(model, now)
    root = now.root(master)
    survivor = resolve(model, now, root) if root in model.customers else None
    assert survivor is not None
    if loser in model.customers and model.head(loser) == loser and loser != survivor:
        model.merge(loser, survivor)
    # The loser's id and alias values go to the master's customer, customer or not.
    model.merged_aliases[loser] = master
    if org.value[loser]:
        model.merged_aliases[org.value[loser]] = master
    del held
    for alias, came_to in model.merged_aliases.items():
        if came_to == loser:  # what came to the loser through a merge goes on with it
            model.merged_aliases[alias] = master
    return f"merge {loser} into {master}"


def send_usage(
    rng: random.Random, store: Store, settings: Settings, model: Model, org: Org, known: list[str]
) -> None:
    """A few events keyed on aliases in one of their forms (ids also 15 chars or re-cased)."""
    events = []
    for _ in range(4):
        alias = rng.choice(known)
        key = alias
        if alias.startswith("001") and len(alias) == 18:
            key = rng.choice([alias, alias[:15], alias.lower(), alias.upper()])
        tx = model.next("tx")
        model.events[tx] = alias
        events.append(
            {
                "transaction_id": tx,
                "customer_id": key,
                "event_type": "api_call",
                "timestamp": (utcnow() - timedelta(minutes=5)).isoformat(),
            }
        )
    with store.session() as s:
        assert ingest(s, events, UsageRules.of(settings)).counts()["accepted"] == len(events)


# --- the comparison ----------------------------------------------------------------------------


def store_state(
    store: Store,
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], dict[str, str]]:
    """(aliases, customers, attribution, active customers' names) in the store, customers
    named by their account."""
    with store.session() as s:
        customers = list(s.query(Customer))
        account_of = {
            c: f[SFDC_ACCOUNT_ID]
            for c, f in fields_for(s, Entity.CUSTOMER, [c.id for c in customers]).items()
        }
        aliases = {
            a.alias: (
                account_of[a.customer_id],
                a.source.value,
                a.source_account_id,
                a.source_field,
            )
            for a in s.query(IngestAlias)
        }
        active = {c.id for c in customers if c.status is CustomerStatus.ACTIVE}
        # A merged customer's survivor is active (`customers show` leads to it); which one
        # it is depends on the order the merges came in, and the trees decide the rest.
        states = {
            account_of[c.id]: (c.status, c.merged_into is None or c.merged_into in active)
            for c in customers
        }
        names = {account_of[c.id]: c.name for c in customers if c.status is CustomerStatus.ACTIVE}
        attribution = {
            tx: account_of[cid] if cid else None
            for tx, cid in s.execute(select(UsageEvent.transaction_id, attributed_customer(s)))
        }
        letters = [
            f"{x.error_class}: {x.error_message}"
            for x in list_letters(s, status=DeadLetterStatus.OPEN)
        ]
    assert letters == []
    return aliases, states, attribution, names


def attach_manual_aliases(store: Store, model: Model) -> None:
    """Each new customer gets an operator's alias, which no sync may ever touch."""
    with store.session() as s:
        for account in sorted(model.customers):
            alias = f"ops-{account}"
            if alias in model.manual or model.head(account) != account:
                continue
            customer = find_by_field(s, Entity.CUSTOMER, SFDC_ACCOUNT_ID, account)
            assert customer is not None, f"no customer for {account}"
            add_aliases(s, customer, [alias])
            model.manual[alias] = account


def contract_owners(store: Store) -> dict[str, tuple[str, ContractStatus]]:
    """opportunity → (its contract's customer, by account; its status)."""
    with store.session() as s:
        contracts = list(s.scalars(select(Contract)))
        opportunity = fields_for(s, Entity.CONTRACT, [c.id for c in contracts])
        account_of = {
            c: f[SFDC_ACCOUNT_ID]
            for c, f in fields_for(s, Entity.CUSTOMER, {c.customer_id for c in contracts}).items()
        }
        return {
            opportunity[c.id][SFDC_OPPORTUNITY_ID]: (account_of[c.customer_id], c.status)
            for c in contracts
        }


def unrecorded_owner_changes(store: Store) -> list[str]:
    """Contracts whose owner changed without a revision: the revisions, replayed, must be a
    chain of owners ending at the contract's customer."""
    wrong = []
    with store.session() as s:
        for contract in s.scalars(select(Contract)):
            owners = [
                ((r.before or {}).get("customer_id"), r.after["customer_id"])
                for r in history(s, contract.id)
            ]
            chain = [after for _, after in owners]
            befores = [before for before, _ in owners[1:]]
            if befores != chain[:-1] or chain[-1:] != [str(contract.customer_id)]:
                wrong.append(f"contract {contract.name}: revisions {owners}")
    return wrong


def holders(store: Store) -> dict[str, Any]:
    """Salesforce-sourced alias → its holder's id."""
    with store.session() as s:
        return {
            a.alias: a.customer_id for a in s.query(IngestAlias) if a.source_account_id is not None
        }


def unrecorded_alias_moves(
    store: Store, before: dict[str, Any], after: dict[str, Any], since: int
) -> tuple[list[str], int]:
    """Aliases whose holder changed since `before` with no chain of recorded moves from the
    old holder to the new (a release then a fresh attach is a chain through nobody)."""
    with store.session() as s:
        moves = list(
            s.scalars(select(AliasMove).where(AliasMove.id > since).order_by(AliasMove.id))
        )
    wrong = []
    for alias in sorted(set(before) | set(after)):
        old, new = before.get(alias), after.get(alias)
        if old == new or old is None:
            continue
        current = old
        for move in moves:
            if move.alias == alias and move.from_customer_id == current:
                current = move.to_customer_id
        if current != new and current is not None:
            wrong.append(f"{alias}: {old} → {new} recorded to {current}")
    return wrong, max((m.id for m in moves), default=since)


# Seed 2 merges a master away in turn (a chain of merges); 10 detaches an acquired root
# that has a deal of its own (its own customer is revived); 13 renames a customer's account
# that sits inside the tree of an account whose customer it absorbed; 27 detaches a
# sub-organisation the step after a deal on it. Issue 25's: 104 found the acquirer without a
# customer (a root with one acquired by a root with none: the acquired deals belong to the
# acquirer, whose customer must exist at once); 402 that such a new customer kept the
# aliases of a child detached from the acquired root in the same window. 176 merges a loser
# without a customer into a tree whose customer the same window's acquisition creates (the
# loser's values are that customer's); 254 and 322 win a deal on a master whose loser's
# values were released with it (its tree had no customer) and read the loser again: they
# stay released (322 also through a chain of merges).
SEEDS = [1, 2, 10, 13, 27, 104, 176, 254, 322, 402]


@pytest.mark.parametrize("seed", SEEDS)
def test_random_account_changes_leave_the_store_equal_to_the_orgs_truth(
    seed: int,
    org: SandboxOrg,
    sync_deals: Poll,
    sync_accounts: Poll,
    store: Store,
    client: SalesforceClient,
    sf_settings: Settings,
) -> None:
    """Aliases, their sources, customer states, contracts' owners, every owner change's
    record and every event's attribution match the truth."""
    rng = random.Random(seed)
    model = Model()
    for n in range(3):  # three enterprises with a deal and a sub-organisation each
        root = org.create("Account", {"Name": f"Enterprise {n}", FIELD: model.next("v")})
        org.create("Account", {"Name": f"Sub {n}", "ParentId": root, FIELD: model.next("v")})
        won_deal(org, root, Name=model.next("Deal"))
        model.customers.add(root)
        model.deals.add(root)
    sync_deals()
    sync_accounts()
    attach_manual_aliases(store, model)
    done: list[str] = []
    held, last_move = holders(store), 0
    for _ in range(STEPS):
        for _ in range(rng.choice([1, 1, 2, 3])):  # several changes in one sync window
            done.append(step(rng, org, model, Org(client), lambda: Org(client)))
            if done[-1].startswith("merge"):
                break  # a merge is modelled with the org as the sync reads it
        print("; ".join(done))  # shown with a failure: the steps that led to it
        sync_deals()
        sync_accounts()
        now = Org(client)
        settle(model, now)
        attach_manual_aliases(store, model)
        expected = truth(model, now)
        send_usage(rng, store, sf_settings, model, now, sorted(expected))
        aliases, states, attribution, names = store_state(store)
        assert aliases == expected, "; ".join(done)
        assert states == {
            a: (
                CustomerStatus.ARCHIVED if a in model.merged_into else CustomerStatus.ACTIVE,
                True,
            )
            for a in model.customers
        }, "; ".join(done)
        assert attribution == {
            tx: expected[alias][0] if alias in expected else None
            for tx, alias in model.events.items()
        }, "; ".join(done)
        # An active customer's account is a live root: the customer carries its name.
        assert names == {a: now.name[a] for a in names}, "; ".join(done)
        # Every won deal's contract: active, under the customer holding its account.
        owners = contract_owners(store)
        assert {o: owners.get(o) for o in now.won} == {
            o: (owner(model, now, account), ContractStatus.ACTIVE) for o, account in now.won.items()
        }, "; ".join(done)
        assert unrecorded_owner_changes(store) == [], "; ".join(done)
        after = holders(store)
        wrong, last_move = unrecorded_alias_moves(store, held, after, last_move)
        assert wrong == [], "; ".join(done)
        held = after
