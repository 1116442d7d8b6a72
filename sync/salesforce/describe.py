"""What the org says about itself: object describes, its identity, the API allowance, record
counts, and whether it is multi-currency.

Each function is one call (or none) through `SalesforceClient` and returns frozen values in
Salesforce's terms. Whether the org is multi-currency is read once per client (a worker's
client lives across runs) from the describe of Opportunity: a single-currency org has no
CurrencyIsoCode field, and selecting it would fail every query with INVALID_FIELD.
SFSYNC_SF_MULTI_CURRENCY, when set, answers instead and costs no call.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sfsync.sync.salesforce.client import SalesforceClient
from sfsync.sync.salesforce.errors import SalesforcePermanentError

__all__ = [
    "Allowance",
    "FieldInfo",
    "ObjectInfo",
    "OrgIdentity",
    "api_allowance",
    "count",
    "describe",
    "org_identity",
    "org_multi_currency",
]

#: errorCodes of a describe the integration user may not make (no read access to the object).
_NO_OBJECT = frozenset({"NOT_FOUND", "INSUFFICIENT_ACCESS", "INVALID_TYPE"})


@dataclass(frozen=True)
class FieldInfo:
    """One field as the integration user sees it (describe leaves out hidden fields)."""

    name: str
    type: str
    updateable: bool
    relationship: str | None = None


@dataclass(frozen=True)
class ObjectInfo:
    """An object's describe: the fields the user can see, by lower-cased name."""

    name: str
    fields: Mapping[str, FieldInfo] = field(default_factory=dict)

    def field(self, name: str) -> FieldInfo | None:
        """The field named `name` (case-insensitively), or None if the user cannot see it."""
        return self.fields.get(name.lower())

    def relationship(self, name: str) -> FieldInfo | None:
        """The reference field whose relationship is `name` (``Owner`` → OwnerId), if any."""
        wanted = name.lower()
        for info in self.fields.values():
            if info.relationship is not None and info.relationship.lower() == wanted:
                return info
        return None


@dataclass(frozen=True)
class OrgIdentity:
    """The org's id, name and edition (Organization.OrganizationType)."""

    id: str
    name: str
    edition: str | None


@dataclass(frozen=True)
class Allowance:
    """The org's rolling 24-hour API allowance (/limits DailyApiRequests)."""

    max: int
    remaining: int

    @property
    def used(self) -> int:
        return self.max - self.remaining


def describe(client: SalesforceClient, sobject: str) -> ObjectInfo | None:
    """`sobject`'s describe, or None when the integration user cannot see the object."""
    try:
        body = client.rest(f"sobjects/{sobject}/describe")
    except SalesforcePermanentError as exc:
        if exc.error_code in _NO_OBJECT or exc.status == 404:
            return None
        raise
    fields: dict[str, FieldInfo] = {}
    for raw in body.get("fields") or []:
        if isinstance(raw, Mapping) and isinstance(raw.get("name"), str):
            info = FieldInfo(
                name=raw["name"],
                type=str(raw.get("type") or ""),
                updateable=bool(raw.get("updateable")),
                relationship=_text(raw.get("relationshipName")),
            )
            fields[info.name.lower()] = info
    return ObjectInfo(str(body.get("name") or sobject), fields)


#: client → whether its org is multi-currency; weak, so a closed client takes its entry along.
_currency: weakref.WeakKeyDictionary[SalesforceClient, bool] = weakref.WeakKeyDictionary()


def org_multi_currency(client: SalesforceClient) -> bool:
    """Whether the org has CurrencyIsoCode on Opportunity: SFSYNC_SF_MULTI_CURRENCY if set,
    else the describe of Opportunity, read once per client."""
    override = client.settings.sf_multi_currency
    if override is not None:
        return override
    known = _currency.get(client)
    if known is not None:
        return known
    opportunity = describe(client, "Opportunity")
    if opportunity is None:
        # Without read access to Opportunity nothing syncs (the query's error says so); not
        # remembered, so the answer is read again once the access is granted.
        return False
    known = opportunity.field("CurrencyIsoCode") is not None
    _currency[client] = known
    return known


def org_identity(client: SalesforceClient) -> OrgIdentity | None:
    """The org's id, name and edition; None if the user cannot read Organization."""
    try:
        rows = client.query_all("SELECT Id, Name, OrganizationType FROM Organization LIMIT 1")
    except SalesforcePermanentError:
        return None
    if not rows:
        return None
    row = rows[0]
    return OrgIdentity(
        str(row.get("Id") or ""), str(row.get("Name") or ""), _text(row.get("OrganizationType"))
    )


def api_allowance(client: SalesforceClient) -> Allowance | None:
    """The API allowance now (one call to /limits); None if the answer has none."""
    daily: Any = client.rest("limits").get("DailyApiRequests")
    try:
        return Allowance(int(daily["Max"]), int(daily["Remaining"]))
    except (TypeError, KeyError, ValueError):
        return None


def count(client: SalesforceClient, soql: str) -> int:
    """The ``totalSize`` of a ``SELECT COUNT() …`` query (one call, no records)."""
    body = client.rest("query", {"q": soql})
    return int(body.get("totalSize") or 0)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
