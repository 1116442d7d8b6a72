"""The runner reads the next page from Salesforce while the store applies the current one."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from sfsync.config import Settings
from sfsync.models import Store
from sfsync.models.operations.cursors import INSTANT
from sfsync.models.operations.runs import RunCounters
from sfsync.models.types import RunStatus, Stream
from sfsync.sync.runner import StreamSpec, run_stream
from sfsync.sync.salesforce import (
    OpportunityRow,
    QueryRules,
    SalesforceClient,
    SoqlSource,
    opportunity_query,
)
from sfsync.sync.streams.lease import leased_run

Records = Sequence[Any]


def test_the_next_page_is_read_while_this_page_is_applied(
    store: Store, client: SalesforceClient, sf_settings: Settings
) -> None:
    """Page 2's query and look-ups finish before page 1's transaction does, off its thread."""
    second_prepared = threading.Event()
    prepare_threads: set[str] = set()
    prepared_pages: list[int] = []
    applied: list[int] = []

    def prepare(records: Records) -> int:
        prepare_threads.add(threading.current_thread().name)
        prepared_pages.append(len(records))
        if len(prepared_pages) == 2:
            second_prepared.set()
        return len(records)

    def apply(session: Session, records: Records, prepared: int, counters: RunCounters) -> None:
        if not applied:
            assert second_prepared.wait(timeout=10), "page 2 was not read ahead of page 1"
        applied.append(prepared)
        counters.records_seen += len(records)

    rules = QueryRules.of(sf_settings, multi_currency=True)  # the sandbox org's default
    spec: StreamSpec[OpportunityRow, int, datetime] = StreamSpec(
        stream=Stream.OPPORTUNITIES,
        source=SoqlSource(
            client,
            lambda start, until: opportunity_query(rules, start, until=until),
            OpportunityRow.of,
            lookback=timedelta(seconds=sf_settings.sync_lookback_seconds),
        ),
        prepare=prepare,
        apply=apply,
        cursor=INSTANT,
    )
    result = leased_run(
        store,
        Stream.OPPORTUNITIES,
        60,
        lambda owner: run_stream(spec, store, client, sf_settings, owner, full=True),
    )

    assert result.status is RunStatus.SUCCEEDED
    assert len(applied) >= 2
    assert result.counters.records_seen == sum(applied)
    assert threading.current_thread().name not in prepare_threads
