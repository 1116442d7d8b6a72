"""Reconciliation: every won deal of the org against the store's contracts, the safety net.

The incremental stream can miss a change: a commit whose SystemModstamp is older than the
lookback, a delete purged from the recycle bin while sfsync was down, a bug. Once a day
(`SFSYNC_RECONCILE_INTERVAL`) this reads every closed-won, non-deleted opportunity's Id
and SystemModstamp (one narrow query, ⌈won/2000⌉ calls) and compares:

- **missing**: won in the org, and no contract or one sfsync ended → provisioned by id
  (the same path as `sfsync sync opportunity`; an ended contract is reactivated);
- **changed**: held and active, but the org's SystemModstamp is not the one the contract
  was last written from → re-read by id and brought up to date (drift counts those whose
  terms really differed);
- **misplaced** (counted as changed): an active contract held by an archived customer (a
  merge the incremental path applied only in part) → provisioned again by id: it moves to
  the customer of its account's root, with a revision;
- **extra**: active in the store, not won in the org → the opportunity's state is read
  through queryAll and the contract ended or archived at its SystemModstamp (at the
  reconciliation's start if the record is gone from the recycle bin too).

It runs under its own lease (stream `reconcile`) and records a run with the drift found;
beat runs it every SFSYNC_RECONCILE_INTERVAL, `sync reconcile` on demand.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Unpack

from sfsync.config import Settings
from sfsync.models import Store
from sfsync.models.contracts.records import HeldDeal, contracts_by_key
from sfsync.models.contracts.revisions import Change
from sfsync.models.customers.fields import SFDC_OPPORTUNITY_ID
from sfsync.models.customers.retirement import stranded_contracts
from sfsync.models.operations.cursors import renew_lease
from sfsync.models.operations.runs import RunCounters, finish_run, start_run
from sfsync.models.types import ContractStatus, RunStatus, RunTrigger, Stream, utcnow
from sfsync.sync.gone_deals import GoneDeal, apply_gone
from sfsync.sync.opportunities import provision_opportunities
from sfsync.sync.run_result import RunResult
from sfsync.sync.runner import RunOptions
from sfsync.sync.salesforce import (
    OpportunityRow,
    QueryRules,
    SalesforceClient,
    SalesforceThrottled,
    chunk_ids,
    counted_ids,
    opportunity_states_query,
    won_opportunity_ids_query,
)
from sfsync.sync.streams.base import Cadence, SyncStream
from sfsync.sync.streams.lease import leased_run

__all__ = ["ReconcileStream", "reconcile"]

log = logging.getLogger(__name__)


class ReconcileStream(SyncStream):
    """The daily comparison of the org's won deals with the store (the module docstring)."""

    name = Stream.RECONCILE
    task = "RECONCILE"
    cadence = Cadence.DAILY

    def run(self, **options: Unpack[RunOptions]) -> RunResult:
        """One reconciliation; `skipped` if another run holds the lease."""
        trigger = options.get("trigger", RunTrigger.BEAT)
        return leased_run(
            self.store,
            Stream.RECONCILE,
            self.settings.sync_lease_seconds,
            lambda owner: _Reconciliation(self.store, self.client, self.settings, owner).run(
                trigger
            ),
            trigger=trigger,
            owner=options.get("owner"),
        )


def reconcile(
    store: Store,
    client: SalesforceClient,
    settings: Settings,
    *,
    trigger: RunTrigger = RunTrigger.BEAT,
    owner: str | None = None,
) -> RunResult:
    """One reconciliation (see the module docstring); `skipped` if another holds the lease."""
    return ReconcileStream(store, client, settings).run(trigger=trigger, owner=owner)


class _Reconciliation:
    def __init__(
        self, store: Store, client: SalesforceClient, settings: Settings, owner: str
    ) -> None:
        self.store, self.client, self.settings, self.owner = store, client, settings, owner
        self.started = utcnow()
        self.calls_before = client.api_calls
        self.counters = RunCounters()

    def _renew(self) -> None:
        with self.store.session() as s:
            renew_lease(s, Stream.RECONCILE, self.owner, self.settings.sync_lease_seconds)

    def run(self, trigger: RunTrigger) -> RunResult:
        with self.store.session() as s:
            self.run_id = start_run(s, Stream.RECONCILE, trigger, None).id
        status, error = RunStatus.SUCCEEDED, None
        try:
            self._compare()
        except SalesforceThrottled as exc:
            status, error = RunStatus.THROTTLED, str(exc)
        except BaseException as exc:
            log.warning("reconciliation run %s failed: %s", self.run_id, exc)
            self._finish(RunStatus.FAILED, f"{type(exc).__name__}: {exc}")
            raise
        return self._finish(status, error)

    def _compare(self) -> None:
        # Inside the run: a bad field setting is the run's error.
        rules = QueryRules.of(self.settings)
        won: dict[str, datetime | None] = {}
        for page in self.client.query_pages(won_opportunity_ids_query(rules)):
            for row in map(OpportunityRow.of, page):
                if row.id is not None:
                    won[row.id] = row.modstamp
            self._renew()
        self.counters.records_seen = len(won)
        with self.store.reader() as s:
            held = contracts_by_key(s, SFDC_OPPORTUNITY_ID)
        active = {o for o, h in held.items() if h.status is ContractStatus.ACTIVE}
        missing = [o for o in won if o not in active]
        changed = [o for o, stamp in won.items() if o in active and held[o].source_version != stamp]
        with self.store.reader() as s:
            stranded = stranded_contracts(s)
        # An active contract under an archived (merged) customer: a hierarchy change the
        # incremental path missed; provisioned again, it goes to its root's customer.
        misplaced = [
            o for o in won if o in active and o not in changed and held[o].contract_id in stranded
        ]
        extra = [o for o in active if o not in won]
        cause = f"reconciliation run {self.run_id}"
        if missing:
            self.counters.drift_missing = len(missing)
            self._provision(missing, f"{cause}: won in Salesforce, missing from the store")
        if changed:
            before = self.counters.contracts_updated
            self._provision(changed, f"{cause}: changed in Salesforce, not yet in the store")
            self.counters.drift_changed = self.counters.contracts_updated - before
        if misplaced:
            self._provision(misplaced, f"{cause}: account hierarchy changed, contract misplaced")
            self.counters.drift_changed += len(misplaced)
        if extra:
            self._end(extra, held, cause, rules)

    def _provision(self, ids: Sequence[str], cause: str) -> None:
        found = provision_opportunities(
            self.store, self.client, self.settings, ids, cause=cause, run_id=self.run_id
        )
        found.records_seen = 0  # counted once, by the Id query
        self.counters.add(found)
        self._renew()

    def _end(
        self, extra: Sequence[str], held: dict[str, HeldDeal], cause: str, rules: QueryRules
    ) -> None:
        states: dict[str, OpportunityRow] = {}
        for chunk in chunk_ids(extra):
            for page in self.client.query_pages(
                opportunity_states_query(chunk), include_deleted=True
            ):
                rows = (OpportunityRow.of(r) for r in page)
                states.update((row.id, row) for row in rows if row.id is not None)
        won = [o for o, r in states.items() if r.won and not r.deleted]
        kept = (
            counted_ids(self.client, rules, won)
            if self.settings.sf_opportunity_filter
            else set(won)
        )
        gone: list[GoneDeal] = []
        for opportunity in extra:
            row = states.get(opportunity)
            if row is not None and row.won and not row.deleted and opportunity in kept:
                continue  # won again since the Id query: the stream will see it
            at = row.modstamp if row is not None else None
            deleted = row is None or row.deleted
            gone.append(
                GoneDeal(opportunity, held[opportunity].contract_id, at or self.started, deleted)
            )
        self.counters.drift_extra = len(gone)
        with self.store.session() as s:
            apply_gone(s, gone, Change(cause, run_id=self.run_id), self.counters)

    def _finish(self, status: RunStatus, error: str | None) -> RunResult:
        self.counters.api_calls = self.client.api_calls - self.calls_before
        with self.store.session() as s:
            finish_run(
                s,
                self.run_id,
                status,
                self.counters,
                None,
                error,
                api_usage=self.client.api_usage,
            )
        return RunResult(self.run_id, Stream.RECONCILE, status, self.counters, error=error)
