"""Failures in a real worker on Redis end as dead letters: permanent errors and lost processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from functools import partial

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from sfsync.cli import main
from sfsync.models import Store
from sfsync.models.tables import DeadLetter, SyncRun
from sfsync.models.types import RunStatus
from sfsync.sandbox import SandboxOrg
from sfsync.tasks import names
from tests.worker.conftest import Launch

pytestmark = pytest.mark.worker


def letters(store: Store) -> list[DeadLetter]:
    with store.session() as s:
        return list(s.scalars(select(DeadLetter)))


@pytest.mark.parametrize("backend", ["postgres"])
def test_permanent_failure_in_a_worker_appears_in_dlq_list(
    store: Store,
    launch: Launch,
) -> None:
    """A deal that cannot be provisioned (credentials revoked) is listed by `sfsync dlq list`."""
    with SandboxOrg(seed=5, opportunities=20) as org:
        procs = launch(
            org,
            SFSYNC_SF_CONSUMER_KEY=None,
            SFSYNC_SF_CONSUMER_SECRET=None,
            SFSYNC_SF_ACCESS_TOKEN="00Dbogus!sentinel-access-token",
        )
        procs.worker()
        opportunity = next(r.id for r in org.store.rows("Opportunity"))
        task_id = procs.enqueue(names.PROVISION_OPPORTUNITY, opportunity)
        procs.wait_for(lambda: letters(store), what="a dead letter")
    result = CliRunner().invoke(main, ["--database-url", store.url, "dlq", "list", "--json"])
    assert result.exit_code == 0, result.output
    (letter,) = json.loads(result.stdout)
    assert letter["task_name"] == names.PROVISION_OPPORTUNITY
    assert letter["error_class"] == "SalesforceAuthError"
    assert letter["reference"] == opportunity
    assert "sentinel-access-token" not in json.dumps(letter)
    shown = CliRunner().invoke(
        main, ["--database-url", store.url, "dlq", "show", str(letter["id"]), "--json"]
    )
    detail = json.loads(shown.stdout)
    assert detail["task_id"] == task_id
    assert "sentinel-access-token" not in shown.stdout


def failed_runs(store: Store) -> list[SyncRun]:
    with store.session() as s:
        return list(s.scalars(select(SyncRun).where(SyncRun.status == RunStatus.FAILED)))


def runs_failed(store: Store, count: int) -> bool:
    return len(failed_runs(store)) == count


INCOMPLETE = "started without a complete set of Salesforce settings"


@pytest.mark.parametrize("backend", ["postgres"])
def test_polls_that_cannot_log_in_are_failed_runs_not_dead_letters(
    store: Store,
    launch: Launch,
) -> None:
    """Rejected credentials: each poll is a failed run saying why, listed by `runs list`."""
    with SandboxOrg(seed=5, opportunities=20) as org:
        procs = launch(
            org,
            SFSYNC_SF_CONSUMER_KEY=None,
            SFSYNC_SF_CONSUMER_SECRET=None,
            SFSYNC_SF_ACCESS_TOKEN="00Dbogus!sentinel-access-token",
        )
        procs.worker()
        # One at a time: two polls at once would find each other's lease (a skipped run).
        polls = (names.POLL_OPPORTUNITIES, names.POLL_OPPORTUNITIES, names.POLL_ACCOUNTS)
        for n, task in enumerate(polls):
            procs.enqueue(task, trigger="beat")
            procs.wait_for(partial(runs_failed, store, n + 1), what=f"failed run {n + 1}")
    assert letters(store) == []
    listed = CliRunner().invoke(main, ["--database-url", store.url, "runs", "list", "--json"])
    runs = json.loads(listed.stdout)
    assert {r["status"] for r in runs} == {"failed"}
    assert all("SFSYNC_SF_ACCESS_TOKEN" in r["error"] for r in runs), runs
    assert "sentinel-access-token" not in listed.stdout


@pytest.mark.parametrize("backend", ["postgres"])
def test_worker_without_salesforce_settings_says_so_and_records_failed_runs(
    store: Store,
    launch: Launch,
) -> None:
    """One start-up line from worker and beat; a poll is a failed run naming what is missing."""
    with SandboxOrg(seed=5, opportunities=5) as org:
        procs = launch(
            org,
            SFSYNC_SF_CONSUMER_KEY=None,
            SFSYNC_SF_CONSUMER_SECRET=None,
            SFSYNC_SF_INSTANCE_URL=None,
            SFSYNC_SF_LOGIN_URL=None,
            SFSYNC_POLL_INTERVAL="3600",
        )
        procs.worker()
        procs.beat()
        procs.wait_for(lambda: procs.output().count(INCOMPLETE) >= 2, what="two start-up lines")
        procs.enqueue(names.POLL_OPPORTUNITIES, trigger="manual")
        (run,) = procs.wait_for(lambda: failed_runs(store), what="a failed run")
    assert "no Salesforce credentials" in (run.error or "")
    assert letters(store) == []
    status = CliRunner().invoke(main, ["--database-url", store.url, "sync", "status", "--json"])
    streams = {r["stream"]: r for r in json.loads(status.stdout)["streams"]}
    assert streams["opportunities"]["last_run"]["status"] == "failed"
    assert "no Salesforce credentials" in streams["opportunities"]["last_run"]["error"]
    lines = [line for line in procs.output().splitlines() if INCOMPLETE in line]
    assert {("worker" in line, "beat" in line) for line in lines} == {(True, False), (False, True)}


@pytest.mark.parametrize("backend", ["postgres"])
def test_usage_only_worker_needs_no_salesforce_settings(store: Store, launch: Launch) -> None:
    """A worker serving only `-Q usage` starts without a word about Salesforce."""
    with SandboxOrg(seed=5, opportunities=5) as org:
        procs = launch(
            org,
            SFSYNC_SF_CONSUMER_KEY=None,
            SFSYNC_SF_CONSUMER_SECRET=None,
            SFSYNC_SF_INSTANCE_URL=None,
        )
        procs.start("worker", "-Q", "usage", "-c", "1", "--loglevel", "INFO", name="worker")
        procs.wait_for(lambda: " ready." in procs.output(), what="the worker to be ready")
    assert INCOMPLETE not in procs.output()


@pytest.mark.parametrize("backend", ["postgres"])
def test_worker_process_killed_mid_task_is_recorded(
    store: Store,
    launch: Launch,
) -> None:
    """SIGKILL of the pool process running a poll leaves a WorkerLostError dead letter."""
    with SandboxOrg(seed=5, opportunities=20) as org:
        procs = launch(org, SFSYNC_SYNC_LEASE_SECONDS="5")
        worker = procs.worker(concurrency=1)
        org.faults.latency(3.0)  # each Salesforce call now takes 3 s: time to kill mid-task

        def running() -> bool:
            with store.session() as s:
                return bool(
                    s.scalars(select(SyncRun).where(SyncRun.status == RunStatus.RUNNING)).first()
                )

        procs.enqueue(names.POLL_OPPORTUNITIES, trigger="manual")
        procs.wait_for(running, what="the poll to start")
        children = subprocess.run(
            ["pgrep", "-P", str(worker.pid)], capture_output=True, text=True, check=True
        ).stdout.split()
        for child in children:
            os.kill(int(child), signal.SIGKILL)

        def lost() -> list[DeadLetter]:
            return [x for x in letters(store) if x.error_class == "WorkerLostError"]

        (letter,) = procs.wait_for(lost, what="a WorkerLostError dead letter")
        org.faults.clear()
    assert letter.task_name == names.POLL_OPPORTUNITIES
    assert letter.task_id
