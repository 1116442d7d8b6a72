"""Work enqueued with nobody to do it says so: `sync run` and `dlq retry` ask the workers."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner, Result

from sfsync.celery_app import create_app
from sfsync.cli import main
from sfsync.config import Settings
from sfsync.models import Store
from sfsync.sandbox import SandboxOrg
from sfsync.tasks.workers import queue_consumers
from tests.unit.factories import open_deal_letter
from tests.worker.conftest import Launch, Processes

pytestmark = pytest.mark.worker


def _sfsync(procs: Processes, *args: str) -> Result:
    env = {k: v for k, v in procs.env.items() if k.startswith("SFSYNC_")}
    return CliRunner().invoke(main, list(args), env=env)


def _wait_for_consumers(procs: Processes) -> None:
    settings = Settings(
        _env_file=None,
        data_dir=procs.env["SFSYNC_DATA_DIR"],
        broker_url=procs.env["SFSYNC_BROKER_URL"],
    )
    app = create_app(settings)
    procs.wait_for(
        lambda: not queue_consumers(app).idle(), what="the worker to consume every queue"
    )


@pytest.mark.parametrize("backend", ["postgres"])
def test_sync_run_and_dlq_retry_warn_when_no_worker_consumes_their_queue(
    store: Store, launch: Launch
) -> None:
    """No worker: one warning line naming the queue; the JSON on stdout is unchanged."""
    letter = open_deal_letter(store)
    with SandboxOrg(seed=1, opportunities=0) as org:
        procs = launch(org)
        run = _sfsync(procs, "sync", "run", "--json")
        retry = _sfsync(procs, "dlq", "retry", str(letter), "--json")
    assert run.exit_code == 0, run.output
    assert "no worker is consuming `sync`" in run.stderr
    assert len(json.loads(run.stdout)["enqueued"]) == 2
    assert retry.exit_code == 0, retry.output
    assert "no worker is consuming `default`" in retry.stderr
    assert json.loads(retry.stdout)["enqueued"][0]["letter_id"] == letter


@pytest.mark.parametrize("backend", ["postgres"])
def test_sync_reconcile_warns_when_no_worker_consumes_its_queue(
    store: Store, launch: Launch
) -> None:
    """An enqueued reconciliation with no worker: one warning line; the JSON is unchanged."""
    with SandboxOrg(seed=1, opportunities=0) as org:
        procs = launch(org)
        reconcile = _sfsync(procs, "sync", "reconcile", "--json")
    assert reconcile.exit_code == 0, reconcile.output
    assert reconcile.stderr.count("no worker is consuming `sync`") == 1
    assert len(reconcile.stderr.strip().splitlines()) == 1
    assert json.loads(reconcile.stdout)["enqueued"][0]["stream"] == "reconcile"


@pytest.mark.parametrize("backend", ["postgres"])
def test_sync_run_and_dlq_retry_say_nothing_more_when_a_worker_consumes(
    store: Store, launch: Launch
) -> None:
    """A real worker on the queues: no warning."""
    letter = open_deal_letter(store)
    with SandboxOrg(seed=1, opportunities=0) as org:
        procs = launch(org)
        procs.worker()
        _wait_for_consumers(procs)
        run = _sfsync(procs, "sync", "run")
        retry = _sfsync(procs, "dlq", "retry", str(letter))
        reconcile = _sfsync(procs, "sync", "reconcile")
    assert run.exit_code == 0, run.output
    assert "enqueued" in run.stdout and "no worker" not in run.stderr
    assert retry.exit_code == 0, retry.output
    assert "enqueued 1 replay(s)" in retry.stdout and "no worker" not in retry.stderr
    assert reconcile.exit_code == 0, reconcile.output
    assert "enqueued" in reconcile.stdout and "no worker" not in reconcile.stderr
