"""The in-process Salesforce: a sandbox org served through `InProcessTransport` (no socket,
no thread), and sfsync's real `SalesforceClient` over it.

Register the fixtures with ``pytest_plugins = ["tests.support.in_process"]`` (the root
conftest does) and ask for `in_process_org`, `in_process_settings` or `in_process_client`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from tenacity import wait_none

from sfsync.config import Settings
from sfsync.sandbox import SandboxOrg
from sfsync.sandbox.client import in_process_session
from sfsync.sync.salesforce import SalesforceClient
from tests.unit.factories import build_settings

__all__ = ["in_process_client", "in_process_org", "in_process_settings"]


@pytest.fixture
def in_process_org() -> SandboxOrg:
    """A seeded org answering in this process: 300 opportunities (about 100 won), pages of 50."""
    return SandboxOrg(seed=7, opportunities=300, page_size=50).open_in_process()


@pytest.fixture
def in_process_settings(in_process_org: SandboxOrg, tmp_path: Path) -> Settings:
    """Client-credentials settings for the org (an expired session is renewed by a login)."""
    org = in_process_org
    return build_settings(
        data_dir=tmp_path / "data",
        sf_login_url=org.login_url,
        sf_consumer_key=org.consumer_key,
        sf_consumer_secret=org.consumer_secret,
        sf_alias_fields="Ingest_Alias__c",
        sf_retry_attempts=3,
    )


@pytest.fixture
def in_process_client(
    in_process_org: SandboxOrg, in_process_settings: Settings
) -> Iterator[SalesforceClient]:
    """sfsync's SalesforceClient (real simple-salesforce inside) over the in-process org."""
    session = in_process_session(in_process_org, requests.Session())
    with SalesforceClient(in_process_settings, session, wait=wait_none()) as client:
        yield client
    session.close()
