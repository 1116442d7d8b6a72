"""Account hierarchies fetched from the sandbox, level by level."""

from __future__ import annotations

from collections import defaultdict

import pytest

from sync.hierarchy import AccountNode, fetch_descendants
from sync.mapping import map_opportunity
from sync.soql import opportunity_by_ids_query


@pytest.fixture
def client(org, mode_settings, make_client):
    """A token-mode client with Ingest_Alias__c as the alias field."""
    return make_client(mode_settings("token"))


def expected_descendants(client, roots: list[str]) -> dict[str, set[str]]:
    """Descendants computed independently from one full read of Account."""
    children: dict[str, list[str]] = defaultdict(list)
    for record in client.query_all("SELECT Id, ParentId FROM Account"):
        if record["ParentId"]:
            children[record["ParentId"]].append(record["Id"])
    result = {}
    for root in roots:
        found, stack = set(), [root]
        while stack:
            for child in children[stack.pop()]:
                found.add(child)
                stack.append(child)
        result[root] = found
    return result


def test_descendants_of_seeded_parents_match_the_org(org, client) -> None:
    """Every top-level account's sub-organisations are found, with their alias values."""
    roots = [r["Id"] for r in client.query_all("SELECT Id FROM Account WHERE ParentId = null")]
    result = fetch_descendants(client, client.settings, roots)
    expected = expected_descendants(client, roots)
    assert {root: {node.id for node in nodes} for root, nodes in result.items()} == expected
    some = next(nodes for nodes in result.values() if nodes)
    assert all(isinstance(node, AccountNode) and node.alias_values for node in some)


def test_deep_hierarchies_are_fetched_one_query_per_level(org, client) -> None:
    """A four-level tree costs one children query per round, not one per account."""
    top = org.create("Account", {"Name": "Deep Co", "Ingest_Alias__c": "deep"})
    level1 = [org.create("Account", {"Name": f"L1-{n}", "ParentId": top}) for n in range(3)]
    level2 = [
        org.create("Account", {"Name": f"L2-{n}", "ParentId": parent, "Ingest_Alias__c": f"l2-{n}"})
        for n, parent in enumerate(level1)
    ]
    level3 = [org.create("Account", {"Name": "L3", "ParentId": level2[0]})]
    org.reset_counters()

    result = fetch_descendants(client, client.settings, [top, level2[0]])

    assert [node.id for node in result[top]] == sorted(level1) + sorted(level2) + level3
    assert [node.id for node in result[level2[0]]] == level3
    # Both roots expand together and no account is expanded twice: three rounds in all.
    assert org.counters()["calls"]["query"] == 3
    by_id = {node.id: node for node in result[top]}
    assert by_id[level2[1]].alias_values == ("l2-1",)
    assert by_id[level2[1]].parent_id == level1[1]


def test_a_deal_carries_its_sub_organisations_as_aliases(org, client) -> None:
    """Mapping with fetched descendants adds each child's id and alias value."""
    parent = org.create("Account", {"Name": "Parent Inc", "Ingest_Alias__c": "parent-inc"})
    child = org.create(
        "Account", {"Name": "Parent DE", "ParentId": parent, "Ingest_Alias__c": "p-de"}
    )
    opp = org.create(
        "Opportunity",
        {
            "Name": "Parent Inc - New",
            "AccountId": parent,
            "StageName": "Closed Won",
            "CloseDate": "2026-11-02",
            "Amount": 1000.0,
            "CurrencyIsoCode": "USD",
        },
    )
    record = client.query_all(opportunity_by_ids_query(client.settings, [opp]))[0]
    descendants = fetch_descendants(client, client.settings, [parent])[parent]
    deal = map_opportunity(record, client.settings, descendants)
    assert deal.aliases == (parent, "parent-inc", child, "p-de")


def test_accounts_without_children_get_empty_lists(org, client) -> None:
    """Leaves map to empty lists and cost a single query for the whole batch."""
    leaves = [org.create("Account", {"Name": f"Leaf {n}"}) for n in range(5)]
    org.reset_counters()
    assert fetch_descendants(client, client.settings, leaves) == {leaf: [] for leaf in leaves}
    assert org.counters()["calls"]["query"] == 1
