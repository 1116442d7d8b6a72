"""Every task's name, defined once: the tasks register under them, `celery_app.py` routes and
schedules them, and the front doors (the CLI, the API) enqueue by them.

Imports nothing, so `celery_app.py` (which depends on `config` and this module only) and any
producer can name a task without importing it, or a store, or Salesforce. A name is wire
format: queued messages, beat schedules and stored dead letters carry it, so one is renamed
only with a migration of what holds it.

The first part after ``sfsync.`` is the task's group; the routes send each group to its queue.
"""

from __future__ import annotations

__all__ = [
    "DEADLETTER",
    "INGEST_USAGE",
    "POLL_ACCOUNTS",
    "POLL_OPPORTUNITIES",
    "PROVISION_OPPORTUNITY",
    "PROVISION_SIGNUP",
    "RECONCILE",
    "REPLAY_LETTER",
    "RESOLVE_PENDING",
    "SIGNUP",
    "SYNC",
    "USAGE",
]

#: Groups (each routed to one queue by `celery_app.ROUTES`).
SYNC = "sfsync.sync"
SIGNUP = "sfsync.signup"
USAGE = "sfsync.usage"
DEADLETTER = "sfsync.deadletter"

POLL_OPPORTUNITIES = f"{SYNC}.poll_opportunities"
POLL_ACCOUNTS = f"{SYNC}.poll_accounts"
RECONCILE = f"{SYNC}.reconcile"
PROVISION_OPPORTUNITY = f"{SYNC}.provision_opportunity"
PROVISION_SIGNUP = f"{SIGNUP}.provision_customer"
INGEST_USAGE = f"{USAGE}.ingest"
RESOLVE_PENDING = f"{USAGE}.resolve_pending"
REPLAY_LETTER = f"{DEADLETTER}.replay"
