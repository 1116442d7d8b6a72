"""Mapping closed-won opportunity records to deals."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sfsync.models.tables import MAX_ALIASES_PER_CUSTOMER
from sfsync.sync.alias_mapping import account_aliases
from sfsync.sync.errors import MappingError
from sfsync.sync.mapping import AliasMemo, Deal, map_opportunity
from sfsync.sync.mapping_rules import MappingRules
from sfsync.sync.record_values import add_months, parse_sf_date, parse_sf_datetime, record_name
from sfsync.sync.salesforce import AccountNode, OpportunityRow
from tests.unit.factories import build_settings

ACCOUNT_15 = "001D000000IqhSL"
ACCOUNT_18 = "001D000000IqhSLIAZ"
OPP_18 = "006000000000001AAA"
CHILD = AccountNode(
    id="001000000000002AAA", name="Child", parent_id=ACCOUNT_18, alias_values=("kid-1",)
)


def map_record(
    record: dict[str, Any],
    rules: MappingRules,
    descendants: Sequence[AccountNode] = (),
    *,
    alias_memo: AliasMemo | None = None,
    org_currency: str | None = None,
) -> Deal:
    """`map_opportunity` of the record as the stream parses it (`OpportunityRow.of`)."""
    return map_opportunity(
        OpportunityRow.of(record),
        rules,
        descendants,
        alias_memo=alias_memo,
        org_currency=org_currency,
    )


def mapping_rules(**settings: Any) -> MappingRules:
    return MappingRules.of(build_settings(**settings))


def opportunity(**overrides: Any) -> dict[str, Any]:
    """A closed-won Opportunity record as the REST API returns it."""
    account_overrides = overrides.pop("account", {})
    account: dict[str, Any] | None = {
        "attributes": {"type": "Account", "url": "/x"},
        "Name": "Acme Corp",
        "ParentId": None,
        "Tenant_Key__c": "acme;acme-eu",
        **account_overrides,
    }
    record: dict[str, Any] = {
        "attributes": {"type": "Opportunity", "url": "/y"},
        "Id": OPP_18,
        "Name": "Acme — 2027 renewal",
        "AccountId": ACCOUNT_15,
        "Account": account,
        "Amount": 12000.5,
        "CloseDate": "2026-11-02",
        "CurrencyIsoCode": "EUR",
        "SystemModstamp": "2026-11-02T14:05:09.000+0000",
    }
    record.update(overrides)
    return record


@pytest.fixture
def rules():
    return mapping_rules(sf_alias_fields="Tenant_Key__c")


def test_a_complete_record_maps_to_a_deal(rules) -> None:
    """Ids normalised, aliases gathered, contract from CloseDate, amount exact, currency kept."""
    deal = map_record(opportunity(), rules, [CHILD])
    assert isinstance(deal, Deal)
    assert deal.account_id == ACCOUNT_18
    assert deal.account_name == "Acme Corp"
    assert deal.aliases == (ACCOUNT_18, "acme", "acme-eu", CHILD.id, "kid-1")
    assert deal.opportunity_id == OPP_18
    assert deal.contract.name == "Acme — 2027 renewal"
    assert deal.contract.starting_at == datetime(2026, 11, 2, tzinfo=UTC)
    assert deal.contract.ending_before is None
    assert deal.contract.amount == Decimal("12000.5")
    assert deal.contract.currency == "EUR"
    assert deal.system_modstamp == datetime(2026, 11, 2, 14, 5, 9, tzinfo=UTC)


def test_missing_account_is_an_actionable_mapping_error(rules) -> None:
    """An opportunity without an Account cannot become a customer; the reason says what to do."""
    with pytest.raises(MappingError) as caught:
        map_record(opportunity(AccountId=None, Account=None), rules)
    assert caught.value.reason == (
        "opportunity has no AccountId; set the Account on the opportunity in Salesforce"
    )


def test_unreadable_account_names_the_access_problem(rules) -> None:
    """AccountId without the Account relationship means the user cannot read the account."""
    with pytest.raises(MappingError, match="read access"):
        map_record(opportunity(Account=None), rules)


@pytest.mark.parametrize("name", ["", "   ", None])
def test_an_unnamed_opportunity_is_rejected(rules, name: Any) -> None:
    """A contract needs a name."""
    with pytest.raises(MappingError, match="has no name"):
        map_record(opportunity(Name=name), rules)


def test_a_name_over_160_characters_is_rejected_not_truncated(rules) -> None:
    """Truncation could merge distinct names; the reason asks for a shorter one."""
    with pytest.raises(MappingError, match="160"):
        map_record(opportunity(Name="x" * 161), rules)
    assert map_record(opportunity(Name=" " + "x" * 160 + " "), rules).contract.name == "x" * 160


def test_amount_goes_through_str_not_float_arithmetic(rules) -> None:
    """0.1 stays exactly 0.1 and null stays None."""
    assert map_record(opportunity(Amount=0.1), rules).contract.amount == Decimal("0.1")
    assert map_record(opportunity(Amount=None), rules).contract.amount is None
    assert map_record(opportunity(Amount=7), rules).contract.amount == Decimal(7)


@pytest.mark.parametrize("amount", [-0.01, float("nan"), float("inf"), "abc", True])
def test_bad_amounts_are_rejected(rules, amount: Any) -> None:
    """Negative, non-finite or non-numeric amounts cannot be a contract amount."""
    with pytest.raises(MappingError, match="Amount"):
        map_record(opportunity(Amount=amount), rules)


def test_a_record_without_currency_takes_the_orgs_unless_overridden(rules) -> None:
    """Single-currency org: the org's default currency; SFSYNC_DEFAULT_CURRENCY overrides it."""
    record = opportunity()
    del record["CurrencyIsoCode"]
    assert map_record(record, rules, org_currency="EUR").contract.currency == "EUR"
    rules_gbp = mapping_rules(default_currency="GBP")
    assert map_record(record, rules_gbp, org_currency="EUR").contract.currency == "GBP"
    with pytest.raises(MappingError, match="SFSYNC_DEFAULT_CURRENCY"):
        map_record(record, rules)


@pytest.mark.parametrize("currency", ["eur", "EURO", "E1R", 978])
def test_malformed_currency_is_rejected(rules, currency: Any) -> None:
    """Currency must be three upper-case letters."""
    with pytest.raises(MappingError, match="ISO 4217"):
        map_record(opportunity(CurrencyIsoCode=currency), rules)


def test_a_datetime_start_field_keeps_its_instant() -> None:
    """A datetime start is not moved to midnight."""
    rules = mapping_rules(contract_start_field="Start__c")
    record = opportunity(Start__c="2026-12-01T09:30:00.000+0200")
    assert map_record(record, rules).contract.starting_at == datetime(
        2026, 12, 1, 7, 30, tzinfo=UTC
    )


def test_a_missing_start_names_the_field_and_setting() -> None:
    """An empty start field is a mapping error that says which setting chose it."""
    rules = mapping_rules(contract_start_field="Start__c")
    with pytest.raises(MappingError, match=r"Start__c.*SFSYNC_CONTRACT_START_FIELD"):
        map_record(opportunity(Start__c=None), rules)


def test_a_date_end_field_is_inclusive_so_ending_before_is_the_next_midnight() -> None:
    """Salesforce end dates name the last day; ending_before is exclusive."""
    rules = mapping_rules(contract_end_field="End__c", contract_term_field="Term__c")
    deal = map_record(opportunity(End__c="2027-11-01", Term__c=3), rules)
    assert deal.contract.ending_before == datetime(2027, 11, 2, tzinfo=UTC)


def test_the_term_applies_when_the_end_field_is_empty() -> None:
    """No end date: start plus the term in calendar months."""
    rules = mapping_rules(contract_end_field="End__c", contract_term_field="Term__c")
    deal = map_record(opportunity(End__c=None, Term__c=12.0, CloseDate="2026-01-31"), rules)
    assert deal.contract.ending_before == datetime(2027, 1, 31, tzinfo=UTC)


def test_a_term_ending_in_a_shorter_month_clamps_the_day() -> None:
    """January 31st plus one month is the last day of February."""
    rules = mapping_rules(contract_term_field="Term__c")
    deal = map_record(opportunity(Term__c=1, CloseDate="2028-01-31"), rules)
    assert deal.contract.ending_before == datetime(2028, 2, 29, tzinfo=UTC)


@pytest.mark.parametrize("term", [0, -3, 1.5, "twelve", True])
def test_a_term_must_be_a_whole_positive_number_of_months(term: Any) -> None:
    """Fractions, zero, negatives and text are not terms."""
    rules = mapping_rules(contract_term_field="Term__c")
    with pytest.raises(MappingError, match="SFSYNC_CONTRACT_TERM_FIELD"):
        map_record(opportunity(Term__c=term), rules)


def test_an_end_at_or_before_the_start_is_rejected() -> None:
    """A contract cannot end before it starts."""
    rules = mapping_rules(contract_end_field="End__c")
    with pytest.raises(MappingError, match="at or before it starts"):
        map_record(opportunity(End__c="2026-11-01T00:00:00.000+0000"), rules)


def test_aliases_respect_the_include_switches() -> None:
    """Without the id and sub-organisation switches only alias-field values remain."""
    rules = mapping_rules(
        sf_alias_fields="Tenant_Key__c", alias_include_account_id=False, alias_include_suborgs=False
    )
    assert map_record(opportunity(), rules, [CHILD]).aliases == ("acme", "acme-eu")


def test_alias_values_split_on_semicolons_only_and_deduplicate_in_order(rules) -> None:
    """A multi-select value splits on ';' (parts stripped); repeats keep the first position."""
    aliases = account_aliases(
        ACCOUNT_15,
        ["b; a;c ;;b", None],
        [AccountNode(id=CHILD.id, name="c", parent_id=ACCOUNT_18, alias_values=("a", "d"))],
        rules,
    )
    assert aliases == (ACCOUNT_18, "b", "a", "c", CHILD.id, "d")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("tenant 42", ("tenant 42",)),
        ("Acme, Inc.", ("Acme, Inc.",)),
        ("  padded\t", ("padded",)),
        ("eu west; us east", ("eu west", "us east")),
        (42, ("42",)),
        ("   ", ()),
    ],
)
def test_a_value_without_a_semicolon_is_one_alias(rules, value: object, expected) -> None:
    """Spaces and commas are part of an alias; only a multi-select value's ';' separates."""
    assert account_aliases(ACCOUNT_15, [value], (), rules) == (ACCOUNT_18, *expected)


def test_accounts_with_similar_spaced_values_do_not_share_an_alias(rules) -> None:
    """`tenant 42` and `tenant 43` are two distinct aliases, so two accounts cannot collide."""
    first = account_aliases(ACCOUNT_15, ["tenant 42"], (), rules)
    second = account_aliases(CHILD.id, ["tenant 43"], (), rules)
    assert not set(first) & set(second)


def test_an_alias_over_128_characters_names_its_source(rules) -> None:
    """An overlong alias is a mapping error pointing at the field setting."""
    with pytest.raises(MappingError, match=r"128.*SFSYNC_SF_ALIAS_FIELDS"):
        account_aliases(ACCOUNT_15, ["x" * 129], (), rules)


def test_more_than_2000_aliases_are_all_mapped_in_order(rules) -> None:
    """The mapping keeps every alias in hierarchy order; the store decides what fits."""
    values = [";".join(f"alias-{n}" for n in range(MAX_ALIASES_PER_CUSTOMER))]
    aliases = account_aliases(ACCOUNT_15, values, (), rules)
    assert len(aliases) == MAX_ALIASES_PER_CUSTOMER + 1
    assert aliases[1:3] == ("alias-0", "alias-1")


def test_parse_sf_datetime_accepts_salesforce_forms() -> None:
    """The REST form, Z and +00:00 all give the same aware UTC instant."""
    expected = datetime(2026, 11, 2, 14, 5, 9, tzinfo=UTC)
    for text in (
        "2026-11-02T14:05:09.000+0000",
        "2026-11-02T14:05:09Z",
        "2026-11-02T15:05:09+01:00",
    ):
        assert parse_sf_datetime(text) == expected
        assert parse_sf_datetime(text).utcoffset() == timedelta(0)


@pytest.mark.parametrize("text", ["2026-11-02", "2026-11-02T14:05:09", "yesterday", None])
def test_parse_sf_datetime_rejects_dates_naive_and_garbage(text: Any) -> None:
    """Only full datetimes with a timezone are accepted."""
    with pytest.raises(MappingError):
        parse_sf_datetime(text)


def test_parse_sf_date_parses_iso_dates_only() -> None:
    """`2026-11-02` is a date; anything else is a mapping error."""
    assert parse_sf_date("2026-11-02") == date(2026, 11, 2)
    with pytest.raises(MappingError):
        parse_sf_date("2026-11-02T00:00:00Z")


# --- properties ------------------------------------------------------------------------------

amounts = st.decimals(min_value=0, max_value=Decimal("1e15"), allow_nan=False, places=2)
alias_tokens = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=30)


@given(amount=amounts)
def test_any_nonnegative_amount_round_trips_exactly(amount: Decimal) -> None:
    """An amount sent as a JSON number (float) keeps its decimal digits."""
    record = opportunity(Amount=float(amount))
    mapped = map_record(record, mapping_rules()).contract.amount
    assert mapped == Decimal(str(float(amount)))


@given(tokens=st.lists(alias_tokens, max_size=40), separators=st.sampled_from([";", "; ", " ;"]))
def test_aliases_are_unique_bounded_and_start_with_the_account_id(
    tokens: list[str], separators: str
) -> None:
    """Whatever the field holds, aliases are unique, 1 to 128 characters, account id first."""
    rules = mapping_rules(sf_alias_fields="Tenant_Key__c")
    aliases = account_aliases(ACCOUNT_15, [separators.join(tokens)], (), rules)
    assert aliases[0] == ACCOUNT_18
    assert len(set(aliases)) == len(aliases)
    assert all(1 <= len(alias) <= 128 for alias in aliases)
    assert set(aliases) == {ACCOUNT_18, *tokens}


@given(
    start=st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)),
    months=st.integers(min_value=1, max_value=240),
)
def test_a_term_always_ends_after_the_start_within_the_target_month(
    start: date, months: int
) -> None:
    """Adding calendar months lands in the right month, never before the start."""
    begin = datetime(start.year, start.month, start.day, tzinfo=UTC)
    end = add_months(begin, months)
    assert end > begin
    assert (end.year * 12 + end.month) - (begin.year * 12 + begin.month) == months
    assert end.day <= begin.day


@pytest.mark.parametrize("bad", ["Acme\x00Corp", "Acme \ud800 Corp"])
def test_names_no_store_can_hold_are_mapping_errors(bad: str) -> None:
    """A NUL or a lone surrogate in a name is refused with a reason, never sent to the store."""
    with pytest.raises(MappingError, match="Salesforce"):
        record_name(bad, "opportunity", "name it in Salesforce")
