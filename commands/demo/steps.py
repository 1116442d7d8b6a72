"""Steps 1-4 of `sfsync demo` and the narration every step shares (headings, the
equivalent `sfsync` command, deadline waits).

Every step acts the way a user or Salesforce would (records change in the org, usage goes
to the worker through the broker, a dead letter is replayed through the `dlq retry
--inline` code path) and then waits, with a deadline, for the outcome in the store.
"""

from __future__ import annotations

import shlex
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.tree import Tree

from sfsync import celery_app
from sfsync.commands.common import console
from sfsync.commands.demo.org import (
    ENTERPRISE,
    ENTERPRISE_ALIAS,
    DemoOrg,
    seed,
)
from sfsync.commands.demo.runtime import Children, shell_line, wait_until
from sfsync.config import Settings
from sfsync.models import Entity, Store, open_store
from sfsync.models.aliases.lookups import aliases_for
from sfsync.models.contracts.records import list_contracts
from sfsync.models.customers.fields import SFDC_ACCOUNT_ID, fields_for
from sfsync.models.customers.records import list_customers
from sfsync.models.operations.runs import list_runs
from sfsync.models.tables import SyncRun
from sfsync.models.types import RunStatus, RunTrigger, Stream

if TYPE_CHECKING:
    from sfsync.sandbox import SandboxOrg

__all__ = ["Steps", "money"]

STEPS = 8
FIRST_SYNC_TIMEOUT = 90.0  # includes the worker's and beat's start-up
STEP_TIMEOUT = 45.0


class Steps:
    """The demo's narration and actions, in order; state flows from one step to the next."""

    def __init__(self, org: SandboxOrg, data_dir: Path, program: str, *, fast: bool) -> None:
        self.org = org
        self.data_dir = data_dir
        self.program = program
        self.fast = fast
        self.number = 0
        self.demo = DemoOrg()
        self.settings: Settings | None = None
        self.store: Store | None = None
        self.children: Children | None = None
        self.env: dict[str, str] = {}
        self.celery: Any = None
        self.enterprise_customer = ""
        self.letter_id = 0
        self.bad_opportunity = ""

    # --- narration ---------------------------------------------------------------------

    def heading(self, title: str) -> None:
        self.number += 1
        console.print()
        console.rule(f"[bold]Step {self.number}/{STEPS} · {title}", align="left")

    def say(self, text: str) -> None:
        console.print(text, highlight=False)

    def command(self, *args: str, note: str = "") -> None:
        """The `sfsync` command that does or shows the same, for the reader to repeat."""
        line = shlex.join([self.program, "--data-dir", str(self.data_dir), *args])
        suffix = f"   [dim]# {note}[/]" if note else ""
        console.print(f"  [cyan]$ {line}[/]{suffix}", highlight=False, soft_wrap=True)

    def _sibling(self, name: str) -> str:
        # `.venv/bin/sfsync` → `.venv/bin/celery`: the reader's shell finds the same install.
        return str(Path(self.program).with_name(name)) if "/" in self.program else name

    # --- wiring ------------------------------------------------------------------------

    def attach(self, settings: Settings, children: Children, env: dict[str, str]) -> None:
        """Settings, child processes and the store; the store migrates before any child."""
        self.settings = settings
        self.children = children
        self.env = env
        self.store = open_store(settings.store_url)
        # The module's app (and every task imported later) uses the demo's settings.
        self.celery = celery_app.use_settings(settings)

    def db(self) -> Store:
        assert self.store is not None, "attach() first"
        return self.store

    def wait(self, condition: Any, what: str, timeout: float = STEP_TIMEOUT) -> Any:
        return wait_until(condition, what=what, timeout=timeout, children=self.children)

    # --- 1. the org ---------------------------------------------------------------------

    def start_org(self) -> None:
        self.heading("A Salesforce org (the sandbox, in this process)")
        self.org.start()
        self.demo = seed(self.org)
        self.say(
            f"Serving a Salesforce-compatible org at {self.org.instance_url} (REST query, "
            "sObjects, OAuth) with an enterprise, its sub-organisations and "
            f"{len(self.demo.account_ids) - 1} other companies."
        )
        tree = Tree(f"[bold]{ENTERPRISE}[/] {self.demo.enterprise_id} ({ENTERPRISE_ALIAS})")
        for alias, account_id in self.demo.suborg_ids.items():
            tree.add(f"{account_id}  Ingest_Alias__c = {alias}")
        console.print(tree)
        kinds: dict[str, list[tuple[str, str]]] = {"won": [], "lost": [], "open": []}
        for record in self.org.store.rows("Opportunity"):
            v = record.values
            kind = "won" if v["IsWon"] else "lost" if v["IsClosed"] else "open"
            kinds[kind].append((str(v["StageName"]), str(v["CurrencyIsoCode"])))
        table = Table("opportunities", "count", "stages", "currencies")
        for kind, seen in kinds.items():
            stages = ", ".join(sorted({stage for stage, _ in seen}))
            table.add_row(kind, str(len(seen)), stages, ", ".join(sorted({c for _, c in seen})))
        console.print(table)
        self.say("A similar (generated) org can be served on its own with:")
        console.print(
            f"  [cyan]$ {self.program} sandbox --opportunities 25 --port 8765[/]",
            highlight=False,
        )

    # --- 2. worker and beat -------------------------------------------------------------

    def start_workers(self) -> None:
        assert self.children is not None
        self.heading("A Celery worker and beat on the embedded broker")
        self.say(
            f"Data folder {self.data_dir}: a SQLite store (sfsync.db) and kombu's filesystem "
            "broker (broker/) — no Redis, no PostgreSQL. Beat polls Salesforce every "
            f"{self.config().poll_interval}s here (SFSYNC_POLL_INTERVAL; 300 by default)."
        )
        self.children.start(
            "worker",
            "worker",
            "-Q",
            "sync,usage,default",
            "-c",
            "2",
            "--loglevel",
            "INFO",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
        )
        self.children.start("beat", "beat", "--loglevel", "INFO")
        shown = {
            k: v
            for k, v in self.env.items()
            if k in ("SFSYNC_DATA_DIR", "SFSYNC_POLL_INTERVAL", "SFSYNC_USAGE_SWEEP_INTERVAL")
        }
        celery = self._sibling("celery")
        for args in (["worker", "-Q", "sync,usage,default"], ["beat"]):
            line = shell_line(shown, celery, "-A", "celery_app", *args)
            console.print(f"  [cyan]$ {line}[/]", highlight=False, soft_wrap=True)
        self.say(
            "  [dim]# plus the SFSYNC_SF_* settings of the org (see --keep-running); "
            f"logs in {self.data_dir / 'logs'}[/]"
        )

    def config(self) -> Settings:
        assert self.settings is not None
        return self.settings

    # --- 3. the first scheduled sync -----------------------------------------------------

    def first_sync(self) -> None:
        self.heading("The first scheduled sync (beat → poll_opportunities)")
        self.say("Waiting for beat's first poll of closed-won opportunities to succeed…")
        began = time.monotonic()

        def succeeded() -> SyncRun | None:
            with self.db().session() as s:
                for run in list_runs(s, stream=Stream.OPPORTUNITIES, limit=20):
                    if (
                        run.trigger is RunTrigger.BEAT
                        and run.status is RunStatus.SUCCEEDED
                        and run.records_seen
                    ):
                        s.expunge(run)
                        return run
            return None

        run = self.wait(succeeded, "the first beat-triggered sync", FIRST_SYNC_TIMEOUT)
        self.say(
            f"Run {run.id} ({run.trigger.value}, {run.status.value}) after "
            f"{time.monotonic() - began:.1f}s: {run.records_seen} won opportunities read with "
            f"{run.api_calls} API calls → {run.customers_created} customers, "
            f"{run.contracts_created} contracts, {run.aliases_added} ingest aliases. Lost and "
            "open deals were never read: the query filters on IsWon, not on a stage name."
        )
        self.command("runs", "list")
        self.command("sync", "status")

    # --- 4. customers and contracts ------------------------------------------------------

    def customers_and_contracts(self) -> None:
        self.heading("Customers and their contracts")
        with self.db().session() as s:
            customers = list_customers(s)
            fields = fields_for(s, Entity.CUSTOMER, [c.id for c in customers])
            aliases = aliases_for(s, [c.id for c in customers])
            names = {c.id: c.name for c in customers}
            contracts = list_contracts(s)
        table = Table("customer", "sfdc_account_id", "ingest aliases", "contracts")
        table.columns[1].no_wrap = True
        per_customer: dict[uuid.UUID, int] = {}
        for k in contracts:
            per_customer[k.customer_id] = per_customer.get(k.customer_id, 0) + 1
        for c in sorted(customers, key=lambda c: (c.name != ENTERPRISE, c.name)):
            if c.name == ENTERPRISE:
                self.enterprise_customer = str(c.id)
            # Alias-field values first, then the account ids (also aliases by default).
            shown = sorted(aliases[c.id], key=lambda a: (a.startswith("001"), a))
            table.add_row(
                c.name,
                fields[c.id].get(SFDC_ACCOUNT_ID, "-"),
                "\n".join(shown),
                str(per_customer.get(c.id, 0)),
            )
        console.print(table)
        self.say(
            f"{ENTERPRISE} is customer {self.enterprise_customer}. Each customer carries its "
            "account id in the sfdc_account_id custom field; its ingest aliases are the "
            "account's id and Ingest_Alias__c value and those of every sub-organisation "
            "(child account)."
        )
        table = Table("customer", "contract", "starts", "ends before", "amount")
        for k in contracts:
            name = names.get(k.customer_id, "?")
            table.add_row(
                name,
                k.name.removeprefix(f"{name} - "),
                k.starting_at.date().isoformat(),
                k.ending_before.date().isoformat() if k.ending_before else "-",
                money(k.amount, k.currency),
            )
        console.print(table)
        self.command("customers", "list")
        self.command("customers", "show", "--sfdc-account-id", self.demo.enterprise_id)
        self.command("contracts", "list")

    # --- the end ------------------------------------------------------------------------

    def finish(self, elapsed: float) -> None:
        console.print()
        console.rule("[bold green]Demo complete", align="left")
        self.say(
            f"All {STEPS} steps in {elapsed:.1f}s: sync, usage attribution through aliases, "
            "retroactive association and dead-letter replay, on one machine with nothing "
            "installed. The README covers connecting a real org and running in production."
        )

    def close(self) -> None:
        if self.store is not None:
            self.store.close()

    def keep_running(self) -> None:
        assert self.children is not None
        console.print()
        console.rule("[bold]Still running (Ctrl-C to stop)", align="left")
        self.say("The worker, beat and sandbox org stay up. In another shell:")
        for name, value in self.env.items():
            console.print(f"export {name}={shlex.quote(value)}", highlight=False, soft_wrap=True)
        self.say(
            f"then e.g. `{self.program} customers list` or `{self.program} sync run --inline`."
        )
        while True:
            self.children.check()
            time.sleep(0.5)


def money(amount: Decimal | None, currency: str) -> str:
    """`96,000 USD`: exact digits, no exponent (stored amounts are plain Decimals)."""
    return f"{format(amount, ',f')} {currency}" if amount is not None else f"- {currency}"
