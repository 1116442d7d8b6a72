"""The closed-won stream over the in-process Salesforce (no sandbox over HTTP), both stores.

Expectations come from the org's own records, never from the mapping code under test.
"""

from __future__ import annotations

from sfsync.config import Settings
from sfsync.models import Store
from sfsync.models.types import RunStatus
from sfsync.sandbox import SandboxOrg
from sfsync.sync.salesforce import SalesforceClient
from sfsync.sync.streams.opportunities import poll_opportunities
from tests.integration.helpers import provisioned


def _expected_deals(org: SandboxOrg) -> dict[str, str]:
    """Won opportunity with an account → the root of that account's tree (the org's truth)."""
    parent = {a.id: str(a.values.get("ParentId") or "") for a in org.store.rows("Account")}

    def root(account: str) -> str:
        while parent.get(account):
            account = parent[account]
        return account

    return {
        o.id: root(str(o.values["AccountId"]))
        for o in org.store.rows("Opportunity")
        if o.values["IsWon"] and not o.deleted and o.values["AccountId"]
    }


def test_the_stream_provisions_every_won_deal_under_its_root_account(
    store: Store,
    in_process_org: SandboxOrg,
    in_process_client: SalesforceClient,
    in_process_settings: Settings,
) -> None:
    """One run over the in-process org: a contract per won deal, on its root account's
    customer; the run succeeds and counts what it read."""
    result = poll_opportunities(store, in_process_client, in_process_settings)
    assert result.status is RunStatus.SUCCEEDED, result.error
    expected = _expected_deals(in_process_org)
    assert len(expected) > 50
    assert provisioned(store) == expected
    assert result.counters.contracts_created == len(expected)


def test_a_second_run_reads_only_the_deals_changed_since(
    store: Store,
    in_process_org: SandboxOrg,
    in_process_client: SalesforceClient,
    in_process_settings: Settings,
) -> None:
    """The cursor holds: with nothing changed only the records in the cursor's overlap are
    read again (and change nothing); one changed deal is read and updated."""
    first = poll_opportunities(store, in_process_client, in_process_settings)
    unchanged = poll_opportunities(store, in_process_client, in_process_settings)
    assert unchanged.status is RunStatus.SUCCEEDED, unchanged.error
    assert unchanged.counters.records_seen < first.counters.records_seen / 10
    assert unchanged.counters.contracts_created == unchanged.counters.contracts_updated == 0
    deal = next(iter(_expected_deals(in_process_org)))
    in_process_org.clock.advance(60)
    in_process_org.update("Opportunity", deal, {"Amount": 4321.0})
    changed = poll_opportunities(store, in_process_client, in_process_settings)
    assert changed.status is RunStatus.SUCCEEDED, changed.error
    assert 1 <= changed.counters.records_seen < first.counters.records_seen / 10
    assert changed.counters.contracts_updated == 1
    assert changed.counters.contracts_created == 0


def test_a_revoked_session_is_renewed_by_logging_in_again(
    store: Store,
    in_process_org: SandboxOrg,
    in_process_client: SalesforceClient,
    in_process_settings: Settings,
) -> None:
    """Tokens revoked between runs: the client logs in again, in-process, and the run succeeds."""
    poll_opportunities(store, in_process_client, in_process_settings)
    logins = in_process_client.login_calls
    in_process_org.revoke_tokens()
    in_process_org.clock.advance(60)
    in_process_org.update("Opportunity", next(iter(_expected_deals(in_process_org))), {})
    result = poll_opportunities(store, in_process_client, in_process_settings)
    assert result.status is RunStatus.SUCCEEDED, result.error
    assert in_process_client.login_calls == logins + 1
