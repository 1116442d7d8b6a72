"""`sfsync_stream_changes_total`: what each run created or changed, against the org's truth."""

from __future__ import annotations

from typing import Any

from sfsync.models.types import ApiScope
from sfsync.sandbox import SandboxOrg
from sfsync.sync.salesforce import SalesforceClient
from sfsync.sync.streams.accounts import poll_accounts
from sfsync.sync.streams.opportunities import poll_opportunities
from tests.api.conftest import LiveServer
from tests.api.scrape import Samples, scrape, value
from tests.unit.factories import build_settings

CHANGES = "sfsync_stream_changes_total"
KINDS = [
    ("customer", "created"),
    ("customer", "updated"),
    ("contract", "created"),
    ("contract", "updated"),
    ("contract", "ended"),
    ("contract", "archived"),
    ("alias", "added"),
]


def changes(samples: Samples, stream: str) -> dict[tuple[str, str], float]:
    return {
        (kind, change): value(samples, CHANGES, stream=stream, object=kind, change=change)
        for kind, change in KINDS
    }


def increase(
    before: dict[tuple[str, str], float], after: dict[tuple[str, str], float]
) -> dict[tuple[str, str], float]:
    """What a run added to each counter, zeros left out."""
    return {k: after[k] - before[k] for k in KINDS if after[k] != before[k]}


def test_changes_count_what_each_run_created_or_changed(server: LiveServer) -> None:
    """Three accounts with two won deals each and one deal without an account: the first run
    adds what the org holds; a run over an unchanged org adds 0 to every change; an edited
    amount and a renamed account add one change each. Read counts stay separate."""
    read_key = server.key(ApiScope.READ)
    with SandboxOrg(seed=22, opportunities=0) as org:
        accounts = [
            org.create("Account", {"Name": f"Counted {n}", "Ingest_Alias__c": f"counted-{n}"})
            for n in range(3)
        ]
        deals = [
            org.create(
                "Opportunity",
                {
                    "Name": f"Counted deal {a[-4:]}-{n}",
                    "StageName": "Closed Won",
                    "CloseDate": "2026-11-01",
                    "Amount": 100 + n,
                    "AccountId": a,
                },
            )
            for a in accounts
            for n in range(2)
        ]
        org.create(
            "Opportunity",
            {"Name": "Uncounted", "StageName": "Closed Won", "CloseDate": "2026-11-01"},
        )
        settings = build_settings(
            database_url=server.store.url,
            sf_instance_url=org.instance_url,
            sf_login_url=org.login_url,
            sf_consumer_key=org.consumer_key,
            sf_consumer_secret=org.consumer_secret,
            sf_alias_fields=["Ingest_Alias__c"],
        )
        client = SalesforceClient(settings)

        def step(poll: Any) -> tuple[dict[tuple[str, str], float], float, float]:
            stream = "opportunities" if poll is poll_opportunities else "accounts"
            before = scrape(server, read_key)
            assert poll(server.store, client, settings).status.value == "succeeded"
            after = scrape(server, read_key)
            read, lettered = (
                value(after, "sfsync_stream_records_total", stream=stream, outcome=o)
                - value(before, "sfsync_stream_records_total", stream=stream, outcome=o)
                for o in ("read", "dead_lettered")
            )
            return increase(changes(before, stream), changes(after, stream)), read, lettered

        first, read, lettered = step(poll_opportunities)
        assert first == {
            ("customer", "created"): len(accounts),
            ("contract", "created"): len(deals),
            # Each account's aliases: its own id and its Ingest_Alias__c value.
            ("alias", "added"): 2 * len(accounts),
        }
        assert (read, lettered) == (len(deals) + 1, 1)
        quiet, read, _ = step(poll_opportunities)
        assert quiet == {} and read > 0  # the lookback read them again; nothing changed
        quiet, read, _ = step(poll_accounts)
        assert quiet == {} and read >= len(accounts)  # every account of the org, first time

        org.update("Opportunity", deals[0], {"Amount": 999})
        edited, _, _ = step(poll_opportunities)
        assert edited == {("contract", "updated"): 1}
        org.update("Account", accounts[0], {"Name": "Counted, renamed"})
        renamed, _, _ = step(poll_accounts)
        assert renamed == {("customer", "updated"): 1}
