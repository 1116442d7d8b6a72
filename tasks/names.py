"""Names of the tasks that front doors enqueue by name (without importing the tasks)."""

from __future__ import annotations

PROVISION_OPPORTUNITY = "sfsync.sync.provision_opportunity"
RESOLVE_PENDING = "sfsync.usage.resolve_pending"
REPLAY_LETTER = "sfsync.deadletter.replay"
