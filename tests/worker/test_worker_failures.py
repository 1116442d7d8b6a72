"""Failures in a real worker on Redis end as dead letters: permanent errors and lost processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from cli import main
from models import Store
from models.tables import DeadLetter, SyncRun
from models.types import RunStatus
from sandbox import SandboxOrg
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
    """A poll with revoked credentials fails permanently and is listed by `sfsync dlq list`."""
    with SandboxOrg(seed=5, opportunities=20) as org:
        procs = launch(
            org,
            SFSYNC_SF_CONSUMER_KEY=None,
            SFSYNC_SF_CONSUMER_SECRET=None,
            SFSYNC_SF_ACCESS_TOKEN="00Dbogus!sentinel-access-token",
        )
        procs.worker()
        task_id = procs.enqueue("sfsync.sync.poll_opportunities", trigger="manual")
        procs.wait_for(lambda: letters(store), what="a dead letter")
    result = CliRunner().invoke(main, ["--database-url", store.url, "dlq", "list", "--json"])
    assert result.exit_code == 0, result.output
    (letter,) = json.loads(result.stdout)
    assert letter["task_name"] == "sfsync.sync.poll_opportunities"
    assert letter["error_class"] == "SalesforceAuthError"
    assert letter["source"] == "task"
    assert "sentinel-access-token" not in json.dumps(letter)
    shown = CliRunner().invoke(
        main, ["--database-url", store.url, "dlq", "show", str(letter["id"]), "--json"]
    )
    detail = json.loads(shown.stdout)
    assert detail["task_id"] == task_id
    assert "sentinel-access-token" not in shown.stdout


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

        procs.enqueue("sfsync.sync.poll_opportunities", trigger="manual")
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
    assert letter.task_name == "sfsync.sync.poll_opportunities"
    assert letter.task_id
