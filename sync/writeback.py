"""Draining the writeback outbox: the billing customer id onto the Salesforce account.

A failure leaves the row pending (attempts + 1, the error); the next drain retries it, so
Salesforce being down never blocks or undoes provisioning.
"""

from __future__ import annotations

from dataclasses import dataclass

from config import Settings
from models import Store
from models.tables import Writeback
from models.writebacks import mark_done, mark_failed, pending
from sync.errors import SalesforceError, SalesforceThrottled
from sync.salesforce import SalesforceClient


@dataclass(frozen=True)
class Drained:
    written: int
    failed: int


def flush_writebacks(
    store: Store, client: SalesforceClient, settings: Settings, *, limit: int = 200
) -> Drained:
    """Write pending customer ids to their accounts (no-op without a writeback field)."""
    field = settings.sf_writeback_field
    if not field:
        return Drained(0, 0)
    with store.session() as s:
        rows = [(w.account_id, w.customer_id) for w in pending(s, limit)]
    written = failed = 0
    for account_id, customer_id in rows:
        try:
            client.update("Account", account_id, {field: str(customer_id)})
        except SalesforceThrottled:
            break
        except SalesforceError as exc:
            failed += 1
            with store.session() as s:
                mark_failed(s, s.get_one(Writeback, account_id), str(exc))
            continue
        written += 1
        with store.session() as s:
            mark_done(s, s.get_one(Writeback, account_id))
    return Drained(written, failed)
