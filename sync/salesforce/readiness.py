"""`sfsync check`'s Salesforce half: what a sync needs of the org, what the org says, and the
report assembled from the two.

`field_needs` derives the fields from the sync's own query text (so the check reads what
the sync reads, never a second list that could drift from it) plus the writeback field;
`gather_org_facts` asks the org (login, identity, /limits, three describes, two COUNT() queries, the
opportunity filter) and writes nothing; `assess_readiness` is a pure function of frozen facts that
says what is ready and gives each problem as one line naming the setting or the Salesforce
permission to fix.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sfsync.config import Settings
from sfsync.sync.salesforce.client import QUERY_BATCH_SIZE, SalesforceClient
from sfsync.sync.salesforce.describe import (
    Allowance,
    ObjectInfo,
    OrgIdentity,
    api_allowance,
    count,
    describe,
    org_identity,
)
from sfsync.sync.salesforce.errors import (
    SalesforceConfigError,
    SalesforceError,
    SalesforcePermanentError,
)
from sfsync.sync.salesforce.fields import field_settings
from sfsync.sync.salesforce.opportunity_filter import check_opportunity_filter
from sfsync.sync.salesforce.soql import (
    QueryRules,
    account_query,
    opportunity_query,
    organization_currency_query,
    won_count_query,
)

__all__ = [
    "OBJECTS",
    "FieldNeed",
    "OrgFacts",
    "SalesforceReadiness",
    "assess_readiness",
    "field_needs",
    "gather_org_facts",
]

#: The objects a sync reads, in the order the report shows them.
OBJECTS = ("Opportunity", "Account", "Organization")
_SELECT = re.compile(r"SELECT (.+?) FROM (\w+)", re.DOTALL)


@dataclass(frozen=True)
class FieldNeed:
    """One field a sync reads (or, with `edit`, writes) on one object."""

    sobject: str
    #: A field name, or a relationship path from `sobject` (an alias field ``Owner.Email``).
    name: str
    #: The setting that names the field; None for the standard fields every sync reads.
    setting: str | None
    edit: bool = False


def field_needs(settings: Settings, rules: QueryRules) -> tuple[FieldNeed, ...]:
    """Every field the sync's queries select, per object (paths through the deal's account
    and its parents are the Account's fields), and the writeback field with edit access."""
    named = field_settings(settings)
    queries = [opportunity_query(rules, None), account_query(rules, None)]
    if not rules.multi_currency and settings.default_currency is None:
        queries.append(organization_currency_query())
    needs: dict[tuple[str, str], FieldNeed] = {}
    for soql in queries:
        match = _SELECT.match(soql)
        assert match is not None, soql  # the builders always write SELECT … FROM
        for path in (part.strip() for part in match.group(1).split(",")):
            sobject, name = _owner(match.group(2), path)
            needs.setdefault((sobject, name.lower()), FieldNeed(sobject, name, named.get(name)))
    writeback = settings.sf_writeback_field
    if writeback:
        needs[("Account", writeback.lower())] = FieldNeed(
            "Account", writeback, "SFSYNC_SF_WRITEBACK_FIELD", edit=True
        )
    return tuple(needs.values())


def _owner(sobject: str, path: str) -> tuple[str, str]:
    """The object a selected path's field lives on, and its name there: ``Account.Parent.
    Parent.Name`` from Opportunity is Account's ``Name``."""
    names = path.split(".")
    if sobject == "Opportunity" and len(names) > 1 and names[0] == "Account":
        sobject, names = "Account", names[1:]
    while sobject == "Account" and len(names) > 1 and names[0] == "Parent":
        names = names[1:]
    return sobject, ".".join(names)


@dataclass(frozen=True)
class OrgFacts:
    """What the org said, each None where it could not be read."""

    auth_mode: str
    api_version: str
    identity: OrgIdentity | None
    allowance: Allowance | None
    #: Each object's describe; None: the integration user cannot see the object.
    objects: Mapping[str, ObjectInfo | None]
    #: Opportunity has CurrencyIsoCode (None: Opportunity is not visible).
    org_multi_currency: bool | None
    #: SFSYNC_SF_MULTI_CURRENCY, which overrides the org's answer when set.
    multi_currency_override: bool | None
    won_opportunities: int | None
    accounts: int | None
    #: Why SFSYNC_SF_OPPORTUNITY_FILTER (or the count it narrows) was refused, if it was.
    filter_error: str | None = None
    #: SFSYNC_SF_API_USAGE_MAX_PERCENT.
    usage_max_percent: float = 100.0
    batch_size: int = QUERY_BATCH_SIZE


def gather_org_facts(
    client: SalesforceClient, settings: Settings
) -> tuple[OrgFacts, tuple[FieldNeed, ...]]:
    """Ask the org everything `assess_readiness` needs; reads only. Login and transport failures
    propagate as the adapter's errors (their messages name the settings)."""
    client.login()
    _check_version(client, settings.sf_api_version)
    identity = org_identity(client)
    allowance = api_allowance(client)
    objects = {name: describe(client, name) for name in OBJECTS}
    opportunity = objects["Opportunity"]
    detected = None if opportunity is None else opportunity.field("CurrencyIsoCode") is not None
    override = settings.sf_multi_currency
    rules = QueryRules.of(settings, detected if detected is not None else False)
    needs = field_needs(settings, rules)
    filter_error: str | None = None
    won: int | None = None
    accounts: int | None = None
    try:
        check_opportunity_filter(client, rules)
        won = count(client, won_count_query(rules)) if opportunity is not None else None
    except (SalesforceConfigError, SalesforceError) as exc:
        filter_error = str(exc)
    if objects["Account"] is not None:
        accounts = count(client, "SELECT COUNT() FROM Account")
    facts = OrgFacts(
        auth_mode=client.auth_mode.value,
        api_version=settings.sf_api_version,
        identity=identity,
        allowance=allowance,
        objects=objects,
        org_multi_currency=detected,
        multi_currency_override=override,
        won_opportunities=won,
        accounts=accounts,
        filter_error=filter_error,
        usage_max_percent=settings.sf_api_usage_max_percent,
    )
    return facts, needs


def _check_version(client: SalesforceClient, version: str) -> None:
    """The version's resource list, or an error naming SFSYNC_SF_API_VERSION: every later
    answer would be a 404 that reads like a missing permission."""
    try:
        client.rest("")
    except SalesforcePermanentError as exc:
        if exc.status != 404:
            raise
        raise SalesforcePermanentError(
            f"SFSYNC_SF_API_VERSION: the org does not serve REST API version {version}; "
            "set a version it lists at /services/data",
            error_code=exc.error_code,
            status=exc.status,
        ) from exc


@dataclass(frozen=True)
class SalesforceReadiness:
    """The Salesforce half of the report: a JSON-ready document and the problems."""

    document: Mapping[str, Any]
    problems: tuple[str, ...] = field(default_factory=tuple)


def assess_readiness(
    facts: OrgFacts,
    needs: tuple[FieldNeed, ...],
    said_elsewhere: frozenset[tuple[str, str]] = frozenset(),
) -> SalesforceReadiness:
    """What a sync would find in the org, and one line per problem (pure). A field in
    `said_elsewhere` (object, lower-cased name) has its problem told by the caller (the
    mapping check, which knows the line of the mapping file that named it)."""
    problems: list[str] = []
    for name in OBJECTS:
        if facts.objects.get(name) is None:
            problems.append(
                f"Salesforce permission: give the integration user Read on the {name} object"
            )
    fields = [
        _field_access(
            facts,
            need,
            [] if (need.sobject, need.name.lower()) in said_elsewhere else problems,
        )
        for need in needs
    ]
    currency = _currency(facts, problems)
    allowance = _allowance(facts, problems)
    if facts.filter_error is not None:
        problems.append(facts.filter_error)
    identity = facts.identity
    document = {
        "login": {
            "mode": facts.auth_mode,
            "org_id": identity.id if identity else None,
            "org_name": identity.name if identity else None,
            "edition": identity.edition if identity else None,
        },
        "api": {"version": facts.api_version, **allowance},
        "multi_currency": currency,
        "fields": fields,
        "first_sync": {
            "won_opportunities": facts.won_opportunities,
            "accounts": facts.accounts,
            "batch_size": facts.batch_size,
            "api_calls": _pages(facts.won_opportunities, facts.batch_size)
            + _pages(facts.accounts, facts.batch_size),
        },
    }
    return SalesforceReadiness(document, tuple(problems))


def _field_access(facts: OrgFacts, need: FieldNeed, problems: list[str]) -> dict[str, Any]:
    described = facts.objects.get(need.sobject)
    head, _, rest = need.name.partition(".")
    info = None
    if described is not None:
        info = described.relationship(head) if rest else described.field(need.name)
    readable = info is not None
    editable = bool(info is not None and info.updateable)
    entry: dict[str, Any] = {"object": need.sobject, "field": need.name, "readable": readable}
    if need.edit:
        entry["editable"] = editable
    entry["setting"] = need.setting
    where = f"{need.sobject}.{need.name}"
    if described is None:
        return entry  # the object's own line says what to grant
    if not readable:
        if need.name == "CurrencyIsoCode":
            pass  # `_currency` explains it: the override contradicts the org
        elif need.setting is not None:
            problems.append(
                f"{need.setting}: {where} is not a field the integration user can read "
                f"(no such field, or field-level security hides it): fix the name or grant "
                f"Read on {where}"
            )
        else:
            problems.append(
                f"Salesforce permission: give the integration user Read on {where} "
                "(field-level security)"
            )
    elif need.edit and not editable:
        problems.append(
            f"{need.setting}: the integration user cannot edit {where}: grant Edit on it "
            "(field-level security), or unset the setting to write nothing back"
        )
    return entry


def _currency(facts: OrgFacts, problems: list[str]) -> dict[str, Any]:
    org, override = facts.org_multi_currency, facts.multi_currency_override
    used = override if override is not None else org
    if override is True and org is False:
        problems.append(
            "SFSYNC_SF_MULTI_CURRENCY: set to true, but the org is single-currency (Opportunity "
            "has no CurrencyIsoCode): unset it to use what the org says"
        )
    return {"org": org, "override": override, "used": used}


def _allowance(facts: OrgFacts, problems: list[str]) -> dict[str, Any]:
    allowance = facts.allowance
    if allowance is None:
        return {"used": None, "max": None, "remaining": None}
    share = allowance.used * 100 / allowance.max if allowance.max else 100.0
    if share > facts.usage_max_percent:
        problems.append(
            f"SFSYNC_SF_API_USAGE_MAX_PERCENT: the org has used {allowance.used} of "
            f"{allowance.max} API calls ({share:.1f}%, above {facts.usage_max_percent:g}%): "
            "a sync stops as throttled until the 24-hour allowance recovers"
        )
    return {"used": allowance.used, "max": allowance.max, "remaining": allowance.remaining}


def _pages(records: int | None, batch: int) -> int:
    """Query calls to read `records` at `batch` per page (an empty answer is one call)."""
    return max(1, math.ceil((records or 0) / batch))
