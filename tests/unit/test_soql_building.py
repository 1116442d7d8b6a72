"""SOQL building (`sync.salesforce.soql`): the queries, their limits, and the rules they
are built from."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest

from sfsync.config import Settings
from sfsync.sync.salesforce import SalesforceConfigError, normalize_id
from sfsync.sync.salesforce.soql import (
    MAX_PATH_NAMES,
    QueryRules,
    account_query,
    accounts_by_ids_query,
    ancestor_levels,
    child_accounts_query,
    children_query,
    chunk_ids,
    counted_ids_query,
    opportunity_by_ids_query,
    opportunity_filter_check_query,
    opportunity_query,
    won_opportunity_ids_query,
)

SINCE = datetime(2026, 11, 2, 14, 5, 9, 123456, tzinfo=UTC)


@pytest.fixture
def make_rules(make_settings: Callable[..., Settings]) -> Callable[..., QueryRules]:
    """The query rules of `Settings` built from keyword arguments only (a multi-currency org
    unless SFSYNC_SF_MULTI_CURRENCY says otherwise)."""
    return lambda **overrides: QueryRules.of(make_settings(**overrides), multi_currency=True)


def select_list(query: str) -> list[str]:
    match = re.match(r"SELECT (.*?) FROM ", query)
    assert match, query
    return [field.strip() for field in match.group(1).split(",")]


# --- rules -----------------------------------------------------------------------------------


def test_query_rules_hold_what_the_queries_read_of_the_settings(make_settings) -> None:
    """Alias fields, contract fields (start, end, term), the two flags and the filter."""
    settings = make_settings(
        sf_alias_fields="Tenant_Key__c,Owner.Email",
        contract_start_field="Start__c",
        contract_end_field="End__c",
        alias_include_suborgs=False,
        sf_multi_currency=True,
        sf_opportunity_filter="Type = 'New'",
    )
    assert QueryRules.of(settings) == QueryRules(
        alias_fields=("Tenant_Key__c", "Owner.Email"),
        contract_fields=("Start__c", "End__c"),
        include_suborgs=False,
        multi_currency=True,
        opportunity_filter="Type = 'New'",
    )


# --- chunking --------------------------------------------------------------------------------


def test_chunk_ids_keeps_every_query_under_the_url_budget(make_rules) -> None:
    """Thousands of ids split into IN-lists whose queries stay under 16,000 characters."""
    rules = make_rules(sf_alias_fields="Tenant_Key__c,Org_Slug__c")
    ids = [normalize_id(f"001{n:012d}") for n in range(5000)]
    chunks = list(chunk_ids(ids))
    assert [i for chunk in chunks for i in chunk] == ids
    assert len(chunks) > 1
    for chunk in chunks:
        assert len(children_query(rules, chunk)) < 16_000
        assert len(opportunity_by_ids_query(rules, chunk)) < 16_000


def test_chunk_ids_normalises_and_deduplicates_keeping_order() -> None:
    """15- and 18-character forms of one id count once, first occurrence first."""
    assert list(chunk_ids(["001D000000IqhSL", "001000000000002", "001D000000IqhSLIAZ"])) == [
        ["001D000000IqhSLIAZ", "001000000000002AAA"]
    ]


def test_chunk_ids_respects_a_small_budget() -> None:
    """Each chunk fits `max_chars` (parentheses, quotes and commas included)."""
    ids = [f"001{n:012d}" for n in range(10)]
    for chunk in chunk_ids(ids, max_chars=70):
        assert len("(" + ",".join(f"'{i}'" for i in chunk) + ")") <= 70


# --- queries ---------------------------------------------------------------------------------


def test_opportunity_query_selects_the_default_fields_in_cursor_order(make_rules) -> None:
    """Without options: the documented field list, won only, ordered by SystemModstamp, Id."""
    query = opportunity_query(make_rules(), None)
    assert select_list(query) == [
        "Id",
        "Name",
        "AccountId",
        "Account.Name",
        "Account.ParentId",
        "Account.Parent.Name",
        "Account.Parent.ParentId",
        "Account.Parent.Parent.Name",
        "Account.Parent.Parent.ParentId",
        "Account.Parent.Parent.Parent.Name",
        "Account.Parent.Parent.Parent.ParentId",
        "Amount",
        "CloseDate",
        "CurrencyIsoCode",
        "IsWon",
        "IsDeleted",
        "SystemModstamp",
    ]
    assert query.endswith("FROM Opportunity WHERE IsWon = true ORDER BY SystemModstamp, Id")


def test_opportunity_query_adds_alias_and_contract_fields_once(make_rules) -> None:
    """Alias fields come through Account; contract fields are added unless already selected."""
    rules = make_rules(
        sf_alias_fields="Tenant_Key__c;Org_Slug__c",
        alias_include_suborgs=False,
        sf_multi_currency=False,
        contract_start_field="Contract_Start__c",
        contract_end_field="closedate",
        contract_term_field="Term_Months__c",
    )
    fields = select_list(opportunity_query(rules, None))
    assert fields == [
        "Id",
        "Name",
        "AccountId",
        "Account.Name",
        "Account.ParentId",
        "Account.Tenant_Key__c",
        "Account.Org_Slug__c",
        "Amount",
        "CloseDate",
        "Contract_Start__c",
        "Term_Months__c",
        "IsWon",
        "IsDeleted",
        "SystemModstamp",
    ]


def test_opportunity_query_selects_each_ancestor_with_its_alias_fields(make_rules) -> None:
    """With the roll-up, each Parent level brings Name, ParentId and the alias fields, up to
    Account.Parent.Parent.Parent.Name; without it nothing above the account is read."""
    rules = make_rules(sf_alias_fields="Tenant_Key__c", alias_include_suborgs=True)
    fields = select_list(opportunity_query(rules, None))
    ancestors = [f for f in fields if f.startswith("Account.Parent.")]
    assert ancestors == [
        f"Account{'.Parent' * level}.{name}"
        for level in range(1, 4)
        for name in ("Name", "ParentId", "Tenant_Key__c")
    ]
    assert "Account.Parent.Parent.Parent.Name" in fields
    assert max(len(f.split(".")) for f in fields) == 5
    flat = make_rules(sf_alias_fields="Tenant_Key__c", alias_include_suborgs=False)
    assert not [f for f in select_list(opportunity_query(flat, None)) if "Parent." in f]


ALIAS_FIELD_SETS = [
    ("", 3),
    ("Tenant_Key__c", 3),
    ("Owner.Email", 2),
    ("Tenant_Key__c,Owner.Manager.Email", 1),
    ("A__r.B__r.Key__c,Plain__c", 1),
    ("A__r.B__r.C__r.Key__c", 0),
]


@pytest.mark.parametrize(("alias_fields", "levels"), ALIAS_FIELD_SETS)
def test_dotted_alias_fields_leave_fewer_ancestor_levels(
    make_rules, alias_fields: str, levels: int
) -> None:
    """Each name of the deepest alias field path costs one ancestor level, never below none."""
    rules = make_rules(sf_alias_fields=alias_fields)
    assert ancestor_levels(rules) == levels
    fields = select_list(opportunity_query(rules, None))
    assert sum(f.endswith(".Name") and ".Parent." in f for f in fields) == levels


@pytest.mark.parametrize("alias_fields", [a for a, _ in ALIAS_FIELD_SETS])
@pytest.mark.parametrize("suborgs", [True, False])
def test_every_generated_query_keeps_within_five_names_per_path(
    make_rules, alias_fields: str, suborgs: bool
) -> None:
    """No field of any query sfsync builds is a path of more than five names, whatever the
    alias fields (paths themselves) and contract fields are."""
    rules = make_rules(
        sf_alias_fields=alias_fields,
        alias_include_suborgs=suborgs,
        contract_start_field="Contract__r.Owner.Manager.Start__c",
        contract_term_field="Term__c",
    )
    ids = ["0015g00000AbCdEAAZ"]
    queries = [
        opportunity_query(rules, None),
        opportunity_query(rules, SINCE),
        opportunity_by_ids_query(rules, ids),
        account_query(rules, None),
        account_query(rules, SINCE),
        children_query(rules, ids),
        child_accounts_query(rules),
        accounts_by_ids_query(rules, ids),
    ]
    for query in queries:
        for field in select_list(query):
            assert len(field.split(".")) <= 5, (field, query)
    assert MAX_PATH_NAMES == 5


@pytest.mark.parametrize(
    ("overrides", "setting"),
    [
        ({"sf_alias_fields": "A__r.B__r.C__r.D__r.Key__c"}, "SFSYNC_SF_ALIAS_FIELDS"),
        (
            {"contract_start_field": "A__r.B__r.C__r.D__r.E__r.Start__c"},
            "SFSYNC_CONTRACT_START_FIELD",
        ),
    ],
)
def test_a_field_path_deeper_than_soql_allows_is_a_config_error(
    make_settings, overrides: dict[str, str], setting: str
) -> None:
    """A configured path that would make a six-name path is refused naming its setting."""
    with pytest.raises(SalesforceConfigError, match=f"{setting}.*6 names.*at most 5"):
        opportunity_query(QueryRules.of(make_settings(**overrides), multi_currency=True), None)


def test_opportunity_query_filters_from_since_as_a_utc_literal(make_rules) -> None:
    """`since` becomes an unquoted UTC datetime literal, truncated to the second."""
    query = opportunity_query(make_rules(), SINCE, won_only=True)
    assert "WHERE IsWon = true AND SystemModstamp >= 2026-11-02T14:05:09+00:00 ORDER BY" in query


def test_the_opportunity_filter_is_a_parenthesised_extra_condition(make_rules) -> None:
    """SFSYNC_SF_OPPORTUNITY_FILTER joins IsWon with AND, in parentheses, in every query."""
    rules = make_rules(sf_opportunity_filter="Type = 'A' OR Type = 'B'")
    won = "WHERE IsWon = true AND (Type = 'A' OR Type = 'B')"
    assert f"{won} ORDER BY" in opportunity_query(rules, None)
    assert f"{won} AND SystemModstamp >= 2026-11-02T14:05:09+00:00" in opportunity_query(
        rules, SINCE, won_only=True
    )
    # A run reading every change cannot filter in SOQL: it asks which won rows count.
    assert "Type = 'A'" not in opportunity_query(rules, SINCE)
    assert f"{won} AND Id IN (" in counted_ids_query(rules, ["006000000000001"])
    assert f"{won} ORDER BY Id" in won_opportunity_ids_query(rules)
    assert f"{won} AND Id IN (" in opportunity_by_ids_query(rules, ["006000000000001"])
    assert opportunity_filter_check_query(rules) == f"SELECT Id FROM Opportunity {won} LIMIT 1"
    assert "(" not in opportunity_query(make_rules(), None).partition("WHERE")[2]


def test_an_incremental_opportunity_query_reads_every_change_won_or_not(make_rules) -> None:
    """From a cursor, deals that left Closed Won are read too, with IsWon and IsDeleted."""
    query = opportunity_query(make_rules(), SINCE)
    assert "WHERE SystemModstamp >= 2026-11-02T14:05:09+00:00 ORDER BY" in query
    assert "IsWon =" not in query
    assert {"IsWon", "IsDeleted"} <= set(select_list(query))


def test_since_in_another_timezone_is_converted_to_utc(make_rules) -> None:
    """An aware non-UTC datetime names the same instant in UTC."""
    paris = SINCE.astimezone(timezone(timedelta(hours=1)))
    assert opportunity_query(make_rules(), paris) == opportunity_query(make_rules(), SINCE)


def test_naive_since_is_refused(make_rules) -> None:
    """A naive datetime would be read as local time, so it is an error."""
    with pytest.raises(ValueError, match="timezone-aware"):
        account_query(make_rules(), datetime(2026, 1, 1))


@pytest.mark.parametrize(
    ("setting", "value", "variable"),
    [
        ("sf_alias_fields", "Name FROM User --", "SFSYNC_SF_ALIAS_FIELDS"),
        ("contract_start_field", "Close Date", "SFSYNC_CONTRACT_START_FIELD"),
        ("contract_end_field", "End__c)", "SFSYNC_CONTRACT_END_FIELD"),
        ("contract_term_field", "1Term", "SFSYNC_CONTRACT_TERM_FIELD"),
    ],
)
def test_a_field_setting_that_is_not_an_identifier_names_the_setting(
    make_settings, setting: str, value: str, variable: str
) -> None:
    """Field names cannot be quoted, so a bad one is a config error naming its variable."""
    settings = make_settings(**{setting: value})
    with pytest.raises(SalesforceConfigError, match=variable):
        opportunity_query(QueryRules.of(settings, multi_currency=True), None)


def test_account_query_selects_hierarchy_and_alias_fields(make_rules) -> None:
    """Accounts carry Name, ParentId, the alias fields, SystemModstamp and what a merge sets
    (IsDeleted, MasterRecordId), in cursor order."""
    query = account_query(make_rules(sf_alias_fields="Tenant_Key__c"), SINCE)
    assert select_list(query) == [
        "Id",
        "Name",
        "ParentId",
        "Tenant_Key__c",
        "SystemModstamp",
        "IsDeleted",
        "MasterRecordId",
    ]
    assert query.endswith(
        "FROM Account WHERE SystemModstamp >= 2026-11-02T14:05:09+00:00 ORDER BY SystemModstamp, Id"
    )


def test_child_accounts_query_reads_every_account_with_a_parent(make_rules) -> None:
    """The forest scan: node fields of every account below a root, in id order."""
    rules = make_rules(sf_alias_fields="Tenant_Key__c Org_Slug__c")
    assert child_accounts_query(rules) == (
        "SELECT Id, Name, ParentId, Tenant_Key__c, Org_Slug__c FROM Account "
        "WHERE ParentId != null ORDER BY Id"
    )


def test_id_lists_are_quoted_and_normalised(make_rules) -> None:
    """Ids enter the query quoted, in their 18-character form."""
    rules = make_rules()
    assert children_query(rules, ["001D000000IqhSL"]) == (
        "SELECT Id, Name, ParentId FROM Account "
        "WHERE ParentId IN ('001D000000IqhSLIAZ') ORDER BY Id"
    )
    assert "Id IN ('001D000000IqhSLIAZ')" in accounts_by_ids_query(rules, ["001D000000IqhSL"])
    assert "Id IN ('006000000000001AAA')" in opportunity_by_ids_query(rules, ["006000000000001"])


def test_an_id_list_cannot_smuggle_soql(make_rules) -> None:
    """A value that is not an id is rejected before it reaches a query."""
    with pytest.raises(ValueError):
        children_query(make_rules(), ["001' OR Name != '"])


def test_an_empty_id_list_is_refused(make_rules) -> None:
    """`IN ()` is malformed SOQL; callers must not ask for it."""
    with pytest.raises(ValueError, match="at least one id"):
        children_query(make_rules(), [])
