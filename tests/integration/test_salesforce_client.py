"""SalesforceClient against the sandbox org: auth modes, renewal, retries, throttling, timeouts."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from sfsync.sync.errors import MappingError
from sfsync.sync.mapping import Deal, map_opportunity
from sfsync.sync.mapping_rules import MappingRules
from sfsync.sync.salesforce import (
    AuthMode,
    OpportunityRow,
    QueryRules,
    SalesforceAuthError,
    SalesforcePermanentError,
    SalesforceQueryTimeout,
    SalesforceThrottled,
    SalesforceTransientError,
    account_query,
    opportunity_query,
    org_multi_currency,
)

ALL_OPPORTUNITIES = "SELECT Id, SystemModstamp FROM Opportunity ORDER BY SystemModstamp, Id"
LOGIN_MODES = ["client_credentials", "password", "jwt", "soap", "token"]


@pytest.mark.parametrize("mode", LOGIN_MODES)
def test_every_auth_mode_can_query(org, mode_settings, make_client, mode: str) -> None:
    """Each supported auth mode logs in (or uses its token) and reads every page."""
    client = make_client(mode_settings(mode))
    assert client.auth_mode is AuthMode(mode)
    records = client.query_all(ALL_OPPORTUNITIES)
    assert len(records) == 1000
    assert client.login_calls == (0 if mode == "token" else 1)
    assert client.api_calls == 5  # 1,000 records in pages of 200


def test_password_grant_works_without_a_security_token(org, mode_settings, make_client) -> None:
    """From a trusted network the password alone is enough for the password grant."""
    client = make_client(mode_settings("password", sf_security_token=None))
    assert client.query_all("SELECT Id FROM Account LIMIT 3")


def test_pages_stream_lazily_with_usage_reported(org, mode_settings, make_client) -> None:
    """Pages are fetched one at a time and the org's usage header is exposed."""
    client = make_client(mode_settings("token"))
    pages = client.query_pages(ALL_OPPORTUNITIES)
    first = next(pages)
    assert len(first) == 200
    assert client.api_calls == 1
    assert client.api_usage is not None and client.api_usage[1] == 1_000_000
    assert sum(len(page) for page in pages) == 800
    assert org.counters()["calls"]["query_more"] == 4


@pytest.mark.parametrize("mode", LOGIN_MODES)
def test_a_session_expired_mid_pagination_is_renewed(org, mode_settings, make_client, mode) -> None:
    """Revoking every token between pages costs one login and loses no record."""
    client = make_client(mode_settings(mode))
    pages = client.query_pages(ALL_OPPORTUNITIES)
    seen = [record["Id"] for record in next(pages)]
    logins_before = client.login_calls
    org.revoke_tokens()
    seen += [record["Id"] for page in pages for record in page]
    assert len(seen) == len(set(seen)) == 1000
    assert client.login_calls == logins_before + 1


def test_an_expired_token_lifetime_is_renewed_with_the_refresh_token(
    org, mode_settings, make_client
) -> None:
    """A token past its lifetime is refreshed and the call repeated."""
    client = make_client(mode_settings("token"))
    client.query_all("SELECT Id FROM Account LIMIT 1")
    org.set_token_lifetime(60)
    org.clock.advance(120)
    assert client.query_all("SELECT Id FROM Account LIMIT 1")
    assert client.login_calls == 1
    assert org.counters()["calls"]["token"] == 1


def test_a_bare_access_token_that_expires_is_an_auth_error(org, mode_settings, make_client) -> None:
    """Without a refresh token there is nothing to renew with; the message says what to set."""
    client = make_client(mode_settings("bare_token"))
    org.revoke_tokens()
    with pytest.raises(SalesforceAuthError, match="SFSYNC_SF_ACCESS_TOKEN") as caught:
        client.query_all("SELECT Id FROM Account LIMIT 1")
    assert client.login_calls == 0
    assert org.access_token not in str(caught.value)


def test_a_second_401_right_after_renewal_is_an_auth_error(org, mode_settings, make_client) -> None:
    """One renewal per call: a fresh session rejected again is not retried forever."""
    client = make_client(mode_settings("client_credentials"))
    org.faults.fail_next(2, "401", paths="/query")
    with pytest.raises(SalesforceAuthError, match="just issued"):
        client.query_all("SELECT Id FROM Account LIMIT 1")
    assert client.login_calls == 2


def test_503_is_retried_until_it_succeeds(org, mode_settings, make_client) -> None:
    """Two SERVER_UNAVAILABLE answers, then success, within three attempts."""
    client = make_client(mode_settings("token"))
    org.faults.fail_next(2, "503", paths="/query")
    assert len(client.query_all("SELECT Id FROM Account LIMIT 5")) == 5
    assert client.api_calls == 3


def test_persistent_5xx_gives_up_as_transient_after_the_configured_attempts(
    org, mode_settings, make_client
) -> None:
    """After sf_retry_attempts the transient error reaches the caller."""
    client = make_client(mode_settings("token", sf_retry_attempts=2))
    org.faults.fail_next(5, "500", paths="/query")
    with pytest.raises(SalesforceTransientError) as caught:
        client.query_all("SELECT Id FROM Account LIMIT 5")
    assert caught.value.status == 500
    assert client.api_calls == 2


def test_query_timeout_is_not_retried_identically(org, mode_settings, make_client) -> None:
    """QUERY_TIMEOUT is deterministic: raised after one call for the caller to narrow."""
    client = make_client(mode_settings("token"))
    org.faults.fail_next(1, "query_timeout", paths="/query")
    with pytest.raises(SalesforceQueryTimeout):
        client.query_all("SELECT Id FROM Account LIMIT 2")
    assert client.api_calls == 1


def test_request_limit_exceeded_throttles_without_retrying(org, mode_settings, make_client) -> None:
    """A 403 REQUEST_LIMIT_EXCEEDED stops the run at once."""
    client = make_client(mode_settings("token"))
    org.faults.fail_next(1, "403", paths="/query")
    with pytest.raises(SalesforceThrottled) as caught:
        client.query_all("SELECT Id FROM Account LIMIT 2")
    assert caught.value.error_code == "REQUEST_LIMIT_EXCEEDED"
    assert client.api_calls == 1


def test_an_exhausted_allowance_throttles(org, mode_settings, make_client) -> None:
    """When the org itself refuses for the allowance, the client reports throttled."""
    client = make_client(mode_settings("token", sf_api_usage_max_percent=100))
    org.set_api_allowance(2)
    client.query_all("SELECT Id FROM Account LIMIT 1")
    client.query_all("SELECT Id FROM Account LIMIT 1")
    with pytest.raises(SalesforceThrottled, match="REQUEST_LIMIT_EXCEEDED"):
        client.query_all("SELECT Id FROM Account LIMIT 1")


def test_usage_above_the_max_percent_stops_before_the_org_refuses(
    org, mode_settings, make_client
) -> None:
    """With 50% as the limit of 10 calls, the sixth call's answer stops the seventh."""
    client = make_client(mode_settings("token", sf_api_usage_max_percent=50))
    org.set_api_allowance(10)
    for _ in range(6):
        client.query_all("SELECT Id FROM Account LIMIT 1")
    assert client.api_usage == (6, 10)
    with pytest.raises(SalesforceThrottled, match="SFSYNC_SF_API_USAGE_MAX_PERCENT"):
        client.check_budget()
    with pytest.raises(SalesforceThrottled):
        client.query_all("SELECT Id FROM Account LIMIT 1")
    assert org.counters()["api_calls_total"] == 6


def test_a_hung_request_times_out_and_is_retried(org, mode_settings, make_client) -> None:
    """A request that never answers hits the read timeout, counts as transient, and is retried."""
    client = make_client(mode_settings("token", sf_read_timeout=0.3))
    org.faults.hang_next(1, paths="/query")
    started = time.monotonic()
    assert client.query_all("SELECT Id FROM Account LIMIT 2")
    assert time.monotonic() - started < 5
    assert client.api_calls == 2


def test_hanging_every_time_ends_in_a_timeout_error(org, mode_settings, make_client) -> None:
    """When every attempt hangs the caller gets a transient TIMEOUT error."""
    client = make_client(mode_settings("token", sf_read_timeout=0.2, sf_retry_attempts=2))
    org.faults.hang_next(2, paths="/query")
    with pytest.raises(SalesforceTransientError) as caught:
        client.query_all("SELECT Id FROM Account LIMIT 2")
    assert caught.value.error_code == "TIMEOUT"


@pytest.mark.parametrize(
    ("mode", "wrong", "named"),
    [
        ("soap", {"sf_password": "not-the-password"}, "SFSYNC_SF_PASSWORD"),
        ("password", {"sf_password": "not-the-password"}, "SFSYNC_SF_PASSWORD"),
        (
            "client_credentials",
            {"sf_consumer_secret": "wrong-secret-123"},
            "SFSYNC_SF_CONSUMER_SECRET",
        ),
        ("jwt", {"sf_consumer_key": "3MVG9.unknown"}, "SFSYNC_SF_CONSUMER_KEY"),
        (
            "token",
            {"sf_access_token": "00D!x", "sf_refresh_token": "5Aep-revoked"},
            "SFSYNC_SF_REFRESH_TOKEN",
        ),
    ],
)
def test_bad_credentials_raise_an_auth_error_naming_the_settings(
    org, mode_settings, make_client, mode: str, wrong: dict[str, str], named: str
) -> None:
    """Rejected credentials are permanent, name what to check, and never echo a secret."""
    settings = mode_settings(mode, **wrong)
    client = make_client(settings)
    with pytest.raises(SalesforceAuthError) as caught:
        client.query_all("SELECT Id FROM Account LIMIT 1")
    message = str(caught.value)
    assert named in message
    for secret in [
        *settings.secret_values(),
        org.password,
        org.consumer_secret,
        org.security_token,
    ]:
        assert secret not in message
    assert client.login_calls == 1  # not retried


def test_a_missing_field_names_the_setting_to_fix(org, mode_settings, make_client) -> None:
    """INVALID_FIELD from a configured alias field points at SFSYNC_SF_ALIAS_FIELDS."""
    client = make_client(mode_settings("token", sf_alias_fields="No_Such_Field__c"))
    with pytest.raises(SalesforcePermanentError, match="SFSYNC_SF_ALIAS_FIELDS"):
        client.query_all(account_query(QueryRules.of(client.settings), None))


def test_get_and_update_round_trip_a_record(org, mode_settings, make_client) -> None:
    """update() writes a field that get() then reads back (15-character ids accepted)."""
    client = make_client(mode_settings("token"))
    account_id = client.query_all("SELECT Id FROM Account ORDER BY Id LIMIT 1")[0]["Id"]
    client.update("Account", account_id[:15], {"Billing_Customer_Id__c": "cus_123"})
    assert client.get("Account", account_id)["Billing_Customer_Id__c"] == "cus_123"


def test_incremental_query_returns_only_recent_changes(org, mode_settings, make_client) -> None:
    """The `since` literal is understood: a record touched now is the only one after `now`."""
    client = make_client(mode_settings("token"))
    won = client.query_all(
        opportunity_query(QueryRules.of(client.settings, org_multi_currency(client)), None)
    )
    target = won[0]["Id"]
    since = org.clock.now() + timedelta(seconds=1)
    org.clock.advance(5)
    org.update("Opportunity", target, {"Name": "Renamed deal"})
    recent = client.query_all(
        opportunity_query(
            QueryRules.of(client.settings, org_multi_currency(client)), since.astimezone(UTC)
        )
    )
    assert [record["Id"] for record in recent] == [target]


def test_every_sandbox_deal_maps_or_gives_a_reason(org, mode_settings, make_client) -> None:
    """All closed-won opportunities of the seed map to deals or to one actionable reason."""
    settings = mode_settings("token", contract_term_field="Contract_Term_Months__c")
    client = make_client(settings)
    rules = MappingRules.of(settings)
    deals, reasons = [], []
    since = datetime(2000, 1, 1, tzinfo=UTC)
    for page in client.query_pages(
        opportunity_query(QueryRules.of(settings, org_multi_currency(client)), since, won_only=True)
    ):
        for record in page:
            try:
                deals.append(map_opportunity(OpportunityRow.of(record), rules))
            except MappingError as exc:
                reasons.append(exc.reason)
    assert len(deals) + len(reasons) == 356
    assert all(isinstance(deal, Deal) and deal.aliases[0] == deal.account_id for deal in deals)
    assert len(deals) > 200
