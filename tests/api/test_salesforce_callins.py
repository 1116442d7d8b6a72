"""Salesforce calls in: an Outbound Message or a webhook provisions a won deal via a real worker."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import requests
from sqlalchemy import func, select

from sfsync.models import Entity, Store
from sfsync.models.operations.api_keys import create_key
from sfsync.models.tables import Contract, CustomFieldValue, OutboundNotification
from sfsync.models.types import ApiScope
from sfsync.sandbox import SandboxOrg
from sfsync.sandbox.client import loopback_session
from sfsync.tasks import names
from tests.api.conftest import start_server, stop_server
from tests.api.messages import SESSION_SENTINEL, outbound_message
from tests.conftest import appears, table_locked
from tests.worker.conftest import Launch, Processes

pytestmark = pytest.mark.worker

#: Opportunity ids the org need not hold: a forger names whatever it likes.
FORGED_DEAL = "0065g00000FORGEAA5"
OTHER_DEAL = "0065g00000OTHERAA5"

ORG_ID = "00D5g000004ABCDEA4"
TOKEN = "outbound-token-0123456789abcdefghijklmnop"
LISTENER = {"SFSYNC_SF_ORGANIZATION_ID": ORG_ID, "SFSYNC_SF_OUTBOUND_MESSAGE_TOKEN": TOKEN}


def won_deal(org: SandboxOrg) -> dict[str, Any]:
    """A closed-won opportunity with an amount, read from the org itself."""
    http = loopback_session(org.instance_url, requests.Session())
    response = http.get(
        f"{org.instance_url}/services/data/v59.0/query",
        params={
            "q": "SELECT Id, Amount FROM Opportunity WHERE IsWon = true AND Amount != null "
            "ORDER BY Id LIMIT 1"
        },
        headers={"Authorization": f"Bearer {org.access_token}"},
        timeout=10,
    )
    response.raise_for_status()
    record: dict[str, Any] = response.json()["records"][0]
    return record


def contracts_for(store: Store, opportunity_id: str) -> list[Contract]:
    with store.session() as s:
        return list(
            s.scalars(
                select(Contract).where(
                    Contract.id.in_(
                        select(CustomFieldValue.entity_id).where(
                            CustomFieldValue.entity == Entity.CONTRACT,
                            CustomFieldValue.key == "sfdc_opportunity_id",
                            CustomFieldValue.value == opportunity_id,
                        )
                    )
                )
            )
        )


def queued(procs: Processes) -> int:
    """Messages waiting on the broker's `sync` queue (no worker consumes yet)."""
    client = redis.Redis.from_url(procs.env["SFSYNC_BROKER_URL"])
    try:
        length: Any = client.llen("sync")
        return int(length)
    finally:
        client.close()


def _post_soap(url: str, body: bytes, token: str | None = TOKEN) -> httpx.Response:
    headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'}
    path = "/salesforce/outbound-message" + (f"/{token}" if token is not None else "")
    return httpx.post(f"{url}{path}", content=body, headers=headers)


def notification_count(store: Store) -> int:
    with store.session() as s:
        return int(s.scalar(select(func.count()).select_from(OutboundNotification)) or 0)


@pytest.fixture
def org() -> Any:
    with SandboxOrg(seed=5, opportunities=40) as sandbox:
        yield sandbox


def test_an_outbound_message_provisions_the_deal_once(
    store: Store, launch: Launch, org: SandboxOrg, tmp_path: Path
) -> None:
    """Acked after queueing; the same message again queues nothing; a worker provisions it."""
    deal = won_deal(org)
    procs = launch(org, **LISTENER, SFSYNC_POLL_INTERVAL="3600")
    proc, url = start_server(procs.env, tmp_path / "serve.log")
    try:
        message = outbound_message(ORG_ID[:15], [("04l5g000000AAAAAA1", deal["Id"])])
        for _ in range(2):
            response = _post_soap(url, message)
            assert response.status_code == 200, response.text
            assert "<Ack>true</Ack>" in response.text
            assert "notificationsResponse" in response.text
        assert queued(procs) == 1
        procs.worker()
        procs.wait_for(lambda: contracts_for(store, deal["Id"]), what="the deal's contract")
    finally:
        stop_server(proc)
    (contract,) = contracts_for(store, deal["Id"])
    assert contract.amount == Decimal(str(deal["Amount"]))
    log = (tmp_path / "serve.log").read_text()
    assert SESSION_SENTINEL not in log and "Traceback" not in log
    assert TOKEN not in log


def test_a_message_answered_503_at_the_time_limit_recorded_nothing_and_its_redelivery_queues_once(
    store: Store, launch: Launch, org: SandboxOrg, tmp_path: Path
) -> None:
    """The notifications table locked past SFSYNC_API_REQUEST_TIMEOUT: 503, nothing recorded
    or queued once the lock is gone; Salesforce's redelivery is acked and queued once."""
    deal = won_deal(org)
    procs = launch(org, **LISTENER, SFSYNC_API_REQUEST_TIMEOUT="2", SFSYNC_POLL_INTERVAL="3600")
    proc, url = start_server(procs.env, tmp_path / "serve.log")
    try:
        message = outbound_message(ORG_ID[:15], [("04l5g000000AAAAAA2", deal["Id"])])
        with table_locked(store.url, "outbound_notifications"):
            refused = _post_soap(url, message)
        assert refused.status_code == 503, refused.text
        # The abandoned request's thread must not record or queue once the lock is gone.
        assert not appears(lambda: notification_count(store) > 0 or queued(procs) > 0, within=3)
        redelivered = _post_soap(url, message)
        assert redelivered.status_code == 200, redelivered.text
        assert "<Ack>true</Ack>" in redelivered.text
        assert (notification_count(store), queued(procs)) == (1, 1)
    finally:
        stop_server(proc)
    assert "Traceback" not in (tmp_path / "serve.log").read_text()


def test_a_message_from_another_organization_is_refused_and_queues_nothing(
    store: Store, launch: Launch, org: SandboxOrg, tmp_path: Path
) -> None:
    """A wrong OrganizationId gets a SOAP fault, no Ack, no notification kept, nothing queued."""
    deal = won_deal(org)
    procs = launch(org, **LISTENER)
    proc, url = start_server(procs.env, tmp_path / "serve.log")
    try:
        response = _post_soap(url, outbound_message("00D000000000001AAA", [("04l1", deal["Id"])]))
        malformed = _post_soap(
            url, b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>"
        )
    finally:
        stop_server(proc)
    assert response.status_code == 403
    assert "<Ack>" not in response.text and "faultstring" in response.text
    assert malformed.status_code == 400 and "faultstring" in malformed.text
    assert queued(procs) == 0
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(OutboundNotification)) == 0


def test_a_message_with_only_a_valid_org_id_is_refused(
    store: Store, launch: Launch, org: SandboxOrg, tmp_path: Path
) -> None:
    """No token, a wrong token, a look-alike org id or an unset token: a fault, nothing queued."""
    deal = won_deal(org)
    message = outbound_message(ORG_ID, [("04l5g000000AAAAAA1", deal["Id"])])
    look_alike = outbound_message(ORG_ID[:15] + "x" * 100, [("04l5g000000AAAAAA2", deal["Id"])])
    procs = launch(org, **LISTENER)
    proc, url = start_server(procs.env, tmp_path / "serve.log")
    try:
        refused = [
            _post_soap(url, message, token=None),
            _post_soap(url, message, token=TOKEN[:-1] + "X"),
            _post_soap(url, message, token=TOKEN + "X"),
            _post_soap(url, look_alike),
        ]
    finally:
        stop_server(proc)
    unset = launch(org, SFSYNC_SF_ORGANIZATION_ID=ORG_ID)
    proc, url = start_server(unset.env, tmp_path / "serve-unset.log")
    try:
        refused.append(_post_soap(url, message, token=None))
        refused.append(_post_soap(url, message))
    finally:
        stop_server(proc)
    assert [r.status_code for r in refused] == [403] * 6
    assert all("<Ack>" not in r.text and "faultstring" in r.text for r in refused)
    assert queued(procs) == 0 and queued(unset) == 0
    assert notification_count(store) == 0
    assert TOKEN not in (tmp_path / "serve.log").read_text()


def test_a_forged_notification_id_does_not_drop_the_genuine_message(
    store: Store, launch: Launch, org: SandboxOrg, tmp_path: Path
) -> None:
    """An id claimed first for another deal: the genuine message still queues its deal."""
    deal = won_deal(org)
    procs = launch(org, **LISTENER, SFSYNC_POLL_INTERVAL="3600")
    proc, url = start_server(procs.env, tmp_path / "serve.log")
    try:
        forged = _post_soap(url, outbound_message(ORG_ID, [("04l5g000000FORGED", FORGED_DEAL)]))
        assert forged.status_code == 200 and queued(procs) == 1
        genuine = _post_soap(url, outbound_message(ORG_ID, [("04l5g000000FORGED", deal["Id"])]))
        assert genuine.status_code == 200 and "<Ack>true</Ack>" in genuine.text
        assert queued(procs) == 2
        procs.worker()
        procs.wait_for(lambda: contracts_for(store, deal["Id"]), what="the deal's contract")
    finally:
        stop_server(proc)


def test_outbound_messages_queue_at_most_the_per_org_rate(
    store: Store, launch: Launch, org: SandboxOrg, tmp_path: Path
) -> None:
    """Past SFSYNC_SF_OUTBOUND_ENQUEUES_PER_MINUTE a message is refused (503) and queues nothing."""
    deal = won_deal(org)
    procs = launch(org, **LISTENER, SFSYNC_SF_OUTBOUND_ENQUEUES_PER_MINUTE="2")
    proc, url = start_server(procs.env, tmp_path / "serve.log")
    try:
        first = _post_soap(
            url, outbound_message(ORG_ID, [("04l1", deal["Id"]), ("04l2", FORGED_DEAL)])
        )
        over = _post_soap(url, outbound_message(ORG_ID, [("04l3", OTHER_DEAL)]))
    finally:
        stop_server(proc)
    assert first.status_code == 200, first.text
    assert over.status_code == 503 and "ENQUEUES_PER_MINUTE" in over.text
    assert "<Ack>" not in over.text
    assert queued(procs) == 2
    assert notification_count(store) == 2


def test_the_provision_webhook_queues_the_deal_for_a_worker(
    store: Store, launch: Launch, org: SandboxOrg, tmp_path: Path
) -> None:
    """POST /salesforce/opportunities/{id}/provision with a write key: 202, then the contract."""
    deal = won_deal(org)
    procs = launch(org, SFSYNC_POLL_INTERVAL="3600")
    with store.session() as s:
        token = create_key(s, "flow", ApiScope.WRITE).token
    proc, url = start_server(procs.env, tmp_path / "serve.log")
    try:
        headers = {"Authorization": f"Bearer {token}"}
        refused = httpx.post(f"{url}/salesforce/opportunities/not-an-id/provision", headers=headers)
        assert refused.status_code == 400
        response = httpx.post(
            f"{url}/salesforce/opportunities/{deal['Id'][:15]}/provision", headers=headers
        )
        assert response.status_code == 202
        assert response.json() == {"opportunity_id": deal["Id"], "status": "queued"}
        procs.worker()
        procs.wait_for(lambda: contracts_for(store, deal["Id"]), what="the deal's contract")
    finally:
        stop_server(proc)
    assert len(contracts_for(store, deal["Id"])) == 1


def test_an_ingest_request_asks_a_worker_to_attribute_usage(
    store: Store, launch: Launch, org: SandboxOrg, tmp_path: Path
) -> None:
    """After the events are stored, `sfsync.usage.resolve_pending` is on the usage queue."""
    procs = launch(org)
    with store.session() as s:
        token = create_key(s, "svc", ApiScope.INGEST).token
    proc, url = start_server(procs.env, tmp_path / "serve.log")
    try:
        event = {
            "transaction_id": "doorbell-1",
            "customer_id": "nobody-yet",
            "event_type": "api_call",
            "timestamp": datetime.now(UTC).isoformat(),
        }
        response = httpx.post(
            f"{url}/v1/ingest", json=[event], headers={"Authorization": f"Bearer {token}"}
        )
        assert response.json() == {"accepted": 1, "duplicate": 0, "rejected": 0}
    finally:
        stop_server(proc)
    client = redis.Redis.from_url(procs.env["SFSYNC_BROKER_URL"])
    try:
        messages: Any = client.lrange("usage", 0, -1)
    finally:
        client.close()
    tasks = [json.loads(m)["headers"]["task"] for m in messages]
    assert tasks == [names.RESOLVE_PENDING]
