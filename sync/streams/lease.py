"""One run at a time per stream: the lease around every stream's run.

A run holds its stream's lease for its whole length (the run renews it as it goes), so
overlapping beat ticks, manual runs and several workers never run a stream at once; a run
that finds the lease held records itself as `skipped` and does nothing else.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable

from sfsync.models import Store
from sfsync.models.operations.cursors import acquire_lease, release_lease
from sfsync.models.operations.runs import record_skipped
from sfsync.models.types import RunStatus, RunTrigger, Stream
from sfsync.sync.run_result import RunResult

__all__ = ["HELD", "lease_owner", "leased_run"]

#: Why a run that found the lease held did nothing.
HELD = "another run holds the lease"


def lease_owner() -> str:
    """A lease owner unique to this process and call: host, pid and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def leased_run(
    store: Store,
    stream: Stream,
    ttl: float,
    run: Callable[[str], RunResult],
    *,
    trigger: RunTrigger = RunTrigger.BEAT,
    owner: str | None = None,
) -> RunResult:
    """`run(owner)` under the stream's lease, released afterwards whatever happened; a
    `skipped` run (recorded, with the reason) if another owner holds it."""
    owner = owner or lease_owner()
    with store.session() as s:
        if not acquire_lease(s, stream, owner, ttl):
            skipped = record_skipped(s, stream, trigger, HELD)
            return RunResult(skipped.id, stream, RunStatus.SKIPPED, error=skipped.error)
    try:
        return run(owner)
    finally:
        with store.session() as s:
            release_lease(s, stream, owner)
