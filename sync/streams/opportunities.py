"""The closed-won stream: opportunities changed since the cursor, read through queryAll.

Each page: the rows that are deals (won, not deleted, kept by the filter) are mapped with
their accounts' hierarchies and provisioned (`sync.opportunities`); held deals that stopped
counting are ended or archived (`sync.gone_deals`). What a run keeps from page to page (the
hierarchy cache, the aliases memo, the org's currency, the query rules) are its fields.
"""

from __future__ import annotations

from datetime import datetime
from functools import cached_property
from typing import Any, ClassVar, Unpack

from sqlalchemy.orm import Session

from sfsync.config import Settings
from sfsync.models import Store
from sfsync.models.contracts.records import any_contracts
from sfsync.models.operations.cursors import INSTANT
from sfsync.models.operations.runs import RunCounters
from sfsync.models.types import DeadLetterSource, Stream
from sfsync.sync.gone_deals import GoneDeal, apply_gone, counts, gone_deals, unchanged_deals
from sfsync.sync.mapping import AliasMemo
from sfsync.sync.mapping_rules import MappingRules
from sfsync.sync.opportunities import (
    OpportunityPage,
    apply_mapped,
    map_records,
    provision_opportunities,
)
from sfsync.sync.opportunity_hierarchy import OrgCurrency, hierarchy_for, known_deals
from sfsync.sync.run_result import RunResult
from sfsync.sync.runner import RunOptions
from sfsync.sync.salesforce import (
    HierarchyCache,
    OpportunityRow,
    QueryRules,
    RowPage,
    SalesforceClient,
    SoqlSource,
    check_opportunity_filter,
    counted_ids,
    opportunity_query,
    org_multi_currency,
)
from sfsync.sync.streams.base import IncrementalStream, Letter
from sfsync.sync.writeback import flush_writebacks

__all__ = ["OpportunityStream", "poll_opportunities"]


class OpportunityStream(IncrementalStream[OpportunityRow, OpportunityPage, datetime]):
    """Closed-won opportunities become customers and contracts."""

    name = Stream.OPPORTUNITIES
    task = "POLL_OPPORTUNITIES"
    cursor = INSTANT
    letters = DeadLetterSource.OPPORTUNITY
    accepts_change: ClassVar[bool] = True

    def __init__(
        self,
        store: Store,
        client: SalesforceClient,
        settings: Settings,
        cache: HierarchyCache | None = None,
    ) -> None:
        super().__init__(store, client, settings)
        #: The run's hierarchies; give each run its own (e.g. ``scan=False``: IN-lists only).
        self.hierarchies = cache if cache is not None else HierarchyCache()
        self.mapping = MappingRules.of(settings)
        #: The accounts' aliases, carried from page to page (a backfill spreads an
        #: account's deals over the whole run).
        self.alias_memo: AliasMemo = {}
        self.org_currency = OrgCurrency()  # read once per run, if at all

    @cached_property
    def won_only(self) -> bool:
        """Only a store that holds deals needs to see deals that left Closed Won (a full
        re-read included); an empty one reads the won ones only. Asked before the run."""
        with self.store.reader() as s:
            return not any_contracts(s)

    @cached_property
    def rules(self) -> QueryRules:
        """Built by the run's preflight, inside the run: a bad field setting is its error."""
        return QueryRules.of(self.settings, org_multi_currency(self.client))

    def preflight(self) -> None:
        check_opportunity_filter(self.client, self.rules)

    def source(self) -> SoqlSource[OpportunityRow]:
        won_only = self.won_only
        return self.soql_source(
            lambda start, until: opportunity_query(
                self.rules, start, until=until, won_only=won_only
            ),
            OpportunityRow.of,
        )

    def prepare(self, rows: RowPage[OpportunityRow]) -> OpportunityPage:
        # In the runner's look-ahead thread: Salesforce look-ups and mapping overlap the
        # previous page's transaction. Records that are not deals cost one store look-up.
        live = [r for r in rows if counts(r)]
        rest = [r for r in rows if not counts(r)]
        if live and not self.won_only and self.settings.sf_opportunity_filter:
            # Asking Salesforce which won rows the filter keeps costs a call: not for rows
            # re-read in the lookback that their contract was written from already.
            with self.store.reader() as s:
                same = unchanged_deals(s, live)
            live = [r for r in live if r.id not in same]
            ids = [r.id for r in live if r.id is not None]
            kept = counted_ids(self.client, self.rules, ids) if live else set()
            rest += [r for r in live if r.id not in kept]
            live = [r for r in live if r.id in kept]
        gone: list[GoneDeal] = []
        if rest:
            with self.store.reader() as s:
                gone = gone_deals(s, rest)
        if self.settings.alias_include_suborgs:
            # The first page's total sizes the run, which decides between scan and IN-lists.
            self.hierarchies.start_page(rows.page)
        hierarchy = hierarchy_for(
            self.client,
            self.settings,
            self.rules,
            live,
            self.hierarchies,
            known_deals(self.store, live),
            self.org_currency,
        )
        mapped = map_records(live, hierarchy, self.mapping, self.alias_memo)
        return OpportunityPage(live, mapped, gone, len(rows))

    def apply(
        self,
        session: Session,
        rows: RowPage[OpportunityRow],
        page: OpportunityPage,
        counters: RunCounters,
    ) -> None:
        apply_mapped(session, page.live, page.mapped, self.settings, counters, self.change)
        counters.records_seen += page.size - len(page.live)
        apply_gone(session, page.gone, self.change, counters)

    def after_run(self) -> dict[str, Any]:
        """Drain the writeback outbox the run may have filled."""
        drained = flush_writebacks(self.store, self.client, self.settings)
        return {"writebacks_written": drained.written}

    def replay(self, letter: Letter, *, accept_change: bool = False) -> RunCounters:
        cause = (
            f"change accepted by an operator (dead letter {letter.id})"
            if accept_change
            else f"replay of dead letter {letter.id}"
        )
        return provision_opportunities(
            self.store,
            self.client,
            self.settings,
            [letter.reference],
            cause=cause,
            accept_change=accept_change,
        )


def poll_opportunities(
    store: Store,
    client: SalesforceClient,
    settings: Settings,
    *,
    cache: HierarchyCache | None = None,
    **options: Unpack[RunOptions],
) -> RunResult:
    """One run of the closed-won stream (`cache`: the run's hierarchies, see the class)."""
    return OpportunityStream(store, client, settings, cache).run(**options)
