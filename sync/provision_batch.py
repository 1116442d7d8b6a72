"""Provisioning a page of deals with set-based statements (the fast path).

`provision_batch` does for a whole page what `sync.provision.provision_deal` does per deal —
find-or-create the customers by `sfdc_account_id`, rename them, attach their aliases (usage
keyed on them follows), upsert the contracts by `sfdc_opportunity_id`, queue write-backs —
in a few statements per table instead of a few per deal.

Only deals that are sure to succeed take this path. A deal whose input breaks a store rule,
or whose opportunity appears twice in the page, is handed back, in page order, for the
per-deal savepoint path, which dead-letters exactly that deal with its reason; so is every
deal of an account whose claim does more than add aliases nobody holds, or wants an alias
another account of the page wants (`sync.claims.plan_page`, the per-deal path's own
`plan_claim` for each account: the claim rules are written once). The fast path runs in
one savepoint: if a racing writer takes an alias between our check and our insert (or
fills a customer's room), the savepoint is rolled back and the whole page is handed back,
so nothing of a deal is ever half-applied. The unique indexes
stay the arbiter: customers and contracts are claimed through their unique custom field with
insert-or-ignore, and a lost claim is read back as the winner's row.

A deal marked `keep_customer` is an opportunity the store already holds under the customer
of its account (re-read in the lookback window, or changed in Salesforce): only its contract
terms are brought up to date; the account's name and aliases are the account stream's.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from sqlalchemy.orm import Session

from sfsync.config import Settings
from sfsync.models import ChangeNeedsApproval, Entity, InvalidInput
from sfsync.models.aliases.bulk import alias_counts, attribute_aliases, insert_aliases
from sfsync.models.aliases.lookups import AliasOrigin, alias_owners, unexpected_owners
from sfsync.models.aliases.ownership import validate_alias
from sfsync.models.contracts.bulk import contracts_by_id, insert_contracts, update_contracts
from sfsync.models.contracts.change_plans import plan_terms
from sfsync.models.contracts.records import validate_terms
from sfsync.models.contracts.revisions import SYNC, Change, RevisionRow, insert_revisions, terms_of
from sfsync.models.contracts.terms import ContractRow, ContractTerms
from sfsync.models.customers.bulk import (
    claim_field_values,
    insert_customers,
    lock_active_customers,
    lock_customers,
    rename_customers,
)
from sfsync.models.customers.fields import SFDC_ACCOUNT_ID, SFDC_OPPORTUNITY_ID, find_many_by_field
from sfsync.models.customers.records import validate_name
from sfsync.models.operations.bulk import enqueue_writebacks, resolve_open_letters
from sfsync.models.operations.runs import RunCounters
from sfsync.models.tables import MAX_ALIASES_PER_CUSTOMER
from sfsync.models.types import DeadLetterSource, RevisionKind, new_id
from sfsync.sync.claims import AccountClaim, Held, PageClaims, plan_page
from sfsync.sync.mapping import Deal

__all__ = ["BatchItem", "BatchOutcome", "provision_batch"]


@dataclass(frozen=True)
class BatchItem:
    """One mapped deal of a page, with its position in the page."""

    index: int
    deal: Deal
    keep_customer: bool = False


@dataclass
class BatchOutcome:
    """What the fast path did, and the items it handed back (page order)."""

    fallback: list[BatchItem] = field(default_factory=list)
    #: What the fast path provisioned, counted as a run counts it.
    counters: RunCounters = field(default_factory=RunCounters)


class _Raced(Exception):
    """A concurrent writer changed what the checks saw; redo the page per deal."""


@dataclass(frozen=True)
class _Ready:
    item: BatchItem
    terms: ContractTerms
    name: str


def _screen(items: Sequence[BatchItem]) -> tuple[list[_Ready], list[BatchItem]]:
    """Deals the fast path can take, and those it hands back (invalid, duplicate)."""
    ready: list[_Ready] = []
    back: list[BatchItem] = []
    seen_opportunities: set[str] = set()
    # Deals of one account share their aliases (often the very same tuple): each distinct
    # tuple is validated once.
    valid_aliases: set[tuple[str, ...]] = set()
    for item in items:
        deal = item.deal
        if deal.opportunity_id in seen_opportunities:
            back.append(item)
            continue
        try:
            terms = validate_terms(deal.contract)
            name = validate_name(deal.account_name)
            if not item.keep_customer and deal.aliases not in valid_aliases:
                for alias in deal.aliases:
                    validate_alias(alias)
                valid_aliases.add(deal.aliases)
        except InvalidInput:
            back.append(item)
            continue
        seen_opportunities.add(deal.opportunity_id)
        ready.append(_Ready(item, terms, name))
    return ready, back


def provision_batch(
    session: Session,
    items: Sequence[BatchItem],
    settings: Settings,
    change: Change = SYNC,
) -> BatchOutcome:
    """Provision `items` set-based; see the module docstring for what is handed back.

    Each contract change gets a revision with `change`'s cause and run, at its deal's
    SystemModstamp; a change the lifecycle rules refuse is handed back (and dead-lettered
    there with the reason).
    """
    ready, back = _screen(items)
    if not ready:
        return BatchOutcome(fallback=sorted(back, key=lambda i: i.index))
    try:
        with session.begin_nested():
            outcome = _Batch(session, settings, change).run(ready)
    except _Raced:
        return BatchOutcome(fallback=list(items))
    outcome.fallback = sorted([*back, *outcome.fallback], key=lambda i: i.index)
    return outcome


class _Batch:
    def __init__(self, session: Session, settings: Settings, change: Change) -> None:
        self.session, self.settings, self.change = session, settings, change
        self.outcome = BatchOutcome()

    def run(self, ready: list[_Ready]) -> BatchOutcome:
        full = [r for r in ready if not r.item.keep_customer]
        customer_of = self._customers(full)
        ready = [r for r in ready if r.item.keep_customer or r.item.deal.account_id in customer_of]
        self._contracts(ready, customer_of)
        resolve_open_letters(
            self.session,
            DeadLetterSource.OPPORTUNITY,
            [r.item.deal.opportunity_id for r in ready],
        )
        return self.outcome

    # --- customers and aliases ---------------------------------------------------------------

    def _customers(self, ready: list[_Ready]) -> dict[str, uuid.UUID]:
        """account id → customer id for the deals whose customer step succeeded."""
        s, out = self.session, self.outcome.counters
        names: dict[str, str] = {}
        wanted: dict[str, dict[str, None]] = {}  # account → its aliases, each once, in order
        origins: dict[str, AliasOrigin] = {}
        for r in ready:  # the last deal of an account names it, as deal-by-deal would
            names[r.item.deal.account_id] = r.name
            wanted.setdefault(r.item.deal.account_id, {}).update(dict.fromkeys(r.item.deal.aliases))
            origins.update(r.item.deal.origins())
        existing = find_many_by_field(s, Entity.CUSTOMER, SFDC_ACCOUNT_ID, list(names))
        # A merged or archived customer: per deal (its survivor, or a dead letter saying so).
        active = lock_active_customers(s, existing.values())
        inactive = {a for a, c in existing.items() if c not in active}
        proposed = {a: new_id() for a in names if a not in existing}
        # `sync.claims.plan_page` decides as the per-deal path would; an account whose claim
        # does more than add free aliases is handed back (every deal of it) for that path.
        page = self._claims(wanted, origins, existing, proposed)
        back = inactive | (set(wanted) - page.fast)
        if back:
            self.outcome.fallback += [r.item for r in ready if r.item.deal.account_id in back]
        accounts = [a for a in names if a not in back]
        free = {alias for a in accounts for alias in page.plans[a].add}
        proposed = {a: i for a, i in proposed.items() if a not in back}
        holders = claim_field_values(s, Entity.CUSTOMER, SFDC_ACCOUNT_ID, proposed)
        created = {a: i for a, i in proposed.items() if holders.get(a) == i}
        insert_customers(s, {i: names[a] for a, i in created.items()})
        customer_of = {a: existing.get(a) or holders[a] for a in accounts}
        out.customers_created += len(created)
        kept = {customer_of[a]: names[a] for a in accounts if a not in created}
        out.customers_updated += len(rename_customers(s, kept))
        self._aliases(
            {a: list(wanted[a]) for a in accounts},
            customer_of,
            free,
            set(created.values()),
            origins,
        )
        if created and self.settings.sf_writeback_field:
            enqueue_writebacks(s, created)
        return customer_of

    def _claims(
        self,
        wanted: Mapping[str, Mapping[str, None]],
        origins: Mapping[str, AliasOrigin],
        existing: Mapping[str, uuid.UUID],
        proposed: Mapping[str, uuid.UUID],
    ) -> PageClaims:
        """The page's claims planned over what the store holds of their aliases.

        One statement reads the aliases not held by the customer of the first account that
        wants them (`unexpected_owners`); an alias it does not report is in place. An alias
        held elsewhere never takes the fast path, whatever its origin or its holder's account,
        so neither is read: the per-deal path reads them when it decides.
        """
        s = self.session
        customer_of = {**existing, **proposed}
        trees = {
            account: {a: origins.get(a) or AliasOrigin(account) for a in aliases}
            for account, aliases in wanted.items()
        }
        expected: dict[str, tuple[uuid.UUID, AliasOrigin]] = {}
        for account, tree in trees.items():
            for alias, origin in tree.items():
                expected.setdefault(alias, (customer_of[account], origin))
        odd = unexpected_owners(s, {a: c for a, (c, _) in expected.items()})
        held = {a: Held(c, origin) for a, (c, origin) in expected.items() if a not in odd}
        held.update({a: Held(h, None) for a, h in odd.items() if h is not None})
        # Only a customer that may gain aliases needs its room: an existing one counts its own.
        gaining = [c for a, c in existing.items() if not odd.keys().isdisjoint(trees.get(a, ()))]
        counts = alias_counts(s, gaining) if gaining else {}
        claims = [
            AccountClaim(
                account,
                customer_of[account],
                tree,
                MAX_ALIASES_PER_CUSTOMER - counts.get(customer_of[account], 0),
            )
            for account, tree in trees.items()
        ]
        return plan_page(claims, held, {})

    def _aliases(
        self,
        wanted: dict[str, list[str]],
        customer_of: dict[str, uuid.UUID],
        free: set[str],
        new_customers: set[uuid.UUID],
        origins: dict[str, AliasOrigin],
    ) -> None:
        """Attach the `free` (ownerless) aliases of `wanted` to their accounts' customers."""
        s = self.session
        attach = {
            a: customer_of[acc] for acc, aliases in wanted.items() for a in aliases if a in free
        }
        if not attach:
            return
        gaining = set(attach.values())
        lock_customers(s, gaining - new_customers)
        added = insert_aliases(s, attach, origins)
        if len(added) < len(attach):
            missing = set(attach) - set(added)
            now_held = alias_owners(s, list(missing))
            if any(now_held.get(a) != attach[a] for a in missing):
                raise _Raced
        counts = alias_counts(s, gaining)
        if any(n > MAX_ALIASES_PER_CUSTOMER for n in counts.values()):
            raise _Raced  # the per-deal path names the customer and the limit
        attribute_aliases(s, added)
        self.outcome.counters.aliases_added += len(added)

    # --- contracts ---------------------------------------------------------------------------

    def _contracts(self, ready: list[_Ready], customer_of: dict[str, uuid.UUID]) -> None:
        s, out = self.session, self.outcome.counters
        by_opportunity = {r.item.deal.opportunity_id: r for r in ready}
        existing = find_many_by_field(s, Entity.CONTRACT, SFDC_OPPORTUNITY_ID, list(by_opportunity))
        proposed = {
            o: new_id()
            for o, r in by_opportunity.items()
            if o not in existing and not r.item.keep_customer
        }
        holders = claim_field_values(s, Entity.CONTRACT, SFDC_OPPORTUNITY_ID, proposed)
        created = {o: i for o, i in proposed.items() if holders.get(o) == i}
        new_rows = [
            _row(i, customer_of[by_opportunity[o].item.deal.account_id], by_opportunity[o])
            for o, i in created.items()
        ]
        insert_contracts(s, new_rows)
        revisions = [
            RevisionRow(row.id, RevisionKind.CREATED, None, terms_of(row), self._change(r))
            for row, r in zip(new_rows, (by_opportunity[o] for o in created), strict=True)
        ]
        out.contracts_created += len(created)
        current_ids = {
            o: existing.get(o) or holders.get(o) for o in by_opportunity if o not in created
        }
        stored = contracts_by_id(s, [i for i in current_ids.values() if i is not None])
        changed: list[ContractRow] = []
        for o, contract_id in current_ids.items():
            r = by_opportunity[o]
            current = stored.get(contract_id) if contract_id is not None else None
            if current is None:  # a keep-customer deal whose contract is gone: per deal
                self.outcome.fallback.append(r.item)
                continue
            owner = (
                current.customer_id if r.item.keep_customer else customer_of[r.item.deal.account_id]
            )
            try:
                plan = plan_terms(current, owner, r.terms, at=r.item.deal.system_modstamp)
            except ChangeNeedsApproval:  # the per-deal path dead-letters it with the reason
                self.outcome.fallback.append(r.item)
                continue
            if plan is None:
                out.contracts_unchanged += 1
                continue
            target, kind = plan
            target = replace(target, source_version=r.item.deal.system_modstamp)
            changed.append(target)
            revisions.append(
                RevisionRow(target.id, kind, terms_of(current), terms_of(target), self._change(r))
            )
        update_contracts(s, changed)
        insert_revisions(s, revisions)
        out.contracts_updated += len(changed)
        handed_back = {id(i) for i in self.outcome.fallback}
        ready[:] = [r for r in ready if id(r.item) not in handed_back]

    def _change(self, r: _Ready) -> Change:
        # Built directly: `dataclasses.replace` costs several times more, once per contract.
        return Change(self.change.cause, r.item.deal.system_modstamp, self.change.run_id)


def _row(contract_id: uuid.UUID, customer_id: uuid.UUID, r: _Ready) -> ContractRow:
    return ContractRow(
        contract_id, customer_id, r.terms, source_version=r.item.deal.system_modstamp
    )
