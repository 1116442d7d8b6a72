"""Read-only reports across concerns: the console's overview and `/metrics` figures, filtered
look-ups for the console and the CLI, and what a piece of work changed (a dry run's plan).

This package's `__all__` is its surface.
"""

from sfsync.models.reports.overview import (
    CHANGE_COUNTERS,
    RUN_DURATION_BUCKETS,
    ApiUsage,
    IngestTotals,
    LastRun,
    Overview,
    PendingUsage,
    RecordTotals,
    StreamState,
    open_letters_by_source,
    read_overview,
)
from sfsync.models.reports.search import (
    count_letters,
    count_of,
    count_runs,
    customer_by_id_or_alias,
    find_letters,
    find_runs,
    search_customers,
)
from sfsync.models.reports.store_changes import (
    AliasChange,
    ContractChange,
    CustomerChange,
    LetterChange,
    Snapshot,
    StoreChanges,
    changes_since,
    take_snapshot,
)

__all__ = [
    "CHANGE_COUNTERS",
    "RUN_DURATION_BUCKETS",
    "AliasChange",
    "ApiUsage",
    "ContractChange",
    "CustomerChange",
    "IngestTotals",
    "LastRun",
    "LetterChange",
    "Overview",
    "PendingUsage",
    "RecordTotals",
    "Snapshot",
    "StoreChanges",
    "StreamState",
    "changes_since",
    "count_letters",
    "count_of",
    "count_runs",
    "customer_by_id_or_alias",
    "find_letters",
    "find_runs",
    "open_letters_by_source",
    "read_overview",
    "search_customers",
    "take_snapshot",
]
