"""The Salesforce adapter: everything sfsync knows about talking to a Salesforce org.

The rest of the project imports from here, never from the modules inside:

    client.py              `SalesforceClient` (timeouts, retries, session renewal, API budget)
                           and `Page`; one per worker process, kept across runs
    auth.py, modes.py      the login modes and how the settings choose one
    errors.py              the error tree (drawn there) and the one translation point
    soql.py                SOQL text, pure functions of `QueryRules` (built once per run)
    ids.py, records.py     Salesforce ids, and reading REST records
    hierarchy.py           account hierarchies: `AccountNode`, `HierarchyCache`
    opportunity_filter.py  SFSYNC_SF_OPPORTUNITY_FILTER proved against the org
    describe.py            describes, identity, allowance, counts; multi-currency detected
    fields.py              which setting names each field (for errors that say what to fix)
    readiness.py           `sfsync check`: what a sync needs, the org's facts, the report
    rows.py                records parsed once: `OpportunityRow`, `AccountRow`
    source.py              `SoqlSource`: a stream's rows, in time windows on QUERY_TIMEOUT

It depends on `config` and third-party libraries only: no store, no Celery, no other part of
`sync`, so what it returns is Salesforce's data in Salesforce's terms and mapping it is the
caller's business (`tests/unit/test_layering.py` holds it to that).
"""

from sfsync.sync.salesforce.client import QUERY_BATCH_SIZE, Page, SalesforceClient
from sfsync.sync.salesforce.describe import (
    Allowance,
    FieldInfo,
    ObjectInfo,
    OrgIdentity,
    api_allowance,
    count,
    describe,
    org_identity,
    org_multi_currency,
)
from sfsync.sync.salesforce.errors import (
    SalesforceAuthError,
    SalesforceConfigError,
    SalesforceError,
    SalesforcePermanentError,
    SalesforceQueryLocatorExpired,
    SalesforceQueryTimeout,
    SalesforceSessionExpired,
    SalesforceThrottled,
    SalesforceTransientError,
)
from sfsync.sync.salesforce.fields import field_settings
from sfsync.sync.salesforce.hierarchy import (
    AccountNode,
    HierarchyCache,
    fetch_ancestors,
    fetch_descendants,
    node_from_record,
)
from sfsync.sync.salesforce.ids import normalize_id, valid_id
from sfsync.sync.salesforce.modes import AuthMode, choose_mode
from sfsync.sync.salesforce.opportunity_filter import check_opportunity_filter, counted_ids
from sfsync.sync.salesforce.readiness import (
    FieldNeed,
    OrgFacts,
    SalesforceReadiness,
    assess_readiness,
    field_needs,
    gather_org_facts,
)
from sfsync.sync.salesforce.records import record_value, strip_attributes
from sfsync.sync.salesforce.rows import AccountRow, OpportunityRow, Row, parse_modstamp
from sfsync.sync.salesforce.soql import (
    IN_LIST_MAX_CHARS,
    OPPORTUNITY_IN_LIST_MAX_CHARS,
    QueryRules,
    account_query,
    accounts_by_ids_query,
    chunk_ids,
    opportunity_by_ids_query,
    opportunity_query,
    opportunity_states_query,
    organization_currency_query,
    won_on_accounts_query,
    won_opportunity_ids_query,
)
from sfsync.sync.salesforce.source import (
    EARLIEST,
    MAX_LOCATOR_RESTARTS,
    MIN_WINDOW,
    RowPage,
    SoqlSource,
    SourceRun,
)

__all__ = [
    "EARLIEST",
    "IN_LIST_MAX_CHARS",
    "MAX_LOCATOR_RESTARTS",
    "MIN_WINDOW",
    "OPPORTUNITY_IN_LIST_MAX_CHARS",
    "QUERY_BATCH_SIZE",
    "AccountNode",
    "AccountRow",
    "Allowance",
    "AuthMode",
    "FieldInfo",
    "FieldNeed",
    "HierarchyCache",
    "ObjectInfo",
    "OpportunityRow",
    "OrgFacts",
    "OrgIdentity",
    "Page",
    "QueryRules",
    "Row",
    "RowPage",
    "SalesforceAuthError",
    "SalesforceClient",
    "SalesforceConfigError",
    "SalesforceError",
    "SalesforcePermanentError",
    "SalesforceQueryLocatorExpired",
    "SalesforceQueryTimeout",
    "SalesforceReadiness",
    "SalesforceSessionExpired",
    "SalesforceThrottled",
    "SalesforceTransientError",
    "SoqlSource",
    "SourceRun",
    "account_query",
    "accounts_by_ids_query",
    "api_allowance",
    "assess_readiness",
    "check_opportunity_filter",
    "choose_mode",
    "chunk_ids",
    "count",
    "counted_ids",
    "describe",
    "fetch_ancestors",
    "fetch_descendants",
    "field_needs",
    "field_settings",
    "gather_org_facts",
    "node_from_record",
    "normalize_id",
    "opportunity_by_ids_query",
    "opportunity_query",
    "opportunity_states_query",
    "org_identity",
    "org_multi_currency",
    "organization_currency_query",
    "parse_modstamp",
    "record_value",
    "strip_attributes",
    "valid_id",
    "won_on_accounts_query",
    "won_opportunity_ids_query",
]
