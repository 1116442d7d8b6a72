"""Usage ingest, transient retries and dead-letter replay through a real worker on Redis."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from sfsync.cli import main
from sfsync.models import Store
from sfsync.models.aliases.attribution import attributed_customer
from sfsync.models.customers.records import create_customer
from sfsync.models.operations.task_runtimes import read_task_runtimes
from sfsync.models.tables import Customer, DeadLetter, IngestAlias, SyncRun, UsageEvent
from sfsync.models.types import DeadLetterSource, DeadLetterStatus, RunStatus, TaskRunOutcome
from sfsync.sandbox import SandboxOrg
from sfsync.tasks import names
from tests.worker.conftest import Launch

pytestmark = pytest.mark.worker


def event(n: int, key: str) -> dict[str, object]:
    at = datetime.now(UTC) - timedelta(hours=1)
    return {
        "transaction_id": f"tx-{n}",
        "customer_id": key,
        "event_type": "api_call",
        "timestamp": at.isoformat(),
        "properties": {"n": n},
    }


@pytest.mark.parametrize("backend", ["postgres"])
def test_usage_ingest_task_stores_and_attributes_events(
    store: Store,
    launch: Launch,
) -> None:
    """Batches sent with send_task are stored once each, attributed, and rejects dead-lettered."""
    with store.session() as s:
        customer = create_customer(s, "Acme", aliases=["acme-eu"]).id
    with SandboxOrg(seed=1, opportunities=0) as org:
        procs = launch(org)
        procs.worker()
        batch = [event(i, "acme-eu") for i in range(50)] + [{"transaction_id": "bad"}]
        procs.enqueue(names.INGEST_USAGE, batch)
        procs.enqueue(names.INGEST_USAGE, batch[:25])  # a producer's retry: duplicates

        def done() -> bool:
            with store.session() as s:
                stored = s.scalar(select(func.count()).select_from(UsageEvent)) or 0
                letters = s.scalar(select(func.count()).select_from(DeadLetter)) or 0
            return stored == 50 and letters == 1

        procs.wait_for(done, what="50 events and 1 dead letter")
    with store.session() as s:
        owners = set(s.scalars(select(attributed_customer(s))))
    assert owners == {customer}


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_an_unstorable_event_in_a_task_is_one_letter_and_the_rest_is_stored(
    store: Store,
    launch: Launch,
) -> None:
    """A lone surrogate in one event's transaction_id: that event is a usage-event letter,
    the others of its message are stored, and no task letter is written."""
    with SandboxOrg(seed=1, opportunities=0) as org:
        procs = launch(org)
        procs.worker()
        bad = event(99, "acme-eu") | {"transaction_id": "bad\ud800"}
        procs.enqueue(names.INGEST_USAGE, [event(1, "k"), bad, event(2, "k")])

        def done() -> bool:
            with store.session() as s:
                stored = s.scalar(select(func.count()).select_from(UsageEvent)) or 0
                letters = s.scalar(select(func.count()).select_from(DeadLetter)) or 0
            return stored == 2 and letters == 1

        procs.wait_for(done, what="2 events and 1 dead letter")
    with store.session() as s:
        letter = s.scalars(select(DeadLetter)).one()
    assert (letter.source, letter.reference) == (DeadLetterSource.USAGE_EVENT, "bad\\ud800")


@pytest.mark.parametrize("backend", ["postgres"])
def test_transient_failures_are_retried_by_the_task_until_success(
    store: Store,
    launch: Launch,
) -> None:
    """503s beyond the client's retries fail the run; the task retries and a run succeeds."""
    with SandboxOrg(seed=2, opportunities=30) as org:
        procs = launch(org, SFSYNC_SF_RETRY_ATTEMPTS="2")
        org.faults.fail_next(4, "503")
        procs.worker()
        procs.enqueue(names.POLL_OPPORTUNITIES, trigger="manual")

        def statuses() -> list[RunStatus]:
            with store.session() as s:
                return list(s.scalars(select(SyncRun.status).order_by(SyncRun.id)))

        runs = procs.wait_for(
            lambda: (x := statuses()) and x[-1] is RunStatus.SUCCEEDED and x,
            what="a successful run after failures",
        )
    assert RunStatus.FAILED in runs
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(DeadLetter)) == 0


@pytest.mark.parametrize("backend", ["postgres"])
def test_dlq_retry_enqueues_a_replay_the_worker_performs(
    store: Store,
    launch: Launch,
) -> None:
    """`sfsync dlq retry ID` (no --inline) is replayed by the worker and marked replayed."""
    with SandboxOrg(seed=2, opportunities=0) as org:
        account = org.create("Account", {"Name": "Later Ltd"})
        opp = org.create(
            "Opportunity",
            {"Name": "Orphan", "StageName": "Closed Won", "CloseDate": "2026-11-01", "Amount": 9.0},
        )
        procs = launch(org)
        procs.worker()
        procs.enqueue(names.PROVISION_OPPORTUNITY, opportunity_id=opp)

        def letter_ids() -> list[int]:
            with store.session() as s:
                return list(s.scalars(select(DeadLetter.id)))

        (letter_id,) = procs.wait_for(letter_ids, what="the orphan's dead letter")
        org.update("Opportunity", opp, {"AccountId": account})
        cli_env = {k: v for k, v in procs.env.items() if k.startswith("SFSYNC_")}
        result = CliRunner().invoke(main, ["dlq", "retry", str(letter_id), "--json"], env=cli_env)
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["enqueued"][0]["letter_id"] == letter_id

        def replayed() -> bool:
            with store.session() as s:
                letter = s.get(DeadLetter, letter_id)
                return letter is not None and letter.status is DeadLetterStatus.REPLAYED

        procs.wait_for(replayed, what="the letter to be replayed")


@pytest.mark.parametrize("backend", ["postgres"])
def test_a_replay_that_fails_on_the_worker_is_a_failed_task_and_keeps_the_letter(
    store: Store,
    launch: Launch,
) -> None:
    """`dlq retry` of a deal still without an account: the worker's replay task is tallied
    `failed`, writes no letter of its own, and the letter keeps its first error, the new one
    in its history with who asked."""
    with SandboxOrg(seed=2, opportunities=0) as org:
        opp = org.create(
            "Opportunity",
            {"Name": "Orphan", "StageName": "Closed Won", "CloseDate": "2026-11-01", "Amount": 9.0},
        )
        procs = launch(org)
        procs.worker()
        procs.enqueue(names.PROVISION_OPPORTUNITY, opportunity_id=opp)

        def letter_ids() -> list[int]:
            with store.session() as s:
                return list(s.scalars(select(DeadLetter.id)))

        (letter_id,) = procs.wait_for(letter_ids, what="the orphan's dead letter")
        with store.session() as s:
            first = s.get(DeadLetter, letter_id)
            assert first is not None
            first_error = (first.error_class, first.error_message)
        cli_env = {k: v for k, v in procs.env.items() if k.startswith("SFSYNC_")}
        result = CliRunner().invoke(main, ["dlq", "retry", str(letter_id), "--json"], env=cli_env)
        assert result.exit_code == 0, result.output

        def failed_replays() -> int:
            with store.reader() as s:
                return sum(
                    r.histogram.count
                    for r in read_task_runtimes(s)
                    if (r.task, r.outcome) == (names.REPLAY_LETTER, TaskRunOutcome.FAILED)
                )

        procs.wait_for(failed_replays, what="the failed replay's runtime")
    with store.session() as s:
        (letter,) = s.scalars(select(DeadLetter)).all()
        assert (letter.error_class, letter.error_message) == first_error
        assert letter.status is DeadLetterStatus.OPEN
        assert [h["actor"] for h in letter.error_history or []] == [letter.actor]
        assert (letter.actor or "").startswith("cli")
    with store.reader() as s:
        outcomes = {r.outcome for r in read_task_runtimes(s) if r.task == names.REPLAY_LETTER}
    assert outcomes == {TaskRunOutcome.FAILED}


@pytest.mark.parametrize("backend", ["postgres"])
def test_signup_task_is_idempotent_on_the_internal_id(
    store: Store,
    launch: Launch,
) -> None:
    """`sfsync.signup.provision_customer` sent twice makes one customer with both aliases."""
    with SandboxOrg(seed=1, opportunities=0) as org:
        procs = launch(org)
        procs.worker()
        procs.enqueue(names.PROVISION_SIGNUP, "user-7", "Signup Co", ["key-a"], {})
        procs.enqueue(names.PROVISION_SIGNUP, "user-7", "Signup Co", ["key-b"], {})

        def aliases() -> set[str]:
            with store.session() as s:
                return set(s.scalars(select(IngestAlias.alias)))

        procs.wait_for(lambda: aliases() == {"key-a", "key-b"}, what="both signups applied")
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(Customer)) == 1
