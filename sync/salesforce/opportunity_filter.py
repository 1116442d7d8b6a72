"""SFSYNC_SF_OPPORTUNITY_FILTER: proved once per client with a `LIMIT 1` query.

The filter is operator-written SOQL appended to every opportunity query, so a typo would
otherwise surface as a stream that fails on every page with Salesforce's bare message. One
cheap query on first use turns it into a single error naming the setting
(`SalesforceConfigError`: a bad setting, exit code 2 on the command line, the run's error in
a worker). A check that passed is remembered for the client's lifetime, which is the worker
process's for the tasks: the idle poll keeps its one call.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence

from sfsync.sync.salesforce.client import SalesforceClient
from sfsync.sync.salesforce.errors import (
    FIELD_CODES,
    SalesforceConfigError,
    SalesforcePermanentError,
)
from sfsync.sync.salesforce.ids import normalize_id
from sfsync.sync.salesforce.soql import (
    QueryRules,
    chunk_ids,
    counted_ids_query,
    opportunity_filter_check_query,
)

__all__ = ["SETTING", "check_opportunity_filter", "counted_ids"]

SETTING = "SFSYNC_SF_OPPORTUNITY_FILTER"

#: client → the filter it has proved; weak, so a closed client takes its entry with it.
_proved: weakref.WeakKeyDictionary[SalesforceClient, str] = weakref.WeakKeyDictionary()


def check_opportunity_filter(client: SalesforceClient, rules: QueryRules) -> None:
    """Raise `SalesforceConfigError` naming the setting if Salesforce refuses the filter.

    No call without a filter, nor after this client has proved the same one. Other
    failures (network, throttling, credentials) propagate as they are: they say nothing
    about the filter, and the next use checks again.
    """
    condition = rules.opportunity_filter
    if not condition or _proved.get(client) == condition:
        return
    try:
        client.query_all(opportunity_filter_check_query(rules))
    except SalesforcePermanentError as exc:
        if exc.error_code not in FIELD_CODES:
            raise
        raise SalesforceConfigError(
            f"{SETTING} is not a valid SOQL condition on Opportunity ({condition!r}); "
            f"Salesforce answered {exc.error_code}: {_reason(exc)}"
        ) from exc
    _proved[client] = condition


def counted_ids(client: SalesforceClient, rules: QueryRules, ids: Sequence[str]) -> set[str]:
    """Which of these won opportunities the filter keeps (18-character ids).

    A run that reads every change (won or not, deleted or not) cannot put the filter in its
    WHERE clause without hiding the deals that stopped matching it; it asks instead, one
    call per page of won rows, and only when a filter is set.
    """
    kept: set[str] = set()
    for chunk in chunk_ids(ids):
        for record in client.query_all(counted_ids_query(rules, chunk)):
            kept.add(normalize_id(str(record["Id"])))
    return kept


def _reason(exc: SalesforcePermanentError) -> str:
    """Salesforce's own words: its MALFORMED_QUERY text repeats the query over several
    lines before the reason, and `translate` adds a prefix and a field-settings hint that
    do not apply to a filter."""
    text = exc.message.partition("; check ")[0]
    if exc.error_code and f"{exc.error_code}: " in text:
        text = text.split(f"{exc.error_code}: ", 1)[1]
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else exc.message
