"""Account hierarchies fetched from the sandbox, level by level or as one scanned forest."""

from __future__ import annotations

from collections import defaultdict

import pytest

from sfsync.sync.mapping import map_opportunity
from sfsync.sync.mapping_rules import MappingRules
from sfsync.sync.salesforce import (
    AccountNode,
    HierarchyCache,
    OpportunityRow,
    Page,
    QueryRules,
    SalesforceClient,
    fetch_descendants,
    opportunity_by_ids_query,
    opportunity_query,
    org_multi_currency,
)


@pytest.fixture
def client(org, mode_settings, make_client):
    """A token-mode client with Ingest_Alias__c as the alias field."""
    return make_client(mode_settings("token"))


def rules(client: SalesforceClient) -> QueryRules:
    """The query rules of the client's settings and its org."""
    return QueryRules.of(client.settings, org_multi_currency(client))


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
    result = fetch_descendants(client, rules(client), roots)
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

    result = fetch_descendants(client, rules(client), [top, level2[0]])

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
    record = client.query_all(opportunity_by_ids_query(rules(client), [opp]))[0]
    descendants = fetch_descendants(client, rules(client), [parent])[parent]
    deal = map_opportunity(OpportunityRow.of(record), MappingRules.of(client.settings), descendants)
    assert deal.aliases == (parent, "parent-inc", child, "p-de")


def test_accounts_without_children_get_empty_lists(org, client) -> None:
    """Leaves map to empty lists and cost a single query for the whole batch."""
    leaves = [org.create("Account", {"Name": f"Leaf {n}"}) for n in range(5)]
    org.reset_counters()
    assert fetch_descendants(client, rules(client), leaves) == {leaf: [] for leaf in leaves}
    assert org.counters()["calls"]["query"] == 1


# --- the forest scan --------------------------------------------------------------------------


def first_page_of_the_stream(client: SalesforceClient) -> Page:
    """The first page of a full closed-won query, which sizes a run (rest left unread)."""
    pages = client.query_pages(opportunity_query(rules(client), None))
    first = next(pages)
    pages.close()
    return first


def hierarchy_queries(org) -> dict[str, int]:
    """Pages served per Account query shape since the last counter reset."""
    return {q: n for q, n in org.counters()["queries"].items() if "FROM Account" in q}


def test_a_page_carries_the_size_of_its_whole_query(org, client) -> None:
    """query_pages yields Pages: lists of records that know the query's totalSize."""
    first = first_page_of_the_stream(client)
    won = client.query_all("SELECT Id FROM Opportunity WHERE IsWon = true")
    assert isinstance(first, list) and isinstance(first, Page)
    assert len(first) == 200  # the org's page size, smaller than the 2,000 asked for
    assert first.total_size == len(won) > len(first)


def test_a_scanned_forest_gives_the_descendants_in_lists_give(org, client) -> None:
    """For a multi-page run the cache scans every child account once, then answers locally
    with exactly fetch_descendants' lists (breadth-first, each level by id)."""
    top = org.create("Account", {"Name": "Forest Co", "Ingest_Alias__c": "forest"})
    middle = [org.create("Account", {"Name": f"F1-{n}", "ParentId": top}) for n in range(3)]
    for n, parent in enumerate(reversed(middle)):
        org.create("Account", {"Name": f"F2-{n}", "ParentId": parent, "Ingest_Alias__c": f"f{n}"})
    roots = [r["Id"] for r in client.query_all("SELECT Id FROM Account WHERE ParentId = null")]
    children = client.query_all("SELECT Id FROM Account WHERE ParentId != null")
    cache = HierarchyCache()
    cache.start_page(first_page_of_the_stream(client))
    org.reset_counters()

    scanned = cache.descendants(client, rules(client), roots)

    assert cache.has_forest
    assert hierarchy_queries(org) == {
        "SELECT Id, Name, ParentId, Ingest_Alias__c FROM Account WHERE ParentId != null "
        "ORDER BY Id": -(-len(children) // 200)
    }
    assert scanned == fetch_descendants(client, rules(client), roots)
    assert [n.name for n in scanned[top]] == ["F1-0", "F1-1", "F1-2", "F2-2", "F2-1", "F2-0"]
    org.reset_counters()
    assert cache.descendants(client, rules(client), [top, middle[0]])[top] == scanned[top]
    assert org.counters()["calls"] == {}


def test_a_forest_larger_than_the_cache_bound_is_abandoned_after_one_call(org, client) -> None:
    """Children beyond max_entries: one scan page read, then the same answers by IN-lists."""
    roots = [r["Id"] for r in client.query_all("SELECT Id FROM Account WHERE ParentId = null")]
    cache = HierarchyCache(max_entries=10)
    cache.start_page(first_page_of_the_stream(client))
    org.reset_counters()

    found = cache.descendants(client, rules(client), roots)

    assert not cache.has_forest
    queries = hierarchy_queries(org)
    assert [n for q, n in queries.items() if "ParentId != null" in q] == [1]
    assert sum(n for q, n in queries.items() if "ParentId IN (?)" in q) >= 2
    assert found == fetch_descendants(client, rules(client), roots)


def test_a_run_of_one_page_stays_on_in_lists(org, client) -> None:
    """A run that fits one page would pay more for the scan than it saves: no scan."""
    cache = HierarchyCache()
    cache.start_page(Page(first_page_of_the_stream(client), total_size=200))
    top = org.create("Account", {"Name": "Small Run Co"})
    org.create("Account", {"Name": "Small Run DE", "ParentId": top})
    org.reset_counters()

    assert [n.name for n in cache.descendants(client, rules(client), [top])[top]] == [
        "Small Run DE"
    ]
    assert not cache.has_forest
    assert [q for q in hierarchy_queries(org) if "ParentId != null" in q] == []
