"""The account stream: accounts changed since the cursor, read through queryAll.

Each page's customers are renamed and re-aliased, merges and moves applied
(`sync.accounts`); a dead letter of this stream is replayed by reading its account again.
"""

from __future__ import annotations

from datetime import datetime
from functools import cached_property
from typing import Unpack

from sqlalchemy.orm import Session

from sfsync.config import Settings
from sfsync.models import NotFound, Store
from sfsync.models.operations.cursors import INSTANT
from sfsync.models.operations.runs import RunCounters
from sfsync.models.types import DeadLetterSource, Stream
from sfsync.sync.account_pages import AccountPage, prepare_accounts
from sfsync.sync.accounts import ACCOUNT_STREAM, apply_accounts
from sfsync.sync.run_result import RunResult
from sfsync.sync.runner import RunOptions
from sfsync.sync.salesforce import (
    AccountRow,
    QueryRules,
    RowPage,
    SalesforceClient,
    SoqlSource,
    account_query,
    accounts_by_ids_query,
)
from sfsync.sync.streams.base import IncrementalStream, Letter

__all__ = ["AccountStream", "poll_accounts"]


class AccountStream(IncrementalStream[AccountRow, AccountPage, datetime]):
    """Names and ingest aliases of provisioned customers follow their accounts."""

    name = Stream.ACCOUNTS
    task = "POLL_ACCOUNTS"
    cursor = INSTANT
    letters = DeadLetterSource.ACCOUNT
    cause = ACCOUNT_STREAM

    @cached_property
    def rules(self) -> QueryRules:
        """Built by the run's first query, inside the run: a bad field setting is its error."""
        return QueryRules.of(self.settings)

    def source(self) -> SoqlSource[AccountRow]:
        return self.soql_source(
            lambda start, until: account_query(self.rules, start, until=until), AccountRow.of
        )

    def prepare(self, rows: RowPage[AccountRow]) -> AccountPage:
        return prepare_accounts(self.store, self.client, self.rules, rows, self.settings)

    def apply(
        self, session: Session, rows: RowPage[AccountRow], page: AccountPage, counters: RunCounters
    ) -> None:
        apply_accounts(session, rows, page, self.settings, counters, self.change)

    def replay(self, letter: Letter, *, accept_change: bool = False) -> RunCounters:
        """Re-apply the stream to the one account the letter is about."""
        records = self.client.query_all(accounts_by_ids_query(self.rules, [letter.reference]))
        if not records:
            raise NotFound(f"account {letter.reference} is deleted or not visible")
        rows = [AccountRow.of(r) for r in records]
        page = prepare_accounts(self.store, self.client, self.rules, rows, self.settings)
        counters = RunCounters()
        with self.store.session() as s:
            apply_accounts(s, rows, page, self.settings, counters)
        return counters


def poll_accounts(
    store: Store,
    client: SalesforceClient,
    settings: Settings,
    **options: Unpack[RunOptions],
) -> RunResult:
    """One run of the account stream."""
    return AccountStream(store, client, settings).run(**options)
