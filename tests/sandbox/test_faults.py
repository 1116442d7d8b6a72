"""Injected faults surface as the exceptions and error codes real Salesforce produces."""

from __future__ import annotations

import pytest
import requests
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
)

from sfsync.sandbox import SandboxOrg
from tests.sandbox.conftest import client_for, error_code

Q = "SELECT Id FROM Account LIMIT 1"


@pytest.mark.parametrize(
    ("kind", "exc_type", "status", "code"),
    [
        ("500", SalesforceGeneralError, 500, "UNKNOWN_EXCEPTION"),
        ("503", SalesforceGeneralError, 503, "SERVER_UNAVAILABLE"),
        ("401", SalesforceExpiredSession, 401, "INVALID_SESSION_ID"),
        ("403", SalesforceRefusedRequest, 403, "REQUEST_LIMIT_EXCEEDED"),
        ("query_timeout", SalesforceMalformedRequest, 400, "QUERY_TIMEOUT"),
        ("locator", SalesforceMalformedRequest, 400, "INVALID_QUERY_LOCATOR"),
    ],
)
def test_fault_kinds_raise_the_matching_exception(
    org: SandboxOrg, sf: Salesforce, kind: str, exc_type: type[Exception], status: int, code: str
):
    """fail_next(1, kind) fails exactly one call with Salesforce's status and errorCode."""
    org.faults.fail_next(1, kind)
    with pytest.raises(exc_type) as exc:
        sf.query(Q)
    assert getattr(exc.value, "status", None) == status
    assert error_code(exc.value) == code
    if kind == "401":
        sf = client_for(org, org.issue_token())
    assert sf.query(Q)["totalSize"] == 1


def test_401_fault_revokes_the_presented_token(org: SandboxOrg, sf: Salesforce):
    """After an INVALID_SESSION_ID fault the same token keeps failing, like a revoked session."""
    org.faults.fail_next(1, "401")
    for _ in range(2):
        with pytest.raises(SalesforceExpiredSession):
            sf.query(Q)


def test_path_filter_limits_faults_to_matching_requests(org: SandboxOrg, sf: Salesforce):
    """A fault with paths=['/query/'] spares the first page and hits query_more."""
    org.faults.fail_next(1, "503", paths=["/query/01g"])
    first = sf.query("SELECT Id FROM Opportunity")
    with pytest.raises(SalesforceGeneralError):
        sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    assert sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)["records"]


def test_fail_ratio_is_seeded_and_repeatable(org: SandboxOrg, sf: Salesforce):
    """The same ratio and seed fail the same calls."""

    def pattern() -> list[bool]:
        org.faults.clear()
        org.faults.fail_ratio(0.5, "500", seed=42)
        outcome = []
        for _ in range(12):
            try:
                sf.query(Q)
                outcome.append(True)
            except SalesforceGeneralError:
                outcome.append(False)
        return outcome

    first = pattern()
    assert first == pattern()
    assert True in first and False in first


def test_hung_request_hits_the_client_read_timeout(org: SandboxOrg, sf: Salesforce):
    """hang_next blocks the response so the client's timeout= fires; the next call is fine."""
    org.faults.hang_next(1)
    with pytest.raises(requests.exceptions.ReadTimeout):
        sf.query(Q, timeout=0.5)
    assert sf.query(Q, timeout=5)["totalSize"] == 1


def test_stop_does_not_wait_for_hung_requests():
    """stop() returns promptly although a handler is blocked in a hang."""
    org = SandboxOrg(opportunities=10).start()
    sf = client_for(org)
    org.faults.hang_next(1)
    with pytest.raises(requests.exceptions.ReadTimeout):
        sf.query(Q, timeout=0.3)
    org.stop()  # the test timeout catches a stop() that waits for the hung handler


def test_latency_delays_but_serves(org: SandboxOrg, sf: Salesforce):
    """latency(s) slows a response below the timeout without failing it."""
    org.faults.latency(0.3)
    with pytest.raises(requests.exceptions.ReadTimeout):
        sf.query(Q, timeout=0.1)
    org.faults.clear()
    assert sf.query(Q, timeout=5)["totalSize"] == 1


def test_control_endpoints_drive_faults_records_clock_and_counters(org: SandboxOrg, sf: Salesforce):
    """The /__sandbox__/ HTTP controls mirror the Python API without a bearer token."""
    base = org.instance_url + "/__sandbox__"
    http = requests.Session()
    assert (
        http.post(base + "/faults", json={"kind": "503", "next": 1}, timeout=5).status_code == 204
    )
    with pytest.raises(SalesforceGeneralError):
        sf.query(Q)
    created = http.post(base + "/records/Account", json={"Name": "Initech"}, timeout=5).json()
    assert (
        http.patch(
            f"{base}/records/Account/{created['id']}",
            json={"Ingest_Alias__c": "initech-eu"},
            timeout=5,
        ).status_code
        == 204
    )
    assert org.get("Account", created["id"])["Ingest_Alias__c"] == "initech-eu"
    assert http.delete(f"{base}/records/Account/{created['id']}", timeout=5).status_code == 204
    before = org.clock.now()
    now = http.post(base + "/clock", json={"advance": 3600}, timeout=5).json()["now"]
    assert now > before.strftime("%Y-%m-%dT%H:%M:%S")
    counters = http.get(base + "/counters", timeout=5).json()
    assert counters["calls"]["query"] >= 1
    assert http.post(base + "/counters/reset", timeout=5).status_code == 204
    assert http.get(base + "/counters", timeout=5).json()["calls"] == {}
    assert http.post(base + "/revoke", timeout=5).status_code == 204
    with pytest.raises(SalesforceExpiredSession):
        sf.query(Q)
    assert (
        http.post(base + "/faults", json={"kind": "bogus", "next": 1}, timeout=5).status_code == 400
    )


def test_expired_token_lifetime_is_invalid_session(org: SandboxOrg, sf: Salesforce):
    """Tokens older than the configured lifetime on the org clock are refused."""
    org.set_token_lifetime(600)
    assert sf.query(Q)["totalSize"] == 1
    org.clock.advance(601)
    with pytest.raises(SalesforceExpiredSession):
        sf.query(Q)
