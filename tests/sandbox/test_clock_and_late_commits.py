"""Salesforce's clock in the Date header, and late commits that carry an older SystemModstamp."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import requests
from simple_salesforce.api import Salesforce
from simple_salesforce.format import format_soql

from sfsync.sandbox import SandboxOrg
from sfsync.sandbox.control import Steering

FAR = datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC)


def _date(response: requests.Response) -> datetime:
    return parsedate_to_datetime(response.headers["Date"])


def test_query_responses_carry_the_org_clock_in_date(org: SandboxOrg, sf: Salesforce):
    """A query through simple-salesforce answers with Date = the org's clock, not the host's."""
    seen: list[requests.Response] = []
    sf.session.hooks["response"].append(lambda r, *args, **kwargs: seen.append(r))
    org.clock.set(FAR)
    sf.query("SELECT Id FROM Account LIMIT 1")
    assert len(seen) == 1
    assert abs((_date(seen[0]) - FAR).total_seconds()) < 5


def test_every_kind_of_response_has_one_date_header(org: SandboxOrg):
    """Versions, errors, token refusals and control calls all carry the org clock's Date."""
    org.clock.set(FAR)
    base = org.instance_url
    responses = [
        requests.get(base + "/services/data/", timeout=5),
        requests.get(base + "/services/data/v59.0/nowhere", timeout=5),
        requests.get(base + "/services/data/v59.0/limits", timeout=5),  # 401: no token
        requests.post(base + "/services/oauth2/token", data={"grant_type": "x"}, timeout=5),
        requests.get(base + "/__sandbox__/clock", timeout=5),
    ]
    for response in responses:
        # requests joins repeated headers with ", ", which would not parse as one date.
        assert abs((_date(response) - FAR).total_seconds()) < 5, response.url


def test_a_late_commit_lands_behind_a_cursor_that_already_passed_it(
    org: SandboxOrg, sf: Salesforce, steer: Steering
):
    """An update committed with an older stamp is invisible to `SystemModstamp >= cursor`."""
    target = org.store.rows("Opportunity")[0].id
    now = org.clock.now()
    cursor = now - timedelta(minutes=1)
    late = now - timedelta(minutes=30)
    steer.update("Opportunity", target, {"Amount": 4321.0}, commit_at=late)
    rec = sf.query(
        format_soql(
            "SELECT Amount, SystemModstamp, LastModifiedDate FROM Opportunity WHERE Id = {}",
            target,
        )
    )["records"][0]
    assert rec["Amount"] == 4321.0
    stamp = late.replace(microsecond=late.microsecond // 1000 * 1000)
    expected = stamp.isoformat(timespec="milliseconds").replace("+00:00", "+0000")
    assert rec["SystemModstamp"] == rec["LastModifiedDate"] == expected
    since = format_soql("SELECT Id FROM Opportunity WHERE SystemModstamp >= {}", cursor)
    assert target not in {r["Id"] for r in sf.query_all_iter(since)}


def test_a_late_insert_is_stamped_entirely_in_the_past(
    org: SandboxOrg, sf: Salesforce, steer: Steering
):
    """A record created with commit_at has CreatedDate = LastModifiedDate = SystemModstamp."""
    late = org.clock.now() - timedelta(hours=2)
    new = steer.create("Account", {"Name": "Late Ltd"}, commit_at=late.replace(microsecond=123000))
    rec = sf.query(
        format_soql(
            "SELECT CreatedDate, LastModifiedDate, SystemModstamp FROM Account WHERE Id = {}", new
        )
    )["records"][0]
    assert rec["CreatedDate"] == rec["LastModifiedDate"] == rec["SystemModstamp"]
    assert rec["SystemModstamp"].endswith(".123+0000")


def test_a_naive_commit_at_is_taken_as_utc(org: SandboxOrg, sf: Salesforce):
    """commit_at without a timezone means UTC, as the clock's `set` does, and stays queryable."""
    naive = datetime(2026, 3, 4, 5, 6, 7)
    new = org.create("Account", {"Name": "Naive Ltd"}, commit_at=naive)
    assert org.get("Account", new)["SystemModstamp"] == "2026-03-04T05:06:07.000+0000"
    soql = format_soql(
        "SELECT Id FROM Account WHERE SystemModstamp = {}", naive.replace(tzinfo=UTC)
    )
    assert [r["Id"] for r in sf.query(soql)["records"]] == [new]
