"""A dry run: what `sync run` would do, found by doing it and then undoing it.

The streams run exactly as `sync run --inline` runs them — the same code, queries, pages,
lease, cursor and run record — against `Store.rolled_back()`: every page "commits" into
a savepoint of one outer transaction, later pages read what earlier ones wrote, and at the
end the outer transaction is rolled back. The plan is read from what the run recorded
(`models.reports.store_changes`) before that rollback. So the plan is the real run's decisions by
construction, not a model of them, and it costs the same Salesforce calls.

Nothing reaches Salesforce either: no stream writes to it (writebacks only queue a row in
the store's outbox, drained by the worker's task after a poll, and the row is rolled back
with the rest), and nothing is enqueued on the broker.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sfsync.config import Settings
from sfsync.models import Store
from sfsync.models.reports.store_changes import StoreChanges, changes_since, take_snapshot
from sfsync.models.types import RevisionKind, RunStatus, RunTrigger, Stream
from sfsync.sync.run_result import RunResult
from sfsync.sync.salesforce import SalesforceClient
from sfsync.sync.streams.registry import STREAMS

__all__ = ["ACTIONS", "DryRun", "dry_run"]

#: A contract revision's kind as the action a plan shows.
ACTIONS: Mapping[RevisionKind, str] = {
    RevisionKind.CREATED: "create",
    RevisionKind.TERMS_EDITED: "edit",
    RevisionKind.MOVED: "move",
    RevisionKind.ENDED: "end",
    RevisionKind.ARCHIVED: "archive",
    RevisionKind.REACTIVATED: "reactivate",
}


@dataclass(frozen=True)
class DryRun:
    """The runs as they went (their records rolled back) and the changes they would make."""

    runs: Sequence[RunResult]
    changes: StoreChanges

    @property
    def failed(self) -> bool:
        return any(r.status is RunStatus.FAILED for r in self.runs)

    @property
    def api_calls(self) -> int:
        return sum(r.counters.api_calls for r in self.runs)

    def summary(self) -> dict[str, dict[str, int]]:
        """How many changes of each kind: {"customers": {"create": 2}, ...}."""
        c = self.changes
        groups: dict[str, list[str]] = {
            "customers": [x.kind for x in c.customers],
            "aliases": [x.kind for x in c.aliases],
            "contracts": [ACTIONS[x.kind] for x in c.contracts],
            "dead_letters": [x.kind for x in c.letters],
            "writebacks": ["queue" for _ in c.writebacks],
        }
        out: dict[str, dict[str, int]] = {}
        for group, kinds in groups.items():
            counts: dict[str, int] = {}
            for kind in kinds:
                counts[kind] = counts.get(kind, 0) + 1
            out[group] = counts
        return out

    def customer(self, customer_id: uuid.UUID | str | None) -> dict[str, Any] | None:
        """A customer the plan names: its id, name and Salesforce account, as they would be."""
        if customer_id is None:
            return None
        cid = uuid.UUID(str(customer_id))
        name, account = self.changes.names.get(cid, (None, None))
        return {"id": str(cid), "name": name, "sfdc_account_id": account}

    def document(self) -> dict[str, Any]:
        """The whole plan as JSON values (`sync run --dry-run --json`)."""
        c = self.changes
        runs = []
        for r in self.runs:
            run = r.summary()
            run.pop("run_id")  # its record was rolled back
            runs.append(run)
        return {
            "dry_run": True,
            "runs": runs,
            "api_calls": self.api_calls,
            "summary": self.summary(),
            "customers": [
                {
                    "action": x.kind,
                    "customer": self.customer(x.customer_id),
                    "before_name": x.before_name,
                    "merged_into": self.customer(x.merged_into),
                }
                for x in c.customers
            ],
            "aliases": [
                {
                    "action": x.kind,
                    "alias": x.alias,
                    "from": self.customer(x.from_customer_id),
                    "to": self.customer(x.to_customer_id),
                    "reason": x.reason,
                    "source_account_id": x.source_account_id,
                }
                for x in c.aliases
            ],
            "contracts": [
                {
                    "action": ACTIONS[x.kind],
                    "revision_kind": x.kind.value,
                    "contract_id": str(x.contract_id),
                    "name": x.contract_name,
                    "opportunity_id": x.deal_id,
                    "customer": self.customer(x.customer_id),
                    "before": x.before,
                    "after": x.after,
                    "cause": x.cause,
                }
                for x in c.contracts
            ],
            "dead_letters": [
                {
                    "action": x.kind,
                    "source": x.source,
                    "reference": x.reference,
                    "error_class": x.error_class,
                    "why": x.error_message,
                }
                for x in c.letters
            ],
            "writebacks": [{"account_id": a} for a in c.writebacks],
        }


def dry_run(
    store: Store,
    client: SalesforceClient,
    settings: Settings,
    streams: Sequence[Stream],
    *,
    full: bool = False,
    since: datetime | None = None,
    progress: Callable[[Stream, int], None] | None = None,
) -> DryRun:
    """Run `streams` as `sync run --inline` would, in order, then undo it (module docstring).

    Salesforce and store errors leave as the streams raise them, with nothing written.
    """
    with store.rolled_back() as rehearsal:
        with rehearsal.reader() as s:
            snapshot = take_snapshot(s)
        results = []
        for stream in streams:
            results.append(
                STREAMS[stream](rehearsal, client, settings).run(
                    trigger=RunTrigger.MANUAL,
                    full=full,
                    since=since,
                    progress=_for(progress, stream),
                )
            )
        with rehearsal.reader() as s:
            changes = changes_since(s, snapshot)
    return DryRun(results, changes)


def _for(
    progress: Callable[[Stream, int], None] | None, stream: Stream
) -> Callable[[int], None] | None:
    if progress is None:
        return None
    return lambda n: progress(stream, n)
