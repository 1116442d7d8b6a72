"""Fixtures: a shared seeded org for read-only tests and fresh small orgs for the rest."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from datetime import datetime
from typing import Any

import pytest
import requests
from simple_salesforce.api import Salesforce, SFType

from sfsync.sandbox import SandboxOrg
from sfsync.sandbox.client import loopback_session
from sfsync.sandbox.control import Steering


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


class ControlError(Exception):
    """A /__sandbox__/ call answered with a Salesforce-shaped error list."""

    def __init__(self, status: int, code: str) -> None:
        super().__init__(f"{status} {code}")
        self.status = status
        self.code = code


class HttpControl:
    """The same operations over /__sandbox__/, as a test in another process steers an org."""

    def __init__(self, org: SandboxOrg) -> None:
        self.base = org.instance_url + "/__sandbox__"

    def call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
    ) -> Any:
        """Send one control request; errors raise ControlError with the errorCode."""
        response = requests.request(method, self.base + path, json=body, params=params, timeout=10)
        if response.status_code >= 400:
            raise ControlError(response.status_code, response.json()[0]["errorCode"])
        return response.json() if response.content else None

    @staticmethod
    def _at(commit_at: datetime | None) -> dict[str, str] | None:
        return None if commit_at is None else {"commit_at": commit_at.isoformat()}

    def create(
        self, sobject: str, fields: dict[str, Any], commit_at: datetime | None = None
    ) -> str:
        return str(self.call("POST", f"/records/{sobject}", fields, self._at(commit_at))["id"])

    def update(
        self,
        sobject: str,
        record_id: str,
        fields: dict[str, Any],
        commit_at: datetime | None = None,
    ) -> None:
        self.call("PATCH", f"/records/{sobject}/{record_id}", fields, self._at(commit_at))

    def delete(self, sobject: str, record_id: str) -> None:
        self.call("DELETE", f"/records/{sobject}/{record_id}")

    def undelete(self, sobject: str, record_id: str) -> None:
        self.call("POST", f"/records/{sobject}/{record_id}/undelete")

    def merge(
        self, master_id: str, loser_ids: Sequence[str], fields: dict[str, Any] | None = None
    ) -> None:
        body = {"losers": list(loser_ids), "fields": fields or {}}
        self.call("POST", f"/records/Account/{master_id}/merge", body)

    def purge_recycle_bin(self, older_than_days: float | None = None) -> int:
        body = {} if older_than_days is None else {"older_than_days": older_than_days}
        return int(self.call("POST", "/recycle-bin/purge", body)["purged"])

    def set_query_timeout(
        self, over_seconds: float | None, objects: Collection[str] | None = None
    ) -> None:
        body: dict[str, Any] = {"query_timeout_over_seconds": over_seconds}
        if objects is not None:
            body["query_timeout_objects"] = list(objects)
        self.call("POST", "/settings", body)


@pytest.fixture(params=["python", "http"])
def steer(request: pytest.FixtureRequest, org: SandboxOrg) -> Steering:
    """`org` steered through its Python methods, then through the control API."""
    return org if request.param == "python" else HttpControl(org)
