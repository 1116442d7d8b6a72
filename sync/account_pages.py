"""Reading a page of the account stream: live accounts, merged-away losers, deleted ones,
and the top of each account's known hierarchy."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sfsync.sync.salesforce import (
    AccountNode,
    AccountRow,
    QueryRules,
    SalesforceClient,
    accounts_by_ids_query,
    chunk_ids,
    node_from_record,
)

__all__ = ["parse_accounts", "read_accounts", "root_of"]


def parse_accounts(
    rows: Sequence[AccountRow], rules: QueryRules
) -> tuple[dict[str, AccountNode], dict[str, str], set[str], dict[str, AccountNode]]:
    """(live accounts by id, merged-away loser → its master, other deleted account ids,
    merged-away losers' nodes)."""
    nodes: dict[str, AccountNode] = {}
    merged: dict[str, str] = {}
    deleted: set[str] = set()
    losers: dict[str, AccountNode] = {}
    for row in rows:
        try:
            node = node_from_record(row.record, rules)
        except (KeyError, ValueError):
            continue  # dead-lettered by `apply_accounts`
        if row.deleted:
            master = row.master
            if master is not None and master != node.id:
                merged[node.id] = master
                losers[node.id] = node
            else:
                deleted.add(node.id)
            continue
        nodes[node.id] = node
    return nodes, merged, deleted, losers


def root_of(account: str, accounts: Mapping[str, AccountNode]) -> str:
    """The highest ancestor of `account` that `accounts` knows (itself if none)."""
    seen = {account}
    current = account
    while (node := accounts.get(current)) is not None and node.parent_id is not None:
        if node.parent_id not in accounts:
            break
        current = node.parent_id
        if current in seen:
            break
        seen.add(current)
    return current


def read_accounts(
    client: SalesforceClient, rules: QueryRules, ids: Sequence[str]
) -> dict[str, AccountNode]:
    return {
        n.id: n
        for chunk in chunk_ids(ids)
        for page in client.query_pages(accounts_by_ids_query(rules, chunk))
        for n in (node_from_record(r, rules) for r in page)
    }
