"""Account hierarchies: the descendants (sub-organisations) and ancestors of accounts.

Both directions are fetched level by level with IN-list chunks (``ParentId IN (...)`` going
down, ``Id IN (...)`` going up), so the number of queries grows with the depth of the trees
and the number of chunks, never with the number of accounts. Errors are the client's (see
`sync.errors`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from config import Settings
from sync.soql import accounts_by_ids_query, children_query, chunk_ids, normalize_id

if TYPE_CHECKING:
    from sync.salesforce import SalesforceClient

__all__ = [
    "AccountNode",
    "HierarchyCache",
    "fetch_ancestors",
    "fetch_descendants",
    "fetch_roots",
    "node_from_record",
    "record_value",
    "valid_id",
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


def record_value(record: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted field path of a REST record (`Account.Name`), or None."""
    value: Any = record
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def valid_id(value: Any) -> str | None:
    """The 18-character form of a Salesforce id, or None for anything that is not one."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return normalize_id(value)
    except ValueError:
        return None


def node_from_record(record: Mapping[str, Any], settings: Settings) -> AccountNode:
    """An `AccountNode` from an Account record selected with the alias fields."""
    parent = record.get("ParentId")
    values = tuple(
        str(value)
        for name in settings.sf_alias_fields
        if (value := record_value(record, name)) is not None
    )
    return AccountNode(
        id=normalize_id(str(record["Id"])),
        name=str(record.get("Name") or ""),
        parent_id=normalize_id(str(parent)) if parent else None,
        alias_values=values,
    )


def fetch_descendants(
    client: SalesforceClient, settings: Settings, account_ids: Iterable[str]
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
            for page in client.query_pages(children_query(settings, chunk)):
                found.extend(node_from_record(record, settings) for record in page)
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
    settings: Settings,
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
            for page in client.query_pages(accounts_by_ids_query(settings, chunk)):
                found.update((n.id, n) for n in (node_from_record(r, settings) for r in page))
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
    settings: Settings,
    parents: Mapping[str, str | None],
    *,
    known: Mapping[str, AccountNode] | None = None,
) -> dict[str, AccountNode]:
    """Account id → the root (ultimate parent) of its hierarchy, for accounts with a parent.

    An account left out of the answer (no parent, or no visible one) is its own root; the
    caller already holds its record, so it costs no call. See `fetch_ancestors`.
    """
    chains = fetch_ancestors(client, settings, parents, known=known)
    return {account: chain[-1] for account, chain in chains.items() if chain}


class HierarchyCache:
    """Hierarchies already read in this run, so each account is looked up once per run.

    Hierarchy changes after a deal closed are the account stream's to apply, so reusing
    what an earlier page of the same run read is as good as reading it again. Bounded: it
    starts over when it holds `max_entries` accounts.
    """

    def __init__(self, max_entries: int = 50_000) -> None:
        self.max_entries = max_entries
        self._nodes: dict[str, AccountNode] = {}
        self._roots: dict[str, AccountNode] = {}
        self._descendants: dict[str, list[AccountNode]] = {}

    def _trim(self) -> None:
        if max(len(self._nodes), len(self._roots), len(self._descendants)) > self.max_entries:
            self._nodes.clear()
            self._roots.clear()
            self._descendants.clear()

    def roots(
        self,
        client: SalesforceClient,
        settings: Settings,
        parents: Mapping[str, str],
        page_nodes: Mapping[str, AccountNode],
    ) -> dict[str, AccountNode]:
        """`fetch_roots` for the accounts not seen yet in this run."""
        self._trim()
        unknown = {a: p for a, p in parents.items() if a not in self._roots}
        if unknown:
            known = {**self._nodes, **page_nodes}
            self._roots.update(fetch_roots(client, settings, unknown, known=known))
        return {a: self._roots[a] for a in parents if a in self._roots}

    def descendants(
        self, client: SalesforceClient, settings: Settings, owners: Iterable[str]
    ) -> dict[str, list[AccountNode]]:
        """`fetch_descendants` for the accounts not seen yet in this run."""
        wanted = list(dict.fromkeys(owners))
        unknown = [o for o in wanted if o not in self._descendants]
        if unknown:
            found = fetch_descendants(client, settings, unknown)
            self._descendants.update(found)
            for nodes in found.values():
                self._nodes.update((n.id, n) for n in nodes)
        return {o: self._descendants[o] for o in wanted}
