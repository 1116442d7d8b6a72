"""The console in a real headless Chromium, against a live server and a real worker.

Debian's chromium (`apt-get install chromium`, `.ci/run` does it) driven by playwright with
its `executable_path`; nothing is downloaded at run time.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from sfsync.models import Store
from sfsync.models.customers.fields import SFDC_OPPORTUNITY_ID
from sfsync.models.operations.api_keys import create_key
from sfsync.models.tables import Contract, CustomFieldValue, DeadLetter, SyncRun
from sfsync.models.types import ApiScope, DeadLetterStatus, Entity, RunStatus
from sfsync.sandbox import SandboxOrg
from sfsync.tasks import names
from tests.api.conftest import ROOT, start_server, stop_server
from tests.worker.conftest import Launch

pytestmark = pytest.mark.worker

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PAGES = ("", "/runs", "/letters", "/usage", "/customers")


@pytest.fixture
def browser() -> Iterator[Any]:
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is required at /usr/bin/chromium (apt-get install chromium)")
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Shots:
    """A screenshot of each page visited, under the test's tmp dir."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.taken: list[Path] = []

    def take(self, page: Any, name: str) -> Path:
        path = self.folder / f"{len(self.taken):02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        self.taken.append(path)
        return path


def open_letter_for(store: Store, reference: str) -> DeadLetter | None:
    with store.session() as s:
        return s.scalars(
            select(DeadLetter).where(
                DeadLetter.reference == reference, DeadLetter.status == DeadLetterStatus.OPEN
            )
        ).first()


def contract_for(store: Store, opportunity_id: str) -> Contract | None:
    with store.session() as s:
        contract_id = s.scalar(
            select(CustomFieldValue.entity_id).where(
                CustomFieldValue.entity == Entity.CONTRACT,
                CustomFieldValue.key == SFDC_OPPORTUNITY_ID,
                CustomFieldValue.value == opportunity_id,
            )
        )
        return s.get(Contract, contract_id) if contract_id else None


def succeeded_run(store: Store) -> bool:
    with store.session() as s:
        return (
            s.scalars(select(SyncRun).where(SyncRun.status == RunStatus.SUCCEEDED)).first()
            is not None
        )


def sign_in(page: Any, url: str, token: str) -> None:
    page.goto(f"{url}/console/login")
    page.fill("#key", token)
    page.click("#sign-in")
    page.wait_for_url(re.compile(r".*/console$"))


@pytest.mark.parametrize("backend", ["postgres"])
def test_an_operator_replays_and_discards_letters_in_chromium(
    store: Store, launch: Launch, browser: Any, tmp_path: Path
) -> None:
    """Sign in, replay a worker's letter (contract created), discard one, search by alias."""
    shots = Shots(tmp_path / "screens")
    with SandboxOrg(seed=9, opportunities=0) as org:
        account = org.create("Account", {"Name": "Browser Co", "Ingest_Alias__c": "browser-co-eu"})
        deal = {"StageName": "Closed Won", "CloseDate": "2026-11-01", "Amount": 1200.0}
        fixable = org.create("Opportunity", {"Name": "Fixable <b>deal</b>", **deal})
        junk = org.create("Opportunity", {"Name": "Junk deal", **deal})
        waiting = org.create("Opportunity", {"Name": "Waiting deal", **deal})
        procs = launch(org)
        procs.worker()
        for opp in (fixable, junk, waiting):
            procs.enqueue(names.PROVISION_OPPORTUNITY, opportunity_id=opp)
        procs.wait_for(
            lambda: all(open_letter_for(store, opp) for opp in (fixable, junk, waiting)),
            what="the worker's dead letters for the three orphans",
        )
        server, url = start_server(procs.env, tmp_path / "serve.log")
        try:
            with store.session() as s:
                admin = create_key(s, "operator", ApiScope.ADMIN).token
                reader = create_key(s, "viewer", ApiScope.READ).token
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()

            # Signed out, every page is the sign-in form.
            for path in PAGES:
                page.goto(f"{url}/console{path}")
                assert "/console/login" in page.url, path
                assert page.locator("#key").count() == 1
            assert "Browser Co" not in page.content()
            shots.take(page, "sign-in")

            sign_in(page, url, admin)
            assert page.locator("#streams").count() == 1
            overview = shots.take(page, "overview")

            # Find the fixable deal's letter in the list and open it.
            page.goto(f"{url}/console/letters?source=salesforce.opportunity")
            row = page.locator("#letters tr", has_text=fixable)
            row.locator("a").click()
            assert page.locator("#letter-reference").inner_text() == fixable
            assert page.locator("#letter-status").inner_text() == "open"
            shots.take(page, "letter")

            # Fix the cause in Salesforce, then Replay: the worker provisions the deal.
            org.update("Opportunity", fixable, {"AccountId": account})
            page.click("#replay")
            page.wait_for_url(re.compile(r".*replay=enqueued"))

            def replayed() -> bool:
                page.reload()
                return bool(page.locator("#letter-status").inner_text() == "replayed")

            procs.wait_for(replayed, what="the letter to show as replayed")
            shots.take(page, "letter-replayed")
            contract = procs.wait_for(lambda: contract_for(store, fixable), what="the contract")
            assert contract.amount == 1200

            # Discard the junk one with a reason.
            page.goto(f"{url}/console/letters")
            page.locator("#letters tr", has_text=junk).locator("a").click()
            page.fill("#discard-reason-input", "test deal, deleted in Salesforce")
            page.click("#discard")
            assert page.locator("#letter-status").inner_text() == "discarded"
            assert (
                page.locator("#discard-reason").inner_text() == "test deal, deleted in Salesforce"
            )
            shots.take(page, "letter-discarded")

            # Search the customer by its alias; its page lists the alias and the contract.
            page.goto(f"{url}/console/customers")
            page.fill("#q", "browser-co-eu")
            page.click("#search")
            shots.take(page, "customer-search")
            page.locator("#customers a", has_text="Browser Co").click()
            assert page.locator("#customer-name").inner_text() == "Browser Co"
            assert "browser-co-eu" in page.locator("#aliases").inner_text()
            assert "Fixable <b>deal</b>" in page.locator("#contracts").inner_text()
            shots.take(page, "customer")
            for path in ("/runs", "/usage"):
                page.goto(f"{url}/console{path}")
                shots.take(page, path.strip("/"))
            # A poll and some pending usage, so the overview (and the README's shot) has both.
            procs.enqueue(names.POLL_OPPORTUNITIES, trigger="manual")
            procs.wait_for(lambda: succeeded_run(store), what="a succeeded poll")
            with store.session() as s:
                ingest_key = create_key(s, "producer", ApiScope.INGEST).token
            events = [
                {
                    "transaction_id": f"browser-{n}",
                    "customer_id": "not-yet-attached",
                    "event_type": "api_call",
                    "timestamp": datetime.now(UTC).isoformat(),
                }
                for n in range(3)
            ]
            headers = {"Authorization": f"Bearer {ingest_key}"}
            assert httpx.post(f"{url}/v1/ingest", json=events, headers=headers).status_code == 200
            page.goto(f"{url}/console")
            assert "not-yet-attached" in page.content()
            page.screenshot(path=str(overview), full_page=True)
            page.click("text=Sign out")
            assert "/console/login" in page.url

            # A read key sees the letters but no buttons; a forged POST is refused.
            sign_in(page, url, reader)
            letter = open_letter_for(store, waiting)
            assert letter is not None
            page.goto(f"{url}/console/letters/{letter.id}")
            assert page.locator("#replay").count() == 0
            assert page.locator("#discard").count() == 0
            shots.take(page, "letter-read-only")
            csrf = page.locator("input[name=csrf]").first.get_attribute("value")
            forged = page.request.post(
                f"{url}/console/letters/{letter.id}/replay", form={"csrf": csrf or ""}
            )
            assert forged.status == 403
            assert open_letter_for(store, waiting) is not None
            context.close()
        finally:
            stop_server(server)
    # The README's screenshot is refreshed on request, so a test run leaves the tree clean.
    if os.environ.get("SFSYNC_TEST_UPDATE_SCREENSHOTS") == "1":
        shutil.copyfile(overview, ROOT / "docs" / "console-overview.png")
    assert all(p.stat().st_size > 0 for p in shots.taken)
