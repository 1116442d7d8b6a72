"""The demo's data: a small, realistic org (accounts and opportunities) and its usage.

WidgetsExpress is an enterprise with three sub-organisations, each an account of its own
under it with an `Ingest_Alias__c` value (`widgets-eu`, `widgets-us`, `widgets-apac`); ten
other companies buy, lose and negotiate deals in four currencies. A fourth sub-organisation
(`widgets-latam`) is added later in the demo, after usage keyed on it has already arrived.

Records are created through the sandbox's write path (`org.create`), in an org that starts
empty, with back-dated timestamps so the org looks like weeks of sales history.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sfsync.sandbox import SandboxOrg

__all__ = [
    "BAD_DEAL",
    "ENTERPRISE",
    "ENTERPRISE_ALIAS",
    "LATE_SUBORG",
    "DemoOrg",
    "add_late_suborg",
    "close_bad_deal",
    "seed",
    "usage_events",
]

ENTERPRISE = "WidgetsExpress"
ENTERPRISE_ALIAS = "widgetsexpress"
SUBORGS = (
    ("WidgetsExpress Europe", "widgets-eu"),
    ("WidgetsExpress Americas", "widgets-us"),
    ("WidgetsExpress Asia-Pacific", "widgets-apac"),
)
# Usage for this alias arrives before the sub-organisation exists in Salesforce.
LATE_SUBORG = ("WidgetsExpress Latin America", "widgets-latam")
# A deal closed without its account: it becomes a dead letter until someone sets it.
BAD_DEAL = "WidgetsExpress - LATAM launch"

# (name, alias or None)
OTHER_ACCOUNTS = (
    ("Globex Corporation", "globex"),
    ("Initech", "initech"),
    ("Umbrella Health Ltd", "umbrella"),
    ("Stark Logistics GmbH", "stark-logistics"),
    ("Wayne Retail Group", None),
    ("Tyrell Robotics KK", "tyrell"),
    ("Soylent Foods SA", None),
    ("Cyberdyne Systems", "cyberdyne"),
    ("Hooli Cloud", "hooli"),
    ("Vandelay Industries", None),
)

# (account, deal, stage, amount, currency, days since close (negative: in the future), term)
OPPORTUNITIES: tuple[tuple[str, str, str, float, str, int, float | None], ...] = (
    (ENTERPRISE, "Platform - enterprise tier", "Closed Won", 240_000, "USD", 40, 36),
    (ENTERPRISE, "EU data residency add-on", "Signed", 38_500, "EUR", 12, 12),
    (ENTERPRISE, "APAC seats expansion", "Negotiation", 52_000, "USD", -21, None),
    ("Globex Corporation", "Annual subscription", "Closed Won", 96_000, "USD", 55, 12),
    ("Globex Corporation", "Premium support", "Closed Lost", 14_000, "USD", 30, None),
    ("Initech", "Starter plan", "Closed Won", 12_400, "USD", 25, 12),
    ("Initech", "TPS reporting module", "Proposal", 8_000, "USD", -14, None),
    ("Umbrella Health Ltd", "Clinical analytics", "Closed Won", 71_250, "GBP", 33, 24),
    ("Umbrella Health Ltd", "Lab integrations", "Qualification", 19_000, "GBP", -45, None),
    ("Stark Logistics GmbH", "Fleet telemetry", "Signed", 64_800, "EUR", 18, 12),
    ("Stark Logistics GmbH", "Warehouse pilot", "Closed Lost", 9_900, "EUR", 50, None),
    ("Wayne Retail Group", "Point-of-sale rollout", "Closed Lost", 130_000, "USD", 41, None),
    ("Wayne Retail Group", "Loyalty analytics", "Needs Analysis", 45_000, "USD", -30, None),
    ("Tyrell Robotics KK", "Factory metering", "Closed Won", 9_600_000, "JPY", 9, 12),
    ("Tyrell Robotics KK", "Replicant QA", "Prospecting", 3_000_000, "JPY", -60, None),
    ("Soylent Foods SA", "Supply chain suite", "Closed Lost", 27_000, "EUR", 22, None),
    ("Soylent Foods SA", "Renewal", "Negotiation", 31_000, "EUR", -10, None),
    ("Cyberdyne Systems", "Edge compute", "Closed Won", 185_000, "USD", 6, 36),
    ("Cyberdyne Systems", "Security audit", "Closed Lost", 22_000, "USD", 15, None),
    ("Hooli Cloud", "Usage-based plan", "Closed Won", 48_000, "USD", 3, 12),
    ("Hooli Cloud", "Nucleus compression", "Proposal", 75_000, "USD", -35, None),
    ("Vandelay Industries", "Import tracking", "Closed Lost", 5_500, "USD", 28, None),
    ("Vandelay Industries", "Export tracking", "Prospecting", 6_000, "USD", -90, None),
    (ENTERPRISE, "Legacy migration", "Closed Lost", 18_000, "USD", 60, None),
    ("Globex Corporation", "Expansion 2027", "Qualification", 150_000, "USD", -75, None),
)


@dataclass
class DemoOrg:
    """Ids of the records the demo talks about."""

    enterprise_id: str = ""
    suborg_ids: dict[str, str] = field(default_factory=dict)  # alias → account id
    account_ids: dict[str, str] = field(default_factory=dict)  # name → account id
    opportunities: int = 0
    won: int = 0


def _stamps(now: datetime, days_ago: float) -> dict[str, Any]:
    # Back-dated system timestamps: the first sync reads history, not just-now edits.
    when = (now - timedelta(days=days_ago)).replace(microsecond=0)
    return {"CreatedDate": when, "LastModifiedDate": when, "SystemModstamp": when}


def seed(org: SandboxOrg) -> DemoOrg:
    """Create the demo's accounts and opportunities in an empty org."""
    now = org.clock.now()
    out = DemoOrg()
    out.enterprise_id = org.create(
        "Account",
        {
            "Name": ENTERPRISE,
            "Type": "Customer - Direct",
            "Industry": "Retail",
            "Ingest_Alias__c": ENTERPRISE_ALIAS,
            **_stamps(now, 120),
        },
    )
    out.account_ids[ENTERPRISE] = out.enterprise_id
    for i, (name, alias) in enumerate(SUBORGS):
        out.suborg_ids[alias] = org.create(
            "Account",
            {
                "Name": name,
                "ParentId": out.enterprise_id,
                "Ingest_Alias__c": alias,
                "Type": "Customer - Direct",
                **_stamps(now, 110 - i),
            },
        )
    for i, (company, company_alias) in enumerate(OTHER_ACCOUNTS):
        out.account_ids[company] = org.create(
            "Account",
            {
                "Name": company,
                "Ingest_Alias__c": company_alias,
                "Type": "Prospect",
                **_stamps(now, 100 - i),
            },
        )
    today = now.date()
    for account, deal, stage, amount, currency, closed_days_ago, term in OPPORTUNITIES:
        close: date = today - timedelta(days=closed_days_ago)
        fields: dict[str, Any] = {
            "Name": f"{account} - {deal}",
            "AccountId": out.account_ids[account],
            "StageName": stage,
            "Amount": amount,
            "CurrencyIsoCode": currency,
            "CloseDate": close.isoformat(),
            "Type": "New Business",
            **_stamps(now, max(closed_days_ago, 1)),
        }
        if term is not None:
            fields["Contract_Term_Months__c"] = term
        org.create("Opportunity", fields)
        out.opportunities += 1
        out.won += stage in ("Closed Won", "Signed")
    return out


def add_late_suborg(org: SandboxOrg, demo: DemoOrg) -> str:
    """The sub-organisation a sales rep adds under WidgetsExpress after the deal closed."""
    name, alias = LATE_SUBORG
    account_id = org.create(
        "Account",
        {"Name": name, "ParentId": demo.enterprise_id, "Ingest_Alias__c": alias},
    )
    demo.suborg_ids[alias] = account_id
    return account_id


def close_bad_deal(org: SandboxOrg) -> str:
    """A deal marked won with no account on it (a common data-entry slip)."""
    return org.create(
        "Opportunity",
        {
            "Name": BAD_DEAL,
            "StageName": "Closed Won",
            "Amount": 27_000,
            "CurrencyIsoCode": "USD",
            "CloseDate": org.clock.now().date().isoformat(),
            "Type": "Existing Business",
            "Contract_Term_Months__c": 12.0,
        },
    )


def usage_events(now: datetime, batch: str) -> list[dict[str, Any]]:
    """API-call events from each WidgetsExpress sub-organisation (and the late one).

    Deterministic per batch name, so the numbers in the demo's tables are stable; every
    timestamp lies in the last day (well within the accepted 34-day window).
    """
    plan = {
        "widgets-eu": (6, 1200),
        "widgets-us": (9, 800),
        "widgets-apac": (4, 1500),
        LATE_SUBORG[1]: (5, 300),
        "globex": (3, 2000),
    }
    events: list[dict[str, Any]] = []
    for key, (count, requests) in plan.items():
        for i in range(count):
            at = (now - timedelta(hours=20) + timedelta(minutes=37 * i)).astimezone(UTC)
            events.append(
                {
                    "transaction_id": f"{batch}-{key}-{i:03d}",
                    "customer_id": key,
                    "event_type": "api_call",
                    "timestamp": at.isoformat(timespec="seconds"),
                    "properties": {"requests": requests + 10 * i, "region": key.split("-")[-1]},
                }
            )
    return events
