"""Fixtures: a shared seeded org for read-only tests and fresh small orgs for the rest."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from simple_salesforce.api import Salesforce, SFType

from sandbox import SandboxOrg
from sandbox.client import loopback_session


def client_for(org: SandboxOrg, token: str | None = None) -> Salesforce:
    """simple-salesforce in direct mode against `org`, the way sfsync connects."""
    return Salesforce(
        instance_url=org.instance_url,
        session_id=token or org.access_token,
        version="59.0",
        session=loopback_session(org.instance_url),
    )


def sobject(sf: Salesforce, name: str) -> SFType:
    """`sf.<name>` typed as the SFType it is at runtime."""
    handle = getattr(sf, name)
    assert isinstance(handle, SFType)
    return handle


def error_code(exc: BaseException) -> str:
    """The errorCode of the first error in a simple-salesforce exception's content."""
    content: Any = getattr(exc, "content", None)
    return str(content[0]["errorCode"])


@pytest.fixture(scope="module")
def big_org() -> Iterator[SandboxOrg]:
    """12,000 opportunities: enough for six full pages; tests must not modify it."""
    with SandboxOrg(seed=11, opportunities=12_000) as org:
        yield org


@pytest.fixture(scope="module")
def big_sf(big_org: SandboxOrg) -> Salesforce:
    """Client for `big_org`."""
    return client_for(big_org)


@pytest.fixture
def org() -> Iterator[SandboxOrg]:
    """A small org of its own, safe to mutate, fault and revoke."""
    with SandboxOrg(seed=3, opportunities=60, page_size=10) as small:
        yield small


@pytest.fixture
def sf(org: SandboxOrg) -> Salesforce:
    """Client for `org`."""
    return client_for(org)
