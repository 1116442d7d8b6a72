"""QUERY_TIMEOUT on wide SystemModstamp ranges: deterministic, cured only by narrower windows."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest
from simple_salesforce.format import format_soql

from sfsync.sandbox import SandboxOrg
from sfsync.sandbox.control import Steering
from tests.sandbox.conftest import error_code

HOUR = 3600.0
WINDOW = (
    "SELECT Id FROM Opportunity WHERE IsWon = true AND SystemModstamp >= {} "
    "AND SystemModstamp < {} ORDER BY SystemModstamp, Id"
)


def _timed_out(sf: Salesforce, soql: str, include_deleted: bool = False) -> bool:
    try:
        sf.query(soql, include_deleted=include_deleted)
    except SalesforceMalformedRequest as exc:
        assert exc.status == 400
        assert error_code(exc) == "QUERY_TIMEOUT"
        return True
    return False


def _won_between(org: SandboxOrg, start: datetime, end: datetime) -> list[str]:
    """Truth from the org's records: won, live, stamped in [start, end), in query order."""
    keyed: list[tuple[datetime, str]] = []
    for rec in org.store.rows("Opportunity"):
        stamp = rec.values["SystemModstamp"]
        assert isinstance(stamp, datetime)
        if not rec.deleted and rec.values["IsWon"] and start <= stamp < end:
            keyed.append((stamp, rec.id))
    return [record_id for _, record_id in sorted(keyed)]


def test_open_or_wide_ranges_time_out_every_time(org: SandboxOrg, sf: Salesforce, steer: Steering):
    """With a one-hour span, no upper bound or a two-hour range fails, and fails again."""
    now = org.clock.now()
    steer.set_query_timeout(HOUR)
    open_ended = format_soql(
        "SELECT Id FROM Opportunity WHERE IsWon = true AND SystemModstamp >= {}",
        now - timedelta(minutes=5),
    )
    wide = format_soql(WINDOW, now - timedelta(hours=2), now)
    for soql in (open_ended, open_ended, wide, "SELECT Id FROM Account"):
        assert _timed_out(sf, soql)
    assert _timed_out(sf, wide, include_deleted=True)
    assert org.counters()["query_timeouts"] == {
        "SELECT Id FROM Opportunity WHERE IsWon = true AND SystemModstamp >= ?": 2,
        "SELECT Id FROM Opportunity WHERE IsWon = true AND SystemModstamp >= ? "
        "AND SystemModstamp < ? ORDER BY SystemModstamp, Id": 2,
        "SELECT Id FROM Account": 1,
    }


def test_halving_the_window_until_it_fits_reads_every_row(org: SandboxOrg, sf: Salesforce):
    """Splitting 90 days into windows no wider than the span returns exactly the org's won rows."""
    org.set_query_timeout(10 * 86_400)
    end = org.clock.now()
    start = end - timedelta(days=91)
    seen: list[str] = []
    windows = [(start, end)]
    splits = 0
    while windows:
        low, high = windows.pop(0)
        soql = format_soql(WINDOW, low, high)
        if _timed_out(sf, soql):
            middle = low + (high - low) / 2
            windows[:0] = [(low, middle), (middle, high)]
            splits += 1
            continue
        seen += [r["Id"] for r in sf.query_all_iter(soql)]
    assert splits >= 3
    assert seen and seen == _won_between(org, start, end)


def test_selective_and_limited_queries_never_time_out(org: SandboxOrg, sf: Salesforce):
    """Id look-ups, IN-lists on references and LIMIT queries stay fast whatever the range."""
    org.set_query_timeout(1)
    some = [r.id for r in org.store.rows("Opportunity")][:3]
    account = next(r.values["AccountId"] for r in org.store.rows("Opportunity"))
    for soql in (
        format_soql("SELECT Id FROM Opportunity WHERE Id = {}", some[0]),
        format_soql("SELECT Id FROM Opportunity WHERE Id IN {} AND IsWon = true", some),
        format_soql("SELECT Id FROM Opportunity WHERE AccountId IN {}", [account]),
        "SELECT Id FROM Opportunity WHERE IsWon = true LIMIT 1",
        "SELECT DefaultCurrencyIsoCode FROM Organization",
    ):
        assert not _timed_out(sf, soql), soql
    assert _timed_out(sf, format_soql("SELECT Id FROM Opportunity WHERE Id != {}", some[0]))


def test_the_rule_can_spare_objects_and_be_turned_off(
    org: SandboxOrg, sf: Salesforce, steer: Steering
):
    """query_timeout_objects limits the rule to the objects named; null switches it off."""
    steer.set_query_timeout(HOUR, ["Opportunity"])
    assert not _timed_out(sf, "SELECT Id FROM Account")
    assert _timed_out(sf, "SELECT Id FROM Opportunity")
    steer.set_query_timeout(None)
    assert not _timed_out(sf, "SELECT Id FROM Opportunity")


@pytest.mark.parametrize("op", ["<", "<="])
def test_a_narrow_window_succeeds_with_either_upper_bound(org: SandboxOrg, sf: Salesforce, op: str):
    """Both `<` and `<=` close the range; a window within the span is served normally."""
    org.set_query_timeout(HOUR)
    now = org.clock.now()
    soql = format_soql(
        f"SELECT Id FROM Opportunity WHERE SystemModstamp > {{}} AND SystemModstamp {op} {{}}",
        now - timedelta(minutes=30),
        now,
    )
    assert not _timed_out(sf, soql)
