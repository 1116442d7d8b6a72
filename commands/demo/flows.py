"""Steps 5-8 of `sfsync demo`: usage per sub-organisation, retroactive attribution,
a dead letter and its replay.

Each function takes the shared `Steps` (narration, store, org and state) and acts the way
a producer, a sales rep or an operator would, then waits for the outcome in the store.
"""

from __future__ import annotations

import json

from rich.table import Table

from sfsync.commands.common import console
from sfsync.commands.demo.org import (
    BAD_DEAL,
    ENTERPRISE,
    ENTERPRISE_ALIAS,
    LATE_SUBORG,
    add_late_suborg,
    close_bad_deal,
    usage_events,
)
from sfsync.commands.demo.runtime import DemoFailed
from sfsync.commands.demo.steps import Steps, money
from sfsync.models import Entity, InvalidInput
from sfsync.models.contracts.records import get_contract
from sfsync.models.customers.fields import SFDC_OPPORTUNITY_ID, find_by_field
from sfsync.models.customers.records import find_customer
from sfsync.models.operations.deadletters import get_letter, list_letters
from sfsync.models.operations.runs import list_runs
from sfsync.models.types import DeadLetterSource, RunStatus, Stream, utcnow
from sfsync.models.usage.events import pending_keys, stored_events
from sfsync.models.usage.summary import GroupBy, summarize
from sfsync.tasks.names import INGEST_USAGE

__all__ = ["dead_letter", "fix_and_replay", "new_suborg", "usage_per_suborg"]

# --- 5. usage -----------------------------------------------------------------------


def usage_per_suborg(st: Steps) -> None:
    st.heading("Usage per sub-organisation")
    events = usage_events(utcnow(), "demo")
    path = st.data_dir / "usage-demo.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    late = LATE_SUBORG[1]
    st.say(
        f"Sending {len(events)} usage events keyed on sub-organisation aliases to the "
        f"worker (task {INGEST_USAGE}) — {sum(e['customer_id'] == late for e in events)} "
        f"of them for {late!r}, which no customer holds yet."
    )
    st.celery.send_task(INGEST_USAGE, args=[events])
    ids = [e["transaction_id"] for e in events]

    def settled() -> bool:
        with st.db().session() as s:
            stored = len(stored_events(s, ids)) == len(ids)
            return stored and [p.customer_key for p in pending_keys(s)] == [late]

    st.wait(settled, "the usage to be stored and attributed")
    usage_table(st)
    with st.db().session() as s:
        pending = pending_keys(s)
    table = Table("pending key", "events", "why")
    for p in pending:
        table.add_row(p.customer_key, str(p.events), "no customer holds this alias yet")
    console.print(table)
    st.say("Pending usage is kept, not dropped: it is attributed once the alias exists.")
    st.command("usage", "ingest", str(path), note="again: duplicates are counted once")
    st.command(
        "usage",
        "summary",
        ENTERPRISE_ALIAS,
        "--group-by",
        "alias",
        "--sum",
        "property:requests",
    )
    st.command("usage", "pending")


def usage_table(st: Steps) -> None:
    with st.db().session() as s:
        customer = find_customer(s, alias=ENTERPRISE_ALIAS)
        assert customer is not None
        rows = summarize(s, customer.id, group_by=[GroupBy("alias")], sums=["requests"])
    table = Table("sub-organisation (alias)", "events", "requests", title=ENTERPRISE)
    for r in rows:
        table.add_row(str(r.key["alias"]), str(r.events), format(r.sums["requests"], ",f"))
    table.add_row(
        "[bold]total",
        str(sum(r.events for r in rows)),
        format(sum(r.sums["requests"] for r in rows), ",f"),
    )
    console.print(table)


# --- 6. a new sub-organisation --------------------------------------------------------


def new_suborg(st: Steps) -> None:
    name, alias = LATE_SUBORG
    st.heading("A new sub-organisation in Salesforce (beat → poll_accounts)")
    added_at = utcnow()
    account_id = add_late_suborg(st.org, st.demo)
    st.say(
        f"A sales rep adds {name!r} ({account_id}, Ingest_Alias__c = {alias}) under "
        f"{ENTERPRISE} in Salesforce. Waiting for the account sync…"
    )

    def attached() -> bool:
        with st.db().session() as s:
            owner = find_customer(s, alias=alias)
            return (
                owner is not None
                and str(owner.id) == st.enterprise_customer
                and not pending_keys(s)
            )

    st.wait(attached, f"{alias!r} to be attached to {ENTERPRISE}")
    with st.db().session() as s:
        runs = [
            r
            for r in list_runs(s, stream=Stream.ACCOUNTS, limit=50)
            if r.aliases_added and r.status is RunStatus.SUCCEEDED and r.started_at >= added_at
        ]
        if runs:
            run = runs[0]
            st.say(
                f"Account run {run.id} ({run.trigger.value}) saw {run.records_seen} changed "
                f"account(s) and attached {run.aliases_added} alias(es) to {ENTERPRISE}; the "
                f"usage sent earlier for {alias!r} is now attributed (retroactively):"
            )
    usage_table(st)
    st.say("No pending usage is left.")
    st.command("sync", "run", "--stream", "accounts", note="what beat does every interval")
    st.command("runs", "list", "--stream", "accounts")
    st.command("usage", "pending")


# --- 7. a dead letter -----------------------------------------------------------------


def dead_letter(st: Steps) -> None:
    st.heading("A bad deal becomes a dead letter")
    st.bad_opportunity = close_bad_deal(st.org)
    st.say(
        f"Someone closes {BAD_DEAL!r} ({st.bad_opportunity}) as won but forgets the "
        "account. Waiting for the next poll…"
    )

    def lettered() -> int | None:
        with st.db().session() as s:
            for letter in list_letters(s, source=DeadLetterSource.OPPORTUNITY):
                if letter.reference == st.bad_opportunity:
                    return letter.id
        return None

    st.letter_id = st.wait(lettered, "the dead letter of the bad deal")
    with st.db().session() as s:
        letter = get_letter(s, st.letter_id)
        table = Table(show_header=False, title=f"dead letter {letter.id}")
        table.add_row("source", letter.source.value)
        table.add_row("reference", str(letter.reference))
        table.add_row("status", letter.status.value)
        table.add_row("attempts", str(letter.attempts))
        table.add_row("error", f"{letter.error_class}: {letter.error_message}")
    console.print(table)
    st.say("The rest of the page went on; nothing was dropped and the cursor moved on.")
    st.command("dlq", "list")
    st.command("dlq", "show", str(st.letter_id))


# --- 8. fix and replay ----------------------------------------------------------------


def fix_and_replay(st: Steps) -> None:
    # Task modules bind to the Celery app when imported: only now, after the demo's
    # settings built it (Steps.attach), do they bind to that one.
    from sfsync.tasks import context  # noqa: PLC0415 - after use_settings, see above
    from sfsync.tasks.replay import replay  # noqa: PLC0415 - after use_settings, see above

    st.heading("Fix it in Salesforce, replay the dead letter")
    st.org.update("Opportunity", st.bad_opportunity, {"AccountId": st.demo.enterprise_id})
    st.say(f"The account is set to {ENTERPRISE} in Salesforce; replaying letter {st.letter_id}…")
    # The same code as `sfsync dlq retry ID --inline`.
    context.configure(st.config())
    try:
        result = replay(st.letter_id)
    except InvalidInput:
        # The next scheduled poll read the fixed record first and closed the letter.
        result = {"replayed": True, "error": None, "by_poll": True}
    if not result["replayed"]:
        raise DemoFailed(f"the replay of dead letter {st.letter_id} failed: {result['error']}")
    with st.db().session() as s:
        letter = get_letter(s, st.letter_id)
        contract_id = find_by_field(s, Entity.CONTRACT, SFDC_OPPORTUNITY_ID, st.bad_opportunity)
        assert contract_id is not None, "the replay provisioned no contract"
        contract = get_contract(s, contract_id)
        st.say(
            f"Letter {letter.id} is now {letter.status.value}"
            + (" (by the scheduled poll)." if result.get("by_poll") else ".")
        )
        table = Table("new contract", "customer", "starts", "ends before", "amount")
        table.add_row(
            contract.name,
            ENTERPRISE,
            contract.starting_at.date().isoformat(),
            contract.ending_before.date().isoformat() if contract.ending_before else "-",
            money(contract.amount, contract.currency),
        )
    console.print(table)
    st.command("dlq", "retry", str(st.letter_id), "--inline", note="needs SFSYNC_SF_*")
    st.command("contracts", "list", "--customer", st.enterprise_customer)
