"""A real worker and beat on Redis and PostgreSQL pick up the schedule and sync the sandbox."""

from __future__ import annotations

import pytest
import requests
from sqlalchemy import func, select

from sfsync.models import Store
from sfsync.models.tables import Contract, Customer, DeadLetter, SyncRun
from sfsync.models.types import RunStatus, RunTrigger, Stream
from sfsync.sandbox import SandboxOrg
from sfsync.sandbox.client import loopback_session
from tests.worker.conftest import Launch

pytestmark = pytest.mark.worker


def won_opportunities(org: SandboxOrg) -> int:
    http = loopback_session(org.instance_url, requests.Session())
    response = http.get(
        f"{org.instance_url}/services/data/v59.0/query",
        params={"q": "SELECT COUNT() FROM Opportunity WHERE IsWon = true"},
        headers={"Authorization": f"Bearer {org.access_token}"},
        timeout=10,
    )
    response.raise_for_status()
    return int(response.json()["totalSize"])


@pytest.mark.parametrize("backend", ["postgres"])
def test_beat_and_worker_sync_the_sandbox_on_schedule(
    store: Store,
    launch: Launch,
) -> None:
    """Beat ticks every 2 s; the worker provisions every closed-won deal into PostgreSQL."""
    with SandboxOrg(seed=11, opportunities=150) as org:
        expected = won_opportunities(org)
        procs = launch(org)
        procs.worker()
        procs.beat()

        def synced() -> bool:
            with store.session() as s:
                runs = s.scalars(
                    select(SyncRun).where(
                        SyncRun.stream == Stream.OPPORTUNITIES,
                        SyncRun.trigger == RunTrigger.BEAT,
                        SyncRun.status == RunStatus.SUCCEEDED,
                    )
                ).all()
                contracts = s.scalar(select(func.count()).select_from(Contract))
            return bool(runs) and contracts is not None and contracts > 0

        procs.wait_for(synced, timeout=90, what="a successful beat-triggered opportunity run")
    with store.session() as s:
        contracts = s.scalar(select(func.count()).select_from(Contract)) or 0
        customers = s.scalar(select(func.count()).select_from(Customer)) or 0
        dead = s.scalar(select(func.count()).select_from(DeadLetter)) or 0
    # Every closed-won deal is a contract or a dead letter with its reason; none is lost.
    assert contracts + dead == expected > 0
    assert customers > 0
