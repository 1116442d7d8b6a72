"""Deterministic org contents: accounts with sub-organisations and their opportunities."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

from sfsync.sandbox.ids import ORG_ID, IdFactory
from sfsync.sandbox.schema import CURRENCIES
from sfsync.sandbox.values import Value

_ADJECTIVES = [
    "Acme",
    "Blue",
    "Bright",
    "Cedar",
    "Delta",
    "Ember",
    "Falcon",
    "Granite",
    "Harbor",
    "Iron",
    "Juniper",
    "Kite",
    "Lumen",
    "Maple",
    "Nimbus",
    "Orbit",
    "Pioneer",
    "Quartz",
    "Redwood",
    "Summit",
    "Tidal",
    "Umbra",
    "Vector",
    "Willow",
    "Xenon",
    "Yonder",
    "Zephyr",
]
_NOUNS = [
    "Analytics",
    "Robotics",
    "Logistics",
    "Health",
    "Foods",
    "Energy",
    "Systems",
    "Media",
    "Labs",
    "Capital",
    "Networks",
    "Motors",
    "Textiles",
    "Pharma",
    "Studios",
    "Bank",
    "Telecom",
    "Cloud",
    "Retail",
    "Aerospace",
]
_SUFFIXES = ("Inc", "Ltd", "GmbH", "SA", "Group", "Corp", "KK", "PLC")
_REGIONS = ("eu", "us", "uk", "de", "fr", "jp", "apac", "latam", "ca", "in", "au")
_ACCOUNT_TYPES = ("Customer - Direct", "Customer - Channel", "Prospect", "Partner", None)
_INDUSTRIES = ("Technology", "Finance", "Healthcare", "Retail", "Manufacturing", "Media", None)
_OPP_TYPES = ("New Business", "Existing Business", "Renewal", None)
# (stage, weight): roughly a third won under two different names, a fifth lost, rest open.
_STAGE_WEIGHTS = (
    ("Prospecting", 10),
    ("Qualification", 10),
    ("Needs Analysis", 7),
    ("Proposal", 10),
    ("Negotiation", 8),
    ("Closed Won", 28),
    ("Signed", 7),
    ("Closed Lost", 20),
)
WINDOW = timedelta(days=90)

Row = dict[str, Value]


def anchor_for(now: datetime) -> datetime:
    """Seed timestamps end at the start of the current UTC day, so one seed gives one org
    all day long while every seeded row is still in the past."""
    return datetime.combine(now.astimezone(UTC).date(), datetime.min.time(), UTC)


def _stamps(rng: random.Random, anchor: datetime) -> tuple[datetime, datetime]:
    created = anchor - timedelta(seconds=rng.randrange(int(WINDOW.total_seconds())))
    span = int((anchor - created).total_seconds())
    modified = created + timedelta(seconds=rng.randrange(span + 1))
    return created, modified


def _account(
    rng: random.Random,
    ident: str,
    name: str,
    alias: str | None,
    parent: str | None,
    anchor: datetime,
) -> Row:
    created, modified = _stamps(rng, anchor)
    billing = f"cus_{rng.getrandbits(48):012x}" if rng.random() < 0.3 else None
    return {
        "Id": ident,
        "Name": name,
        "ParentId": parent,
        "Type": rng.choice(_ACCOUNT_TYPES),
        "Industry": rng.choice(_INDUSTRIES),
        "Ingest_Alias__c": alias,
        "Billing_Customer_Id__c": billing,
        "CreatedDate": created,
        "LastModifiedDate": modified,
        "SystemModstamp": modified,
        "IsDeleted": False,
    }


def generate_accounts(
    rng: random.Random, factory: IdFactory, count: int, anchor: datetime
) -> list[Row]:
    """`count` accounts; about a quarter of top-level ones own 1-5 sub-organisations."""
    rows: list[Row] = []
    serial = 0
    while len(rows) < count:
        serial += 1
        base = f"{rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)}"
        name = f"{base} {rng.choice(_SUFFIXES)}"
        alias = f"{base.lower().replace(' ', '-')}-{serial}"
        parent_id = factory.new("Account")
        rows.append(_account(rng, parent_id, name, alias, None, anchor))
        if rng.random() < 0.25:
            children = min(rng.randint(1, 5), count - len(rows))
            for region in rng.sample(_REGIONS, children):
                child_name = f"{base} {region.upper()}"
                child_alias = f"{alias}-{region}"
                rows.append(
                    _account(
                        rng, factory.new("Account"), child_name, child_alias, parent_id, anchor
                    )
                )
    return rows


def generate_opportunities(
    rng: random.Random, factory: IdFactory, accounts: list[Row], count: int, anchor: datetime
) -> list[Row]:
    """`count` opportunities spread over `accounts`, in open, won and lost stages."""
    stages = [s for s, _ in _STAGE_WEIGHTS]
    weights = [w for _, w in _STAGE_WEIGHTS]
    picks = rng.choices(stages, weights, k=count)
    today = anchor.date()
    rows: list[Row] = []
    for i, stage in enumerate(picks):
        account = accounts[rng.randrange(len(accounts))] if accounts else None
        created, modified = _stamps(rng, anchor)
        currency = rng.choice(CURRENCIES)
        raw_amount = round(rng.uniform(500, 250_000), 2)
        if currency == "JPY":
            raw_amount = float(round(raw_amount * 150))
        amount = None if rng.random() < 0.03 else raw_amount
        closed = stage.startswith("Closed") or stage == "Signed"
        close: date = (
            min(created.date() + timedelta(days=rng.randint(0, 60)), today)
            if closed
            else today + timedelta(days=rng.randint(1, 120))
        )
        won = stage in ("Closed Won", "Signed")
        start: date | None = None
        term: float | None = None
        if won and rng.random() < 0.7:
            start = close + timedelta(days=rng.randint(0, 30))
            term = float(rng.choice((1, 6, 12, 12, 24, 36)))
        opp_type = rng.choice(_OPP_TYPES)
        account_name = account["Name"] if account else "Unassigned"
        rows.append(
            {
                "Id": factory.new("Opportunity"),
                "Name": f"{account_name} - {opp_type or 'Deal'} #{i + 1}",
                "AccountId": account["Id"] if account else None,
                "StageName": stage,
                "IsWon": won,
                "IsClosed": closed,
                "Amount": amount,
                "CurrencyIsoCode": currency,
                "CloseDate": close,
                "Type": opp_type,
                "Contract_Start_Date__c": start,
                "Contract_Term_Months__c": term,
                "CreatedDate": created,
                "LastModifiedDate": modified,
                "SystemModstamp": modified,
                "IsDeleted": False,
            }
        )
    return rows


def organization(now: datetime, currency: str, multi_currency: bool) -> Row:
    """The Organization row: the org's default currency and whether it has others."""
    anchor = anchor_for(now) - WINDOW
    return {
        "Id": ORG_ID,
        "Name": "Sandbox Org",
        "DefaultCurrencyIsoCode": currency,
        "IsMultiCurrencyOrg": multi_currency,
        "OrganizationType": "Enterprise Edition",
        "CreatedDate": anchor,
        "LastModifiedDate": anchor,
        "SystemModstamp": anchor,
    }


def generate(
    seed: int,
    accounts: int | None,
    opportunities: int,
    now: datetime,
    factory: IdFactory,
    multi_currency: bool = True,
) -> tuple[list[Row], list[Row]]:
    """Account and opportunity rows; the same arguments (and UTC day) give the same rows.

    A single-currency org gets the same rows without CurrencyIsoCode, which it lacks.
    """
    rng = random.Random(seed)
    anchor = anchor_for(now)
    n_accounts = accounts if accounts is not None else max(10, opportunities // 5)
    account_rows = generate_accounts(rng, factory, n_accounts, anchor)
    opp_rows = generate_opportunities(rng, factory, account_rows, opportunities, anchor)
    if not multi_currency:
        for row in opp_rows:
            del row["CurrencyIsoCode"]
    return account_rows, opp_rows
