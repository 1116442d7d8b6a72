"""The REST surface through the real simple-salesforce client over loopback HTTP."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import requests
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import (
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)
from simple_salesforce.format import format_soql

from sfsync.sandbox import SandboxOrg
from sfsync.sandbox.ids import is_valid
from tests.sandbox.conftest import error_code, sobject

SOQL = "SELECT Id, SystemModstamp FROM Opportunity ORDER BY SystemModstamp, Id"


def test_query_all_iter_pages_through_every_row_in_order(big_org: SandboxOrg, big_sf: Salesforce):
    """query_all_iter follows nextRecordsUrl across pages and keeps the ORDER BY order."""
    big_org.reset_counters()
    rows = list(big_sf.query_all_iter(SOQL, timeout=30))
    assert len(rows) == 12_000
    keys = [(r["SystemModstamp"], r["Id"]) for r in rows]
    assert keys == sorted(keys)
    assert len({r["Id"] for r in rows}) == 12_000
    assert big_org.counters()["calls"]["query_more"] == 5


def test_batch_size_header_sets_the_page_size(big_sf: Salesforce):
    """Sforce-Query-Options: batchSize=N is honoured within 200-2000."""
    page = big_sf.query(SOQL, headers={"Sforce-Query-Options": "batchSize=500"})
    assert len(page["records"]) == 500
    assert page["nextRecordsUrl"].endswith("-500")
    assert page["totalSize"] == 12_000


def test_parent_fields_arrive_nested(big_sf: Salesforce):
    """Account.Name and Account.Parent.Name come back as nested parent records."""
    soql = (
        "SELECT Id, Account.Name, Account.Parent.Name, Account.ParentId FROM Opportunity "
        "WHERE Account.ParentId != null LIMIT 5"
    )
    records = big_sf.query(soql)["records"]
    assert records
    for rec in records:
        assert rec["attributes"]["type"] == "Opportunity"
        account = rec["Account"]
        assert account["attributes"]["type"] == "Account"
        assert set(account) == {"attributes", "Name", "Parent", "ParentId"}
        assert account["Parent"]["attributes"]["type"] == "Account"
        assert isinstance(account["Parent"]["Name"], str)


def test_empty_lookup_is_null(org: SandboxOrg, sf: Salesforce):
    """A parent relationship with no parent is JSON null."""
    orphan = org.create(
        "Opportunity", {"Name": "x", "StageName": "Prospecting", "CloseDate": "2026-01-01"}
    )
    rec = sf.query(format_soql("SELECT Account.Name FROM Opportunity WHERE Id = {}", orphan))
    assert rec["records"][0]["Account"] is None


def test_records_have_salesforce_shapes(big_sf: Salesforce):
    """Ids are valid 18-char ids, datetimes use +0000 with millis, dates are plain."""
    rec = big_sf.query("SELECT Id, CloseDate, CreatedDate, Amount FROM Opportunity LIMIT 1")[
        "records"
    ][0]
    assert is_valid(rec["Id"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000", rec["CreatedDate"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", rec["CloseDate"])


def test_format_soql_datetimes_are_accepted(big_sf: Salesforce):
    """Aware datetimes rendered by format_soql (+00:00 offsets) parse as instants."""
    since = datetime.now(UTC) - timedelta(days=30)
    soql = format_soql(
        "SELECT COUNT() FROM Opportunity WHERE IsWon = true AND SystemModstamp >= {}", since
    )
    assert big_sf.query(soql)["totalSize"] > 0


def test_query_all_shows_deleted_rows_and_query_hides_them(org: SandboxOrg, sf: Salesforce):
    """Deletes are soft: queryAll with IsDeleted = true sees them, query does not."""
    victim = sf.query("SELECT Id FROM Opportunity LIMIT 1")["records"][0]["Id"]
    before = org.get("Opportunity", victim)["SystemModstamp"]
    org.clock.advance(5)
    sobject(sf, "Opportunity").delete(victim)
    soql = format_soql(
        "SELECT Id, IsDeleted, SystemModstamp FROM Opportunity WHERE Id = {}", victim
    )
    assert sf.query(soql)["totalSize"] == 0
    rows = sf.query_all(soql.replace("WHERE", "WHERE IsDeleted = true AND"), include_deleted=True)
    assert rows["records"][0]["IsDeleted"] is True
    assert rows["records"][0]["SystemModstamp"] > before
    with pytest.raises(SalesforceResourceNotFound):
        sobject(sf, "Opportunity").get(victim)


def test_undelete_restores_the_row_and_bumps_its_system_modstamp(org: SandboxOrg, sf: Salesforce):
    """A record undeleted over the control surface is live again, same Id, newer stamp."""
    victim = sf.query("SELECT Id FROM Opportunity LIMIT 1")["records"][0]["Id"]
    sobject(sf, "Opportunity").delete(victim)
    deleted_at = org.store.find("Opportunity", victim).wire["SystemModstamp"]  # type: ignore[union-attr]
    org.clock.advance(5)
    url = f"{org.instance_url}/__sandbox__/records/Opportunity/{victim}/undelete"
    assert requests.post(url, timeout=5).status_code == 204
    assert requests.post(url, timeout=5).json()[0]["errorCode"] == "UNDELETE_FAILED"
    restored = sobject(sf, "Opportunity").get(victim)
    assert restored["IsDeleted"] is False
    assert restored["SystemModstamp"] > deleted_at


def test_writes_bump_system_modstamp_and_derive_is_won(org: SandboxOrg, sf: Salesforce):
    """Create/update through the REST API set timestamps from the clock and derive IsWon."""
    account = sobject(sf, "Account").create({"Name": "Globex"})["id"]
    opp = sobject(sf, "Opportunity").create(
        {"Name": "Deal", "AccountId": account, "StageName": "Proposal", "CloseDate": "2026-02-01"}
    )["id"]
    first = sobject(sf, "Opportunity").get(opp)
    assert first["IsWon"] is False and first["IsClosed"] is False
    org.clock.advance(60)
    assert sobject(sf, "Opportunity").update(opp, {"StageName": "Signed", "Amount": 1234.5}) == 204
    second = sobject(sf, "Opportunity").get(opp)
    assert second["IsWon"] is True and second["IsClosed"] is True
    assert second["SystemModstamp"] > first["SystemModstamp"]
    assert second["LastModifiedDate"] == second["SystemModstamp"]
    assert second["Amount"] == 1234.5


def test_write_validation_errors(sf: Salesforce):
    """Unknown fields, read-only fields and missing required fields are refused."""
    with pytest.raises(SalesforceMalformedRequest) as unknown:
        sobject(sf, "Account").create({"Name": "x", "Nope__c": 1})
    assert error_code(unknown.value) == "INVALID_FIELD"
    with pytest.raises(SalesforceMalformedRequest) as readonly:
        sobject(sf, "Account").create({"Name": "x", "SystemModstamp": "2026-01-01T00:00:00Z"})
    assert error_code(readonly.value) == "INVALID_FIELD_FOR_INSERT_UPDATE"
    with pytest.raises(SalesforceMalformedRequest) as missing:
        sobject(sf, "Opportunity").create({"Name": "x"})
    assert error_code(missing.value) == "REQUIRED_FIELD_MISSING"


@pytest.mark.parametrize(
    ("soql", "code"),
    [
        ("SELECT Id FRM Account", "MALFORMED_QUERY"),
        ("SELECT Nope FROM Account", "INVALID_FIELD"),
        ("SELECT Id FROM Lead", "INVALID_TYPE"),
        ("SELECT Account.Parent.Parent.Parent.Parent.Name FROM Opportunity", "MALFORMED_QUERY"),
    ],
)
def test_bad_queries_are_400_with_the_error_code(sf: Salesforce, soql: str, code: str):
    """Malformed SOQL, unknown fields and unknown objects map to their errorCode."""
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.query(soql)
    assert exc.value.status == 400
    assert error_code(exc.value) == code


def test_expired_locator_is_invalid_query_locator(org: SandboxOrg, sf: Salesforce):
    """A cursor idle past locator_idle_seconds answers INVALID_QUERY_LOCATOR."""
    first = sf.query("SELECT Id FROM Opportunity")
    assert not first["done"]
    org.clock.advance(901)
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    assert error_code(exc.value) == "INVALID_QUERY_LOCATOR"


def test_every_response_carries_the_limit_header(org: SandboxOrg, sf: Salesforce):
    """Sforce-Limit-Info reports usage; sf.api_usage parses it."""
    sf.query("SELECT Id FROM Account LIMIT 1")
    usage = sf.api_usage["api-usage"]
    assert (usage.used, usage.total) == (org.counters()["api_calls_total"], 1_000_000)


def test_allowance_exhausted_is_403_request_limit_exceeded(org: SandboxOrg, sf: Salesforce):
    """Past the allowance every call is refused with REQUEST_LIMIT_EXCEEDED until reset."""
    org.set_api_allowance(org.counters()["api_calls_total"] + 2)
    sf.query("SELECT Id FROM Account LIMIT 1")
    sf.limits()
    with pytest.raises(SalesforceRefusedRequest) as exc:
        sf.query("SELECT Id FROM Account LIMIT 1")
    assert error_code(exc.value) == "REQUEST_LIMIT_EXCEEDED"
    org.reset_api_usage()
    limits = sf.limits()
    assert limits["DailyApiRequests"]["Remaining"] == limits["DailyApiRequests"]["Max"] - 1


def test_versions_endpoint_needs_no_token(org: SandboxOrg):
    """GET /services/data/ lists API versions."""
    body = requests.get(org.instance_url + "/services/data/", timeout=5).json()
    assert {"version": "59.0", "url": "/services/data/v59.0", "label": "v59.0"} in body
