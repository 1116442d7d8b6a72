"""Draining the writeback outbox: the billing customer id onto the Salesforce account.

One drain makes at most `SFSYNC_WRITEBACK_MAX_PER_POLL` calls, oldest due rows first. A
failure never blocks or undoes provisioning, and never holds back the rows behind it:

- one that can never succeed (the account deleted, the field not editable by the user: a
  `SalesforcePermanentError`) becomes a dead letter (source `salesforce.writeback`) and
  leaves the outbox; `dlq retry` writes it again once the cause is fixed;
- one that may pass (5xx, timeouts, lock contention) stays pending and backs off
  (`models.operations.writebacks.backoff`);
- an exhausted API allowance or rejected credentials stop the drain with every row left
  as it was: they are not the rows' fault.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sfsync.config import Settings
from sfsync.models import Store
from sfsync.models.operations.deadletters import Failure, add_letter
from sfsync.models.operations.writebacks import due, mark_done, mark_failed, remove
from sfsync.models.tables import Writeback
from sfsync.models.types import DeadLetterSource, utcnow
from sfsync.sync.salesforce import (
    SalesforceAuthError,
    SalesforceClient,
    SalesforceError,
    SalesforcePermanentError,
    SalesforceThrottled,
)

__all__ = ["Drained", "flush_writebacks", "write_back"]


@dataclass(frozen=True)
class Drained:
    written: int
    failed: int
    dead_lettered: int = 0


def write_back(
    client: SalesforceClient, settings: Settings, account_id: str, customer: str
) -> None:
    """Write one customer id to its account (raises the client's errors)."""
    assert settings.sf_writeback_field
    client.update("Account", account_id, {settings.sf_writeback_field: customer})


def flush_writebacks(
    store: Store, client: SalesforceClient, settings: Settings, *, now: datetime | None = None
) -> Drained:
    """Write due customer ids to their accounts (no-op without a writeback field)."""
    if not settings.sf_writeback_field:
        return Drained(0, 0)
    now = now or utcnow()
    with store.session() as s:
        rows = [(w.account_id, w.customer_id) for w in due(s, settings.writeback_max_per_poll, now)]
    if not rows:
        return Drained(0, 0)
    client.refresh_budget()
    written = failed = dead = 0
    for account_id, customer_id in rows:
        try:
            write_back(client, settings, account_id, str(customer_id))
        except (SalesforceThrottled, SalesforceAuthError):
            break
        except SalesforcePermanentError as exc:
            dead += 1
            with store.session() as s:
                add_letter(s, _letter(account_id, str(customer_id), settings, exc))
                remove(s, s.get_one(Writeback, account_id))
            continue
        except SalesforceError as exc:
            failed += 1
            with store.session() as s:
                mark_failed(s, s.get_one(Writeback, account_id), str(exc), now)
            continue
        written += 1
        with store.session() as s:
            mark_done(s, s.get_one(Writeback, account_id))
    return Drained(written, failed, dead)


def _letter(account_id: str, customer: str, settings: Settings, exc: SalesforceError) -> Failure:
    return Failure(
        source=DeadLetterSource.WRITEBACK,
        reference=account_id,
        error_class=type(exc).__name__,
        error_message=(
            f"writing customer {customer} to {settings.sf_writeback_field} of account "
            f"{account_id} failed for good: {exc}"
        ),
        payload={"account_id": account_id, "customer_id": customer},
    )
