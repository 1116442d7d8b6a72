"""What Flower and log shippers see of a real worker: task events, results, log lines."""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from celery.events.state import State
from sqlalchemy import select

from sfsync.celery_app import create_app
from sfsync.config import Settings
from sfsync.models import Store
from sfsync.models.tables import DeadLetter, SyncRun
from sfsync.models.types import RunStatus
from sfsync.sandbox import SandboxOrg
from sfsync.tasks import names
from tests.worker.conftest import Launch, Processes, wait_for

pytestmark = pytest.mark.worker

MISSING_LETTER = 987_654


class EventLog:
    """A Celery event receiver on the test's broker, in a thread, as Flower runs one."""

    def __init__(self, broker_url: str, data_dir: Path) -> None:
        self.app = create_app(Settings(_env_file=None, data_dir=data_dir, broker_url=broker_url))
        self.events: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._receiver: Any = None
        self._thread = threading.Thread(target=self._run, name="event-receiver", daemon=True)

    def _run(self) -> None:
        with self.app.connection_for_read() as conn:
            self._receiver = self.app.events.Receiver(conn, handlers={"*": self._on_event})
            self._receiver.capture(limit=None, timeout=None, wakeup=False)

    def _on_event(self, event: dict[str, Any]) -> None:
        with self._lock:
            self.events.append(event)

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.events)

    def start(self) -> None:
        """Start, and return once an event sent now is known to arrive (no lost early ones)."""
        self._thread.start()
        probe = f"probe-{uuid.uuid4().hex}"
        with self.app.connection_for_write() as conn:
            dispatcher = self.app.events.Dispatcher(conn, enabled=True)

            def arrived() -> bool:
                dispatcher.send("test-probe", probe=probe)
                return any(e.get("probe") == probe for e in self.snapshot())

            wait_for(arrived, timeout=60, what="the event receiver to subscribe")

    def stop(self) -> None:
        if self._receiver is not None:
            self._receiver.should_stop = True
        self._thread.join(timeout=10)

    def types_for(self, task_id: str) -> list[str]:
        return [e["type"] for e in self.snapshot() if e.get("uuid") == task_id]


@pytest.fixture
def event_log(redis_url: str, tmp_path: Path) -> Iterator[EventLog]:
    log = EventLog(redis_url, tmp_path / "receiver")
    log.start()
    yield log
    log.stop()


def orphan_deal(org: SandboxOrg) -> str:
    """A won deal without an account: provisioning it dead-letters it."""
    return org.create(
        "Opportunity",
        {"Name": "Orphan", "StageName": "Closed Won", "CloseDate": "2026-11-01", "Amount": 9.0},
    )


def letters(store: Store) -> list[DeadLetter]:
    with store.session() as s:
        return list(s.scalars(select(DeadLetter)))


def succeeded_runs(store: Store) -> list[SyncRun]:
    with store.session() as s:
        return list(s.scalars(select(SyncRun).where(SyncRun.status == RunStatus.SUCCEEDED)))


def complete_lines(procs: Processes) -> list[str]:
    """The worker's output so far, whole lines only (it is still writing)."""
    text = procs.output()
    return text[: text.rfind("\n") + 1].splitlines()


@pytest.mark.parametrize("backend", ["postgres"])
def test_a_real_workers_task_events_reach_an_event_receiver(
    store: Store, launch: Launch, event_log: EventLog
) -> None:
    """Sent, received, started and succeeded/failed events arrive; a dead-lettered deal says so."""
    with SandboxOrg(seed=3, opportunities=0) as org:
        opp = orphan_deal(org)
        procs = launch(org)
        procs.worker()  # no -E: task events are on by configuration
        lettered = procs.enqueue(names.PROVISION_OPPORTUNITY, opportunity_id=opp)
        failing = procs.enqueue(names.REPLAY_LETTER, letter_id=MISSING_LETTER)

        def finished() -> bool:
            return "task-succeeded" in event_log.types_for(
                lettered
            ) and "task-failed" in event_log.types_for(failing)

        procs.wait_for(finished, what="task-succeeded and task-failed events")
        lines = complete_lines(procs)
    for task_id, last in ((lettered, "task-succeeded"), (failing, "task-failed")):
        types = event_log.types_for(task_id)
        assert [t for t in types if t != "task-retried"] == [
            "task-sent",
            "task-received",
            "task-started",
            last,
        ], types
    # Flower keeps its task table in celery.events.state.State, fed by these events.
    state = State()
    for event in event_log.snapshot():
        state.event(event)
    shown, failed = state.tasks[lettered], state.tasks[failing]
    assert shown.name == names.PROVISION_OPPORTUNITY
    assert shown.state == "SUCCESS"
    assert "'outcome': 'dead_lettered'" in shown.result
    assert "'dead_lettered': 1" in shown.result
    assert failed.state == "FAILURE"
    assert str(MISSING_LETTER) in failed.exception
    (orphan,) = [x for x in letters(store) if x.reference == opp]
    assert orphan.error_message
    # The failure is logged once, with one traceback (Celery's handler and ours both used to).
    raised = [line for line in lines if failing in line and "raised unexpected" in line]
    assert len(raised) == 1, "\n".join(lines[-60:])
    assert sum("Traceback (most recent call last)" in line for line in lines) == 1


@pytest.mark.parametrize("backend", ["postgres"])
def test_worker_logs_one_json_object_per_line_in_json_format(store: Store, launch: Launch) -> None:
    """SFSYNC_LOG_FORMAT=json: every line parses; a run logs its counts once; one traceback."""
    with SandboxOrg(seed=4, opportunities=12) as org:
        secret = org.consumer_secret
        procs = launch(org, SFSYNC_LOG_FORMAT="json")
        # --quiet: no banner on stdout, so every line is a log record.
        procs.start("--quiet", "worker", "-Q", "sync,usage,default", "-c", "2", name="worker")
        run_task = procs.enqueue(names.POLL_OPPORTUNITIES, trigger="manual")
        failing = procs.enqueue(names.REPLAY_LETTER, letter_id=MISSING_LETTER)

        def done() -> list[str] | None:
            lines = complete_lines(procs)
            text = "\n".join(lines)
            ok = f"{run_task}] succeeded" in text and f"{failing}] raised" in text
            return lines if ok and succeeded_runs(store) else None

        lines = procs.wait_for(done, what="the run's and the failure's log lines")
    records = [json.loads(line) for line in lines if line.strip()]
    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)
    (run,) = succeeded_runs(store)
    run_lines = [r for r in records if r.get("run_id") == run.id and r["level"] == "INFO"]
    assert len(run_lines) == 1, run_lines
    message = run_lines[0]["message"]
    assert re.search(rf"opportunities run {run.id} succeeded in [0-9.]+s", message)
    assert f"records_seen={run.records_seen}" in message
    assert f"contracts_created={run.contracts_created}" in message
    assert run.records_seen > 0
    failures = [r for r in records if "traceback" in r]
    assert len(failures) == 1, failures
    assert failing in failures[0]["message"]
    assert "NotFound" in failures[0]["traceback"]
    assert secret not in "\n".join(lines)
