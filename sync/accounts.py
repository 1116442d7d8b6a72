"""The account stream: names and ingest aliases of provisioned customers follow Salesforce.

Runs through `sync.runner` (its own lease, cursor and run records). For each page of
changed accounts, the accounts that sit in a provisioned customer's account tree are found
(the account itself, or one of its ancestors, holds a customer through the
`sfdc_account_id` custom field); each such customer is renamed when its own account was
renamed, and its alias set is computed exactly as the closed-won mapping does (the
customer's account plus every descendant, `sync.mapping.account_aliases`) and attached.
So a sub-organisation created in Salesforce after the deal closed becomes an ingest alias
of the enterprise customer on the next poll.

An alias held by another customer moves (with its usage) only when Salesforce says the
account it comes from left that customer's tree: the holder's own account is neither that
account nor one of its current ancestors, and the holder held the account's id alias too (a
re-parented child). Anything else (two unrelated accounts with the same alias value, nested
customers in one hierarchy, an alias attached by hand) is a conflict for an operator: a
dead letter naming both customers.

Aliases are never removed here: an operator may have attached some by hand, and a
sub-organisation that left a tree is moved by the stream when it lands in another
customer's tree. Accounts in no customer's tree are counted as seen and skipped.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Unpack

from sqlalchemy.orm import Session

from config import Settings
from models import Entity, Store, StoreError
from models.aliases import add_aliases, alias_owners, move_alias
from models.customers import get_customer, rename_customer
from models.deadletters import Failure, record, resolve_open_for
from models.fields import SFDC_ACCOUNT_ID, fields_for, find_many_by_field
from models.runs import RunCounters
from models.tables import Customer
from models.types import DeadLetterSource, Stream
from sync.hierarchy import (
    AccountNode,
    fetch_ancestors,
    fetch_descendants,
    node_from_record,
    valid_id,
)
from sync.mapping import MappingError, account_aliases
from sync.runner import Records, RunOptions, RunResult, StreamSpec, run_stream
from sync.salesforce import SalesforceClient
from sync.soql import account_query

__all__ = ["AccountPage", "apply_accounts", "poll_accounts", "prepare_accounts"]


@dataclass(frozen=True)
class AccountPage:
    """What Salesforce and the store said about one page, gathered before its transaction."""

    #: page account id → its node (records that are not valid accounts are absent).
    nodes: Mapping[str, AccountNode] = field(default_factory=dict)
    #: every account known for this page: the page's and their ancestors.
    accounts: Mapping[str, AccountNode] = field(default_factory=dict)
    #: customer account id → its descendants, for each customer whose tree the page touches.
    trees: Mapping[str, Sequence[AccountNode]] = field(default_factory=dict)


@dataclass
class _Outcome:
    renamed: bool = False
    added: int = 0
    conflicts: dict[str, list[str]] = field(default_factory=dict)  # source account → messages


def _strip(value: Mapping[str, Any]) -> dict[str, Any]:
    """A record without REST `attributes` noise, for a dead letter's payload."""
    return {
        k: _strip(v) if isinstance(v, Mapping) else v for k, v in value.items() if k != "attributes"
    }


def _node_payload(node: AccountNode) -> dict[str, Any]:
    return {
        "Id": node.id,
        "Name": node.name,
        "ParentId": node.parent_id,
        "alias_values": list(node.alias_values),
    }


def _parse(records: Records, settings: Settings) -> dict[str, AccountNode]:
    nodes: dict[str, AccountNode] = {}
    for rec in records:
        try:
            node = node_from_record(rec, settings)
        except (KeyError, ValueError):
            continue  # dead-lettered by `apply_accounts`
        nodes[node.id] = node
    return nodes


def prepare_accounts(
    store: Store, client: SalesforceClient, settings: Settings, records: Records
) -> AccountPage:
    """Ancestors of the page's accounts, which of them hold customers, and those trees.

    Salesforce calls: one per hierarchy level per chunk going up, the same going down, and
    only for customers' trees; the store is asked once.
    """
    nodes = _parse(records, settings)
    accounts: dict[str, AccountNode] = dict(nodes)
    if settings.alias_include_suborgs:
        parents = {a: n.parent_id for a, n in nodes.items() if n.parent_id}
        chains = fetch_ancestors(client, settings, parents, known=nodes) if parents else {}
        for chain in chains.values():
            accounts.update((n.id, n) for n in chain if n.id not in accounts)
    with store.reader() as s:  # runs in the look-ahead thread, beside the page being written
        owned = find_many_by_field(s, Entity.CUSTOMER, SFDC_ACCOUNT_ID, list(accounts))
    owners = [a for a in accounts if a in owned]
    if settings.alias_include_suborgs and owners:
        trees: dict[str, Sequence[AccountNode]] = dict(fetch_descendants(client, settings, owners))
    else:
        trees = {owner: () for owner in owners}
    return AccountPage(nodes=nodes, accounts=accounts, trees=trees)


def apply_accounts(
    session: Session,
    records: Records,
    page: AccountPage,
    settings: Settings,
    counters: RunCounters,
) -> None:
    """Rename and re-alias each customer whose tree the page touches; dead-letter conflicts."""
    counters.records_seen += len(records)
    payloads: dict[str, dict[str, Any]] = {}
    for rec in records:
        account = valid_id(rec.get("Id"))
        if account is None or account not in page.nodes:
            counters.dead_lettered += 1
            record(session, _malformed(rec))
        else:
            payloads[account] = _strip(rec)
    # Re-read in the transaction: a customer deleted since `prepare_accounts` is skipped.
    customers = find_many_by_field(session, Entity.CUSTOMER, SFDC_ACCOUNT_ID, list(page.trees))
    lettered: set[str] = set()
    clean: set[str] = set()
    for owner, descendants in page.trees.items():
        customer_id = customers.get(owner)
        if customer_id is None:
            continue
        tree = [page.accounts[owner], *descendants]
        try:
            with session.begin_nested():
                outcome = _update_customer(session, customer_id, tree, page, settings)
            clean.update(n.id for n in tree)
        except (MappingError, StoreError) as exc:
            # Nothing of this customer is applied (savepoint); the others go on.
            outcome = _Outcome(conflicts={owner: [getattr(exc, "reason", None) or str(exc)]})
        counters.customers_updated += outcome.renamed
        counters.aliases_added += outcome.added
        for account, messages in outcome.conflicts.items():
            node = next(n for n in tree if n.id == account)
            payload = payloads.get(account) or _node_payload(node)
            record(session, _conflict(account, payload, messages))
            counters.dead_lettered += 1
            lettered.add(account)
    for account in sorted(clean - lettered):
        resolve_open_for(session, DeadLetterSource.ACCOUNT, account)


def _update_customer(
    session: Session,
    customer_id: uuid.UUID,
    tree: Sequence[AccountNode],
    page: AccountPage,
    settings: Settings,
) -> _Outcome:
    root, descendants = tree[0], tree[1:]
    customer = get_customer(session, customer_id)
    outcome = _Outcome()
    if root.id in page.nodes:
        outcome.renamed = rename_customer(session, customer, root.name)
    # Same alias set as the closed-won mapping; raises MappingError past the limits.
    wanted = account_aliases(root.id, root.alias_values, descendants, settings)
    sources = _alias_sources(tree, settings)
    owners = alias_owners(session, [*wanted, *(n.id for n in tree)])
    holders = {h for h in owners.values() if h != customer_id}
    holder_fields = fields_for(session, Entity.CUSTOMER, holders)
    holder_accounts = {h: values.get(SFDC_ACCOUNT_ID) for h, values in holder_fields.items()}
    known = {**page.accounts, **{n.id: n for n in tree}}
    to_add: list[str] = []
    to_move: list[str] = []
    for alias in wanted:
        holder = owners.get(alias)
        if holder is None:
            to_add.append(alias)
            continue
        if holder == customer_id:
            continue
        source = sources[alias]
        holder_account = holder_accounts.get(holder)
        left_holder = (
            holder_account is not None
            and holder_account not in _lineage(source, known)
            and owners.get(source) == holder
        )
        if left_holder:
            to_move.append(alias)
        else:
            outcome.conflicts.setdefault(source, []).append(
                _conflict_message(session, alias, source, customer, holder, holder_account)
            )
    outcome.added = len(add_aliases(session, customer_id, to_add))
    for alias in to_move:
        move_alias(session, alias, customer_id)
    outcome.added += len(to_move)
    return outcome


def _alias_sources(tree: Sequence[AccountNode], settings: Settings) -> dict[str, str]:
    """alias → the account of the tree it comes from (the first one, as the mapping orders)."""
    sources: dict[str, str] = {}
    for node in tree:
        for alias in account_aliases(node.id, node.alias_values, (), settings):
            sources.setdefault(alias, node.id)
    return sources


def _lineage(account: str, known: Mapping[str, AccountNode]) -> set[str]:
    """The account and its ancestors as far as this page knows them."""
    seen: set[str] = set()
    current: str | None = account
    while current is not None and current not in seen:
        seen.add(current)
        node = known.get(current)
        current = node.parent_id if node is not None else None
    return seen


def _describe(customer: Customer | None, customer_id: uuid.UUID, account: str | None) -> str:
    name = f" {customer.name!r}" if customer is not None else ""
    where = f"account {account}" if account else "no Salesforce account"
    return f"customer {customer_id}{name} ({where})"


def _conflict_message(
    session: Session,
    alias: str,
    source: str,
    customer: Customer,
    holder: uuid.UUID,
    holder_account: str | None,
) -> str:
    ours = _describe(customer, customer.id, _account_of(session, customer.id))
    theirs = _describe(session.get(Customer, holder), holder, holder_account)
    return (
        f"alias {alias!r} of account {source} belongs to {ours} in Salesforce's hierarchy but "
        f"is held by {theirs}; move or remove it there, or fix the hierarchy or alias fields "
        "in Salesforce"
    )


def _account_of(session: Session, customer_id: uuid.UUID) -> str | None:
    return fields_for(session, Entity.CUSTOMER, [customer_id])[customer_id].get(SFDC_ACCOUNT_ID)


def _conflict(account: str, payload: Mapping[str, Any], messages: Sequence[str]) -> Failure:
    return Failure(
        source=DeadLetterSource.ACCOUNT,
        reference=account,
        payload=dict(payload),
        error_class="AccountAliasConflict",
        error_message="; ".join(messages),
    )


def _malformed(rec: Mapping[str, Any]) -> Failure:
    raw = rec.get("Id")
    return Failure(
        source=DeadLetterSource.ACCOUNT,
        reference=str(raw) if raw else None,
        payload=_strip(rec),
        error_class="MalformedAccount",
        error_message="the account record has no valid Id or ParentId; it cannot be placed "
        "in a hierarchy",
    )


def poll_accounts(
    store: Store,
    client: SalesforceClient,
    settings: Settings,
    **options: Unpack[RunOptions],
) -> RunResult:
    """One run of the account stream."""
    spec: StreamSpec[AccountPage] = StreamSpec(
        stream=Stream.ACCOUNTS,
        query=lambda start, until: account_query(settings, start, until=until),
        prepare=lambda records: prepare_accounts(store, client, settings, records),
        apply=lambda session, records, page, counters: apply_accounts(
            session, records, page, settings, counters
        ),
    )
    return run_stream(spec, store, client, settings, **options)
