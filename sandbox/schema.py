"""The org's objects: fields, their types, relationships and the opportunity stage table."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class FieldType(Enum):
    """Value types, which decide how literals compare and how values serialise."""

    ID = "id"
    REFERENCE = "reference"
    STRING = "string"
    PICKLIST = "picklist"
    BOOLEAN = "boolean"
    CURRENCY = "currency"
    DOUBLE = "double"
    DATE = "date"
    DATETIME = "datetime"


@dataclass(frozen=True)
class FieldDef:
    """One field of an object."""

    name: str
    type: FieldType
    writable: bool = True
    required: bool = False
    # For references: the relationship name and the object it points at.
    relationship: str | None = None
    target: str | None = None


@dataclass(eq=False)
class ObjectDef:
    """One sObject type (compared by identity: there is one instance per type)."""

    name: str
    fields: tuple[FieldDef, ...]
    #: False for objects the API can read but never insert or delete (Organization).
    createable: bool = True
    by_lower: dict[str, FieldDef] = field(default_factory=dict)
    relationships: dict[str, FieldDef] = field(default_factory=dict)
    names: tuple[str, ...] = ()
    datetime_names: tuple[str, ...] = ()
    date_names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        self.names = tuple(f.name for f in self.fields)
        self.datetime_names = tuple(f.name for f in self.fields if f.type is FieldType.DATETIME)
        self.date_names = tuple(f.name for f in self.fields if f.type is FieldType.DATE)
        for f in self.fields:
            self.by_lower[f.name.lower()] = f
            if f.relationship is not None:
                self.relationships[f.relationship.lower()] = f

    def field(self, name: str) -> FieldDef | None:
        """Look a field up case-insensitively."""
        return self.by_lower.get(name.lower())


T = FieldType
_SYSTEM = (
    FieldDef("CreatedDate", T.DATETIME, writable=False),
    FieldDef("LastModifiedDate", T.DATETIME, writable=False),
    FieldDef("SystemModstamp", T.DATETIME, writable=False),
    FieldDef("IsDeleted", T.BOOLEAN, writable=False),
)
SYSTEM_TIMESTAMPS = ("CreatedDate", "LastModifiedDate", "SystemModstamp")

ACCOUNT = ObjectDef(
    "Account",
    (
        FieldDef("Id", T.ID, writable=False),
        FieldDef("Name", T.STRING, required=True),
        FieldDef("ParentId", T.REFERENCE, relationship="Parent", target="Account"),
        FieldDef("Type", T.PICKLIST),
        FieldDef("Industry", T.PICKLIST),
        FieldDef("Ingest_Alias__c", T.STRING),
        FieldDef("Billing_Customer_Id__c", T.STRING),
        # Set on the losers of a merge; null on live records and plain deletes.
        FieldDef(
            "MasterRecordId",
            T.REFERENCE,
            writable=False,
            relationship="MasterRecord",
            target="Account",
        ),
        *_SYSTEM,
    ),
)

OPPORTUNITY = ObjectDef(
    "Opportunity",
    (
        FieldDef("Id", T.ID, writable=False),
        FieldDef("Name", T.STRING, required=True),
        FieldDef("AccountId", T.REFERENCE, relationship="Account", target="Account"),
        FieldDef("StageName", T.PICKLIST, required=True),
        FieldDef("IsWon", T.BOOLEAN, writable=False),
        FieldDef("IsClosed", T.BOOLEAN, writable=False),
        FieldDef("Amount", T.CURRENCY),
        FieldDef("CurrencyIsoCode", T.PICKLIST),
        FieldDef("CloseDate", T.DATE, required=True),
        FieldDef("Type", T.PICKLIST),
        FieldDef("Contract_Start_Date__c", T.DATE),
        FieldDef("Contract_Term_Months__c", T.DOUBLE),
        *_SYSTEM,
    ),
)

# Single-currency orgs have no CurrencyIsoCode field at all: selecting it is INVALID_FIELD.
OPPORTUNITY_SINGLE_CURRENCY = ObjectDef(
    "Opportunity", tuple(f for f in OPPORTUNITY.fields if f.name != "CurrencyIsoCode")
)

# The org itself: one row, read-only through the API (no IsDeleted, as in Salesforce).
ORGANIZATION = ObjectDef(
    "Organization",
    (
        FieldDef("Id", T.ID, writable=False),
        FieldDef("Name", T.STRING, writable=False),
        FieldDef("OrganizationType", T.PICKLIST, writable=False),
        FieldDef("DefaultCurrencyIsoCode", T.PICKLIST, writable=False),
        FieldDef("IsMultiCurrencyOrg", T.BOOLEAN, writable=False),
        *_SYSTEM[:3],
    ),
    createable=False,
)

Objects = dict[str, ObjectDef]

OBJECTS: Objects = {o.name.lower(): o for o in (ACCOUNT, OPPORTUNITY, ORGANIZATION)}

# Stage name -> (IsClosed, IsWon). Several names mean won, which is why integrations must
# filter on IsWon rather than on a stage string.
STAGES: dict[str, tuple[bool, bool]] = {
    "Prospecting": (False, False),
    "Qualification": (False, False),
    "Needs Analysis": (False, False),
    "Proposal": (False, False),
    "Negotiation": (False, False),
    "Closed Won": (True, True),
    "Signed": (True, True),
    "Closed Lost": (True, False),
}
CURRENCIES = ("USD", "EUR", "GBP", "JPY")


def objects_for(multi_currency: bool) -> Objects:
    """The object definitions of a multi-currency or a single-currency org."""
    if multi_currency:
        return OBJECTS
    return {**OBJECTS, "opportunity": OPPORTUNITY_SINGLE_CURRENCY}


def lookup(name: str, objects: Objects | None = None) -> ObjectDef | None:
    """Find an object case-insensitively (in `objects`, default the multi-currency org)."""
    return (OBJECTS if objects is None else objects).get(name.lower())
