"""`sfsync check`'s assessment: pure functions of the settings' rules and the org's facts."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sfsync.config import Settings
from sfsync.sync.salesforce import (
    Allowance,
    FieldInfo,
    ObjectInfo,
    OrgFacts,
    OrgIdentity,
    QueryRules,
    assess_readiness,
    field_needs,
)


def described(name: str, fields: Iterable[str], *, read_only: Iterable[str] = ()) -> ObjectInfo:
    """A describe holding `fields` (updateable unless in `read_only`); ``OwnerId`` carries the
    ``Owner`` relationship."""
    infos = {
        f.lower(): FieldInfo(
            f,
            "string",
            f not in set(read_only),
            relationship="Owner" if f == "OwnerId" else None,
        )
        for f in fields
    }
    return ObjectInfo(name, infos)


def facts(objects: dict[str, ObjectInfo | None], **overrides: Any) -> OrgFacts:
    values: dict[str, Any] = {
        "auth_mode": "jwt",
        "api_version": "59.0",
        "identity": OrgIdentity("00D000000000001AAA", "Acme", "Enterprise Edition"),
        "allowance": Allowance(max=15_000, remaining=14_000),
        "objects": objects,
        "org_multi_currency": True,
        "multi_currency_override": None,
        "won_opportunities": 4_001,
        "accounts": 10,
        "usage_max_percent": 80.0,
    }
    values.update(overrides)
    return OrgFacts(**values)


def every_field(settings: Settings) -> dict[str, ObjectInfo | None]:
    """Describes holding exactly the fields the sync reads."""
    needs = field_needs(settings, QueryRules.of(settings, multi_currency=True))
    names: dict[str, list[str]] = {"Opportunity": [], "Account": ["OwnerId"], "Organization": []}
    for need in needs:
        names[need.sobject].append(need.name.partition(".")[0])
    return {obj: described(obj, fields) for obj, fields in names.items()}


def test_field_needs_come_from_the_queries_with_paths_on_the_account(
    make_settings: Callable[..., Settings],
) -> None:
    """Paths through the deal's account and its parents are the Account's own fields."""
    settings = make_settings(sf_alias_fields="Tenant__c", sf_writeback_field="Billing__c")
    needs = field_needs(settings, QueryRules.of(settings, multi_currency=True))
    by_object = {(n.sobject, n.name): n for n in needs}
    assert ("Account", "Tenant__c") in by_object and ("Opportunity", "CurrencyIsoCode") in by_object
    assert by_object[("Account", "Tenant__c")].setting == "SFSYNC_SF_ALIAS_FIELDS"
    assert by_object[("Account", "Billing__c")].edit is True
    assert by_object[("Opportunity", "CloseDate")].setting == "SFSYNC_CONTRACT_START_FIELD"
    assert not any("." in n.name for n in needs)
    single = field_needs(settings, QueryRules.of(settings, multi_currency=False))
    assert ("Organization", "DefaultCurrencyIsoCode") in {(n.sobject, n.name) for n in single}


def test_everything_readable_is_ready_with_the_first_syncs_calls(
    make_settings: Callable[..., Settings],
) -> None:
    """No problem; the first sync's calls are its pages at 2,000 records each."""
    settings = make_settings(sf_alias_fields="Tenant__c,Owner.Email")
    needs = field_needs(settings, QueryRules.of(settings, multi_currency=True))
    report = assess_readiness(facts(every_field(settings)), needs)
    assert report.problems == ()
    assert report.document["first_sync"]["api_calls"] == 3 + 1
    assert report.document["api"] == {
        "version": "59.0",
        "used": 1_000,
        "max": 15_000,
        "remaining": 14_000,
    }


def test_an_unreadable_object_and_an_allowance_above_the_max_are_one_line_each(
    make_settings: Callable[..., Settings],
) -> None:
    """Each problem names the permission or the setting to fix."""
    settings = make_settings()
    needs = field_needs(settings, QueryRules.of(settings, multi_currency=True))
    objects = every_field(settings)
    objects["Account"] = None
    report = assess_readiness(facts(objects, allowance=Allowance(max=100, remaining=5)), needs)
    assert report.problems == (
        "Salesforce permission: give the integration user Read on the Account object",
        "SFSYNC_SF_API_USAGE_MAX_PERCENT: the org has used 95 of 100 API calls (95.0%, above "
        "80%): a sync stops as throttled until the 24-hour allowance recovers",
    )


def test_a_relationship_alias_path_needs_its_relationship_on_the_account(
    make_settings: Callable[..., Settings],
) -> None:
    """``Owner.Email`` is readable through ``OwnerId``; without it, the setting is named."""
    settings = make_settings(sf_alias_fields="Owner.Email")
    needs = field_needs(settings, QueryRules.of(settings, multi_currency=True))
    objects = every_field(settings)
    account = objects["Account"]
    assert account is not None
    objects["Account"] = ObjectInfo(
        "Account", {k: v for k, v in account.fields.items() if k != "ownerid"}
    )
    report = assess_readiness(facts(objects), needs)
    assert [p.split(":")[0] for p in report.problems] == ["SFSYNC_SF_ALIAS_FIELDS"]
    assert "Account.Owner.Email" in report.problems[0]
