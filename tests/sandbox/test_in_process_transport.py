"""The in-process transport: simple-salesforce talks to a sandbox org with no socket and no
thread, and gets the answers the org's HTTP server would give."""

from __future__ import annotations

import threading
from email.utils import parsedate_to_datetime

import pytest
import requests
from simple_salesforce.api import Salesforce

from sfsync.sandbox import SandboxOrg
from sfsync.sandbox.client import InProcessTransport, in_process_session
from sfsync.sync.salesforce import SalesforceClient, SalesforceTransientError


def _simple_salesforce(org: SandboxOrg) -> Salesforce:
    return Salesforce(
        instance_url=org.instance_url,
        session_id=org.issue_token(),
        session=in_process_session(org),
    )


def test_a_query_is_answered_in_process_without_a_server_or_thread(
    in_process_org: SandboxOrg,
) -> None:
    """Every opportunity comes back through query_more pages; the org binds no port."""
    threads = threading.active_count()
    records = _simple_salesforce(in_process_org).query_all("SELECT Id FROM Opportunity")
    assert {r["Id"] for r in records["records"]} == {
        r.id for r in in_process_org.store.rows("Opportunity") if not r.deleted
    }
    assert in_process_org.counters()["queries"]  # served by the org, counted as it counts
    assert threading.active_count() == threads
    assert in_process_org._http is None


def test_the_date_header_is_the_org_clock(in_process_org: SandboxOrg) -> None:
    """As over HTTP, a response's Date is the org's clock, which tests move."""
    in_process_org.clock.advance(86_400 * 30)
    session = in_process_session(in_process_org)
    answer = session.get(f"{in_process_org.instance_url}/services/data/")
    assert answer.status_code == 200
    served = parsedate_to_datetime(answer.headers["Date"])
    assert abs((served - in_process_org.clock.now()).total_seconds()) < 1


def test_an_error_answer_keeps_its_status_and_salesforce_body(in_process_org: SandboxOrg) -> None:
    """An injected 503 reaches the caller as a 503 with Salesforce's error list."""
    in_process_org.faults.fail_next(1, "503")
    session = in_process_session(in_process_org)
    answer = session.get(
        f"{in_process_org.instance_url}/services/data/v59.0/query",
        params={"q": "SELECT Id FROM Account"},
        headers={"Authorization": f"Bearer {in_process_org.issue_token()}"},
    )
    assert answer.status_code == 503
    assert answer.json()[0]["errorCode"] == "SERVER_UNAVAILABLE"


def test_calls_elsewhere_are_not_served_by_the_org(in_process_org: SandboxOrg) -> None:
    """Only the org's own URL is mounted: another host is not answered by it."""
    session = in_process_session(in_process_org)
    assert isinstance(session.get_adapter(in_process_org.instance_url), InProcessTransport)
    other = session.get_adapter("https://login.salesforce.com/services/oauth2/token")
    assert not isinstance(other, InProcessTransport)


def test_the_client_retries_a_transient_failure_in_process(
    in_process_org: SandboxOrg, in_process_client: SalesforceClient
) -> None:
    """sfsync's client retries a 503 and reads the page; past its attempts, it gives up."""
    in_process_org.faults.fail_next(1, "503")
    assert len(in_process_client.query_all("SELECT Id FROM Account")) == len(
        in_process_org.store.rows("Account")
    )
    in_process_org.faults.fail_next(10, "503")
    with pytest.raises(SalesforceTransientError):
        in_process_client.query_all("SELECT Id FROM Account")


def test_the_transport_opens_no_connection(in_process_org: SandboxOrg) -> None:
    """A session using it needs no network: requests' own adapters are never reached."""
    refusing = requests.Session()
    refusing.mount("https://", _Refuse())
    refusing.mount("http://", _Refuse())
    session = in_process_session(in_process_org, refusing)
    assert session.get(f"{in_process_org.instance_url}/services/data/").status_code == 200


class _Refuse(requests.adapters.BaseAdapter):
    def send(self, *args: object, **kwargs: object) -> requests.Response:
        raise AssertionError("a request left the process")

    def close(self) -> None:
        """Nothing to close."""


def test_a_response_streams_and_closes_like_one_read_from_a_socket(
    in_process_org: SandboxOrg,
) -> None:
    """`stream=True`, iter_content and close() work on the whole body held in memory."""
    session = in_process_session(in_process_org)
    with session.get(f"{in_process_org.instance_url}/services/data/", stream=True) as answer:
        streamed = b"".join(answer.iter_content(chunk_size=7))
    assert streamed == answer.content
    assert answer.json()[0]["version"]
