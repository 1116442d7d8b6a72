"""Account hierarchies: the descendants (sub-organisations) and ancestors of accounts.

Two ways to read them, chosen per run by `HierarchyCache`:

- IN-lists, level by level (``ParentId IN (...)`` going down, ``Id IN (...)`` going up): the
  number of queries grows with the depth of the trees and the number of chunks, never with
  the number of accounts. Each page asks only about its own accounts, which is cheapest for
  a run of a page or two, but every page of a long run pays its own partly-filled levels.
- One scan of every child account (``ParentId != null``): a fixed ⌈children/page⌉ calls,
  after which descendants are computed locally in the same order the IN-lists give, and an
  ancestor costs a call only if it is a root the page's records did not carry (the
  opportunity query selects ancestors, see `sync.salesforce.soql.ancestor_levels`). Taken
  only when the run has at least as many pages still to come as the scan has pages, and the
  forest fits the cache's bound; otherwise abandoned after its first page.

Errors are the client's (the tree is drawn in `sync.salesforce.errors`).
"""

from __future__ import annotations

import math
from collections import ChainMap
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sfsync.sync.salesforce.client import Page
from sfsync.sync.salesforce.ids import normalize_id
from sfsync.sync.salesforce.records import record_value
from sfsync.sync.salesforce.soql import (
    QueryRules,
    accounts_by_ids_query,
    child_accounts_query,
    children_query,
    chunk_ids,
)

if TYPE_CHECKING:
    from sfsync.sync.salesforce.client import SalesforceClient

__all__ = [
    "AccountNode",
    "HierarchyCache",
    "fetch_ancestors",
    "fetch_descendants",
    "fetch_roots",
    "node_from_record",
]

# A cycle cannot exist in Salesforce, but a corrupt or mocked answer must not loop forever.
MAX_DEPTH = 50


@dataclass(frozen=True)
class AccountNode:
    """One account of a hierarchy, with the values of the configured alias fields."""

    id: str
    name: str
    parent_id: str | None
    alias_values: tuple[str, ...] = ()
    #: The alias field each of `alias_values` was read from (same order); may be empty.
    alias_fields: tuple[str, ...] = field(default=(), compare=False)


def node_from_record(record: Mapping[str, Any], rules: QueryRules) -> AccountNode:
    """An `AccountNode` from an Account record selected with the alias fields."""
    parent = record.get("ParentId")
    pairs = [
        (name, str(value))
        for name in rules.alias_fields
        if (value := record_value(record, name)) is not None
    ]
    return AccountNode(
        id=normalize_id(str(record["Id"])),
        name=str(record.get("Name") or ""),
        parent_id=normalize_id(str(parent)) if parent else None,
        alias_values=tuple(v for _, v in pairs),
        alias_fields=tuple(n for n, _ in pairs),
    )


def fetch_descendants(
    client: SalesforceClient, rules: QueryRules, account_ids: Iterable[str]
) -> dict[str, list[AccountNode]]:
    """Every descendant, at any depth, of each account; keyed by the 18-character root id.

    Lists are in breadth-first order (children before grandchildren), each level by id.
    """
    roots = list(dict.fromkeys(normalize_id(account_id) for account_id in account_ids))
    children_of: dict[str, list[AccountNode]] = {}
    level = roots
    for _ in range(MAX_DEPTH):
        level = [account_id for account_id in level if account_id not in children_of]
        if not level:
            break
        for account_id in level:
            children_of[account_id] = []
        found: list[AccountNode] = []
        for chunk in chunk_ids(level):
            for page in client.query_pages(children_query(rules, chunk)):
                found.extend(node_from_record(record, rules) for record in page)
        for child in sorted(found, key=lambda node: node.id):
            if child.parent_id in children_of:
                children_of[child.parent_id].append(child)
        level = [child.id for child in found]
    return {root: _walk(root, children_of) for root in roots}


def _walk(root: str, children_of: Mapping[str, list[AccountNode]]) -> list[AccountNode]:
    """Breadth-first descendants of `root` in the fetched forest (each once)."""
    seen = {root}
    ordered: list[AccountNode] = []
    queue = [root]
    while queue:
        next_queue = []
        for account_id in queue:
            for child in children_of.get(account_id, []):
                if child.id not in seen:
                    seen.add(child.id)
                    ordered.append(child)
                    next_queue.append(child.id)
        queue = next_queue
    return ordered


def fetch_ancestors(
    client: SalesforceClient,
    rules: QueryRules,
    parents: Mapping[str, str | None],
    *,
    known: Mapping[str, AccountNode] | None = None,
) -> dict[str, list[AccountNode]]:
    """The ancestors of each account, nearest first (its root last); keyed by 18-character id.

    `parents` maps each account to its ParentId (None or missing: a top-level account, which
    costs no call). Each level's unknown parents are read together with ``Id IN (...)``
    chunks; `known` nodes (e.g. the accounts of the page being processed) are not read
    again. An ancestor the integration user cannot see ends the chain: the highest visible
    account is then the root.
    """
    parent_of = {normalize_id(a): normalize_id(p) for a, p in parents.items() if p}
    nodes: dict[str, AccountNode] = {}
    missing: set[str] = set()
    level = list(dict.fromkeys(parent_of.values()))
    for _ in range(MAX_DEPTH):
        level = [i for i in level if i not in nodes and i not in missing]
        if not level:
            break
        found = {i: known[i] for i in level if known is not None and i in known}
        unknown = [i for i in level if i not in found]
        for chunk in chunk_ids(unknown):
            for page in client.query_pages(accounts_by_ids_query(rules, chunk)):
                found.update((n.id, n) for n in (node_from_record(r, rules) for r in page))
        missing.update(i for i in level if i not in found)
        nodes.update(found)
        level = [node.parent_id for node in found.values() if node.parent_id]
    return {normalize_id(a): _chain(parent_of.get(normalize_id(a)), nodes) for a in parents}


def _chain(parent_id: str | None, nodes: Mapping[str, AccountNode]) -> list[AccountNode]:
    chain: list[AccountNode] = []
    seen: set[str] = set()
    while parent_id is not None and parent_id in nodes and parent_id not in seen:
        seen.add(parent_id)
        chain.append(nodes[parent_id])
        parent_id = nodes[parent_id].parent_id
    return chain


def fetch_roots(
    client: SalesforceClient,
    rules: QueryRules,
    parents: Mapping[str, str | None],
    *,
    known: Mapping[str, AccountNode] | None = None,
) -> dict[str, AccountNode]:
    """Account id → the root (ultimate parent) of its hierarchy, for accounts with a parent.

    An account left out of the answer (no parent, or no visible one) is its own root; the
    caller already holds its record, so it costs no call. See `fetch_ancestors`.
    """
    chains = fetch_ancestors(client, rules, parents, known=known)
    return {account: chain[-1] for account, chain in chains.items() if chain}


class HierarchyCache:
    """Hierarchies already read in this run, so each account is looked up once per run.

    Hierarchy changes after a deal closed are the account stream's to apply, so reusing
    what an earlier page of the same run read is as good as reading it again. Bounded: the
    accounts it learns page by page start over when one of its maps holds `max_entries`.

    Told the size of the run (`start_page`), it may read the whole forest of child accounts
    instead of IN-lists (see the module docstring); `scan=False` keeps it to IN-lists. Not
    thread-safe: one run's pages use it one at a time.
    """

    def __init__(self, max_entries: int = 50_000, *, scan: bool = True) -> None:
        self.max_entries = max_entries
        self.scan = scan
        self._nodes: dict[str, AccountNode] = {}
        self._roots: dict[str, AccountNode] = {}
        self._descendants: dict[str, list[AccountNode]] = {}
        self._sized = False
        #: pages of the run's query from the current one on; None while unknown.
        self._pages_ahead: int | None = None
        self._scan_decided = False
        #: every visible child account by id, and parent id → children by id; None until
        #: (and unless) a scan completed.
        self._forest: dict[str, AccountNode] | None = None
        self._children_of: dict[str, list[AccountNode]] = {}

    @property
    def has_forest(self) -> bool:
        """Whether the run holds every child account (read by one scan)."""
        return self._forest is not None

    def start_page(self, records: Sequence[Mapping[str, Any]]) -> None:
        """Note the next page of the run's query, before its look-ups.

        The first one sizes the run: a `Page` carries the query's total,
        anything else leaves the size unknown (and the cache on IN-lists).
        """
        if self._sized:
            if self._pages_ahead is not None:
                self._pages_ahead = max(1, self._pages_ahead - 1)
            return
        self._sized = True
        if isinstance(records, Page) and records:
            # Counted in pages as Salesforce actually serves them: the batch size is only a
            # request, and with smaller pages a run has more of them, each of which would pay
            # its own look-ups.
            self._pages_ahead = _page_count(records.total_size, len(records))

    def _trim(self) -> None:
        # Never the forest: it fit the bound when read and does not grow, and with it only
        # `_roots` fills, with accounts that have a parent, i.e. (barring accounts created
        # mid-run) the forest's own. Dropping it would only mean IN-lists again, at a cost.
        if max(len(self._nodes), len(self._roots), len(self._descendants)) > self.max_entries:
            self._nodes.clear()
            self._roots.clear()
            self._descendants.clear()

    def _decide_scan(self, client: SalesforceClient, rules: QueryRules) -> None:
        """Read the forest if it costs no more calls than the pages it would save look-ups for.

        Decided once, at the first page with hierarchy work: a run whose records the store
        already holds needs no look-ups at all, so it should not pay for a scan either.
        """
        if self._scan_decided:
            return
        self._scan_decided = True
        pages_ahead = self._pages_ahead
        if not self.scan or pages_ahead is None or pages_ahead < 2:
            return
        scan = client.query_pages(child_accounts_query(rules))
        first = next(scan, None)
        if first is None:
            self._forest, self._children_of = {}, {}  # no sub-organisations anywhere
            return
        children = first.total_size
        if _page_count(children, len(first)) > pages_ahead or children > self.max_entries:
            # One call spent; reading on would cost more calls than the run's pages would
            # make, or hold more accounts than the bound allows.
            scan.close()
            return
        nodes = [node_from_record(record, rules) for record in first]
        for page in scan:
            nodes.extend(node_from_record(record, rules) for record in page)
        children_of: dict[str, list[AccountNode]] = {}
        # Sorted here rather than trusting ORDER BY Id: the IN-list path sorts the same way.
        for node in sorted(nodes, key=lambda n: n.id):
            if node.parent_id is not None:
                children_of.setdefault(node.parent_id, []).append(node)
        self._forest = {node.id: node for node in nodes}
        self._children_of = children_of

    def roots(
        self,
        client: SalesforceClient,
        rules: QueryRules,
        parents: Mapping[str, str],
        page_nodes: Mapping[str, AccountNode],
    ) -> dict[str, AccountNode]:
        """`fetch_roots` for the accounts not seen yet in this run."""
        self._decide_scan(client, rules)
        self._trim()
        unknown = {a: p for a, p in parents.items() if a not in self._roots}
        if unknown:
            known = ChainMap(dict(page_nodes), self._nodes, self._forest or {})
            self._roots.update(fetch_roots(client, rules, unknown, known=known))
        return {a: self._roots[a] for a in parents if a in self._roots}

    def descendants(
        self, client: SalesforceClient, rules: QueryRules, owners: Iterable[str]
    ) -> dict[str, list[AccountNode]]:
        """`fetch_descendants` for the accounts not seen yet in this run (with the forest:
        for all of them, without a call)."""
        self._decide_scan(client, rules)
        wanted = list(dict.fromkeys(owners))
        if self._forest is not None:
            return {o: _walk(normalize_id(o), self._children_of) for o in wanted}
        unknown = [o for o in wanted if o not in self._descendants]
        if unknown:
            found = fetch_descendants(client, rules, unknown)
            self._descendants.update(found)
            for nodes in found.values():
                self._nodes.update((n.id, n) for n in nodes)
        return {o: self._descendants[o] for o in wanted}


def _page_count(records: int, page_length: int) -> int:
    return max(1, math.ceil(records / max(1, page_length)))
