"""Integration fixtures: one sandbox org per module, reset between tests, and client factories.

Everything goes over real HTTP on loopback through the real simple-salesforce.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from tenacity import wait_none

from sfsync.config import Settings
from sfsync.models import Store
from sfsync.models.types import RunStatus
from sfsync.sandbox import SandboxOrg
from sfsync.sandbox.client import loopback_session
from sfsync.sync.run_result import RunResult
from sfsync.sync.salesforce import SalesforceClient
from sfsync.sync.streams.accounts import poll_accounts
from sfsync.sync.streams.opportunities import poll_opportunities
from tests.integration.helpers import won_deal
from tests.unit.factories import build_settings

PAGE_SIZE = 200  # small pages so 1,000 opportunities span several query_more calls


@pytest.fixture(scope="module")
def sandbox_org() -> Iterator[SandboxOrg]:
    """A seeded org served for the whole module."""
    with SandboxOrg(seed=7, opportunities=1000, port=0, page_size=PAGE_SIZE) as org:
        yield org


@pytest.fixture
def org(sandbox_org: SandboxOrg) -> Iterator[SandboxOrg]:
    """The module's org with faults, token lifetime and allowance back to normal afterwards."""
    sandbox_org.reset_counters()
    sandbox_org.reset_api_usage()
    yield sandbox_org
    sandbox_org.faults.clear()
    sandbox_org.set_token_lifetime(None)
    sandbox_org.set_api_allowance(1_000_000)
    sandbox_org.reset_api_usage()


@pytest.fixture
def key_file(org: SandboxOrg, tmp_path: Path) -> Path:
    """The org's JWT private key as a PEM file."""
    assert org.private_key_pem, "the sandbox needs `cryptography` to serve the JWT bearer flow"
    path = tmp_path / "server.key"
    path.write_text(org.private_key_pem)
    return path


@pytest.fixture
def mode_settings(org: SandboxOrg, key_file: Path) -> Callable[..., Settings]:
    """Settings for one auth mode against the org, plus overrides."""

    def make(mode: str, **overrides: Any) -> Settings:
        credentials: dict[str, dict[str, Any]] = {
            "client_credentials": {
                "sf_consumer_key": org.consumer_key,
                "sf_consumer_secret": org.consumer_secret,
            },
            "password": {
                "sf_username": org.username,
                "sf_password": org.password,
                "sf_security_token": org.security_token,
                "sf_consumer_key": org.consumer_key,
                "sf_consumer_secret": org.consumer_secret,
            },
            "jwt": {
                "sf_username": org.username,
                "sf_consumer_key": org.consumer_key,
                "sf_private_key_file": key_file,
            },
            "soap": {
                "sf_username": org.username,
                "sf_password": org.password,
                "sf_security_token": org.security_token,
            },
            "token": {
                "sf_access_token": org.issue_token(),
                "sf_instance_url": org.instance_url,
                "sf_refresh_token": org.refresh_token,
                "sf_consumer_key": org.consumer_key,
                "sf_consumer_secret": org.consumer_secret,
            },
            "bare_token": {
                "sf_access_token": org.issue_token(),
                "sf_instance_url": org.instance_url,
            },
        }
        values: dict[str, Any] = {
            "sf_login_url": org.login_url,
            "sf_retry_attempts": 3,
            "sf_connect_timeout": 2.0,
            "sf_read_timeout": 5.0,
            "sf_alias_fields": "Ingest_Alias__c",
            **credentials[mode],
            **overrides,
        }
        return build_settings(**values)

    return make


@pytest.fixture
def make_client(org: SandboxOrg) -> Iterator[Callable[[Settings], SalesforceClient]]:
    """Clients over a loopback session, without real backoff sleeps; closed afterwards."""
    clients: list[SalesforceClient] = []
    sessions: list[requests.Session] = []

    def make(settings: Settings) -> SalesforceClient:
        session = loopback_session(org.instance_url)
        sessions.append(session)
        client = SalesforceClient(settings, session, wait=wait_none())
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
    for session in sessions:
        session.close()


@pytest.fixture
def sf_settings(org: SandboxOrg, mode_settings: Callable[..., Settings]) -> Settings:
    """Client-credentials settings, so an expired session can be renewed by logging in."""
    return mode_settings("client_credentials")


@pytest.fixture
def client(
    sf_settings: Settings, make_client: Callable[[Settings], SalesforceClient]
) -> SalesforceClient:
    """A client in `sf_settings`' mode (a test module may override either fixture)."""
    return make_client(sf_settings)


Poll = Callable[..., RunResult]


@pytest.fixture
def sync_deals(store: Store, client: SalesforceClient, sf_settings: Settings) -> Poll:
    """Run the closed-won stream (provisions the customers)."""

    def run(**kwargs: Any) -> RunResult:
        result = poll_opportunities(store, client, sf_settings, **kwargs)
        assert result.status is RunStatus.SUCCEEDED
        return result

    return run


@pytest.fixture
def sync_accounts(store: Store, client: SalesforceClient, sf_settings: Settings) -> Poll:
    """Run the account stream once."""

    def run(**kwargs: Any) -> RunResult:
        result = poll_accounts(store, client, sf_settings, **kwargs)
        assert result.status is RunStatus.SUCCEEDED
        return result

    return run


@pytest.fixture
def enterprise(org: SandboxOrg) -> Callable[..., str]:
    """A top-level account with a closed-won deal; returns the account id."""

    def make(name: str, alias: str | None = None) -> str:
        account = org.create("Account", {"Name": name, "Ingest_Alias__c": alias})
        won_deal(org, account, Name=f"{name} - New")
        return account

    return make
