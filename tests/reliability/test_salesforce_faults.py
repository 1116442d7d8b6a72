"""Salesforce failing, expiring sessions, throttling and hanging: the result is the fault-free one.

What is tested: transient Salesforce errors are retried, an expired session is renewed, a
throttled run stops without moving the cursor past unprocessed work and a later run
completes, and a response slower than the read timeout is abandoned and retried. The
final store equals a fault-free run of the same org into another store, and `sync_runs`
shows the throttled or failed runs followed by a success.
"""

from __future__ import annotations

import shutil
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from sfsync.models import Store
from sfsync.models.tables import SyncRun
from sfsync.models.types import RunStatus, Stream
from sfsync.sandbox import SandboxOrg
from sfsync.sandbox.client import loopback_session
from sfsync.sync.salesforce import SalesforceClient
from sfsync.sync.streams.accounts import poll_accounts
from sfsync.sync.streams.opportunities import poll_opportunities
from tests.reliability.fixtures.cluster import Cluster
from tests.reliability.fixtures.figures import count_faults, elapsed, figure
from tests.reliability.fixtures.redis_server import RedisServer
from tests.reliability.fixtures.snapshot import Snapshot, settle
from tests.reliability.fixtures.truth import Truth
from tests.unit.factories import build_settings
from tests.worker.conftest import wait_for

pytestmark = [pytest.mark.reliability, pytest.mark.worker]

SEED = 9001
OPPORTUNITIES = 1200  # about 420 closed-won


def fault_free(org: SandboxOrg, template: Path, tmp_path: Path) -> Snapshot:
    """Both streams run once, in this process and without faults, into a SQLite store."""
    target = tmp_path / "reference.db"
    shutil.copyfile(template, target)
    reference = Store(f"sqlite:///{target}")
    settings = build_settings(
        sf_instance_url=org.instance_url,
        sf_login_url=org.login_url,
        sf_consumer_key=org.consumer_key,
        sf_consumer_secret=org.consumer_secret,
        sf_alias_fields="Ingest_Alias__c",
        data_dir=tmp_path / "reference",
    )
    client = SalesforceClient(settings, loopback_session(org.instance_url))
    try:
        assert poll_opportunities(reference, client, settings).status == RunStatus.SUCCEEDED
        assert poll_accounts(reference, client, settings).status == RunStatus.SUCCEEDED
        return Snapshot.of(reference)
    finally:
        client.close()
        reference.close()


def errors(store: Store) -> dict[str, int]:
    """Distinct run errors (their first words), for the figures."""
    with store.session() as s:
        found = s.scalars(select(SyncRun.error).where(SyncRun.error.is_not(None))).all()
    return dict(Counter(str(e)[:70] for e in found))


def history(store: Store) -> list[RunStatus]:
    with store.session() as s:
        return list(
            s.scalars(
                select(SyncRun.status)
                .where(SyncRun.stream == Stream.OPPORTUNITIES)
                .order_by(SyncRun.id)
            )
        )


@pytest.mark.parametrize("backend", ["postgres"])
def test_salesforce_faults_end_in_the_fault_free_state(
    store: Store,
    private_redis: RedisServer,
    cluster: Callable[..., Cluster],
    sqlite_template: Path,
    tmp_path: Path,
) -> None:
    """10% 5xx, 3 s sessions, a REQUEST_LIMIT_EXCEEDED window and hangs: same final store."""
    started = time.monotonic()
    with SandboxOrg(seed=SEED, opportunities=OPPORTUNITIES, page_size=200) as org:
        truth = Truth.of(org)
        reference = fault_free(org, sqlite_template, tmp_path)
        org.reset_counters()
        injected = count_faults(org)
        # REQUEST_LIMIT_EXCEEDED for the next 12 API calls (the token endpoint never says it).
        org.faults.fail_next(12, "403", paths="/services/data/")
        org.faults.fail_ratio(0.10, "500", seed=SEED)
        org.faults.fail_ratio(0.03, "503", seed=SEED + 1)
        org.faults.hang_next(2, paths="/query")  # slower than the read timeout
        org.set_token_lifetime(3)
        c = cluster(
            org,
            private_redis.url,
            sf_read_timeout="2",
            sf_retry_attempts="5",
        )
        c.worker(concurrency=2)
        c.beat()
        try:
            wait_for(
                lambda: (
                    RunStatus.SUCCEEDED in history(store)
                    and {RunStatus.THROTTLED, RunStatus.FAILED} & set(history(store))
                ),
                timeout=150,
                what="a throttled or failed run, then a success",
            )
        except AssertionError:
            raise AssertionError(c.diagnose()) from None
        snap = settle(store, truth, {}, c, timeout=150)
        found = snap.check(truth, {})
        runs = history(store)
        run_errors = errors(store)
        calls = org.counters()["calls"]
    assert snap.customers == reference.customers
    assert snap.contracts == reference.contracts
    first_bad = next(i for i, s in enumerate(runs) if s in (RunStatus.THROTTLED, RunStatus.FAILED))
    assert RunStatus.SUCCEEDED in runs[first_bad:], runs
    figure(
        "salesforce_faults",
        opportunities=OPPORTUNITIES,
        won=len(truth.contracts),
        customers=len(truth.customers),
        api_calls=calls,
        faults_injected=dict(injected),
        token_lifetime_s=3,
        read_timeout_s=2,
        runs={s.value: runs.count(s) for s in set(runs)},
        run_errors=run_errors,
        equals_fault_free=True,
        **found,
        seconds=elapsed(started),
    )
