"""`/healthz`, `/readyz` (store, migrations, broker) and the OpenAPI documents at `/docs`."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from sfsync.api import create_app
from sfsync.config import Settings
from sfsync.models import Store
from sfsync.models.types import ApiScope
from tests.api.conftest import LiveServer, ServerFactory


def test_healthz_and_readyz_answer_when_all_is_well(server: LiveServer) -> None:
    """The process is up; its store is migrated and its broker reachable."""
    with server.http() as http:
        assert http.get("/healthz").json() == {"status": "ok"}
        ready = http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"store": "ok", "broker": "ok"}}


def test_several_worker_processes_serve_the_same_store(server_factory: ServerFactory) -> None:
    """`--workers 2`: each process builds its app from the settings and answers with keys."""
    live = server_factory("--workers", "2")
    with live.http(live.key(ApiScope.WRITE)) as http:
        names = [f"multi-{i}" for i in range(6)]
        for name in names:
            assert http.post("/v1/customers", json={"name": name}).status_code == 200
        listed = {c["name"] for c in http.get("/v1/customers").json()["data"]}
    assert set(names) <= listed


def test_readyz_is_503_when_the_broker_is_unreachable(server_factory: ServerFactory) -> None:
    """A broker nobody answers on makes the server unready, without showing its password."""
    live = server_factory(SFSYNC_BROKER_URL="redis://:brokerPassw0rd@127.0.0.1:1/0")
    with live.http() as http:
        response = http.get("/readyz")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["store"] == "ok" and checks["broker"].startswith("broker unreachable")
    assert "brokerPassw0rd" not in response.text
    assert "brokerPassw0rd" not in live.output()


def test_readyz_is_503_when_the_store_is_behind_its_migrations(tmp_path: Path) -> None:
    """An un-migrated store is reported with the command that fixes it."""
    settings = Settings(_env_file=None, data_dir=tmp_path / "data")
    store = Store(f"sqlite:///{tmp_path / 'empty.db'}")
    with TestClient(create_app(settings, store=store)) as client:
        response = client.get("/readyz")
    store.close()
    assert response.status_code == 503
    assert "sfsync db upgrade" in response.json()["checks"]["store"]


def test_docs_and_openapi_describe_the_endpoints(server: LiveServer) -> None:
    """/docs serves Swagger UI; the OpenAPI document lists the Metronome and Salesforce paths."""
    with server.http() as http:
        assert http.get("/docs").status_code == 200
        paths = http.get("/openapi.json").json()["paths"]
    for path in (
        "/v1/ingest",
        "/v1/customers",
        "/v1/customers/{customer_id}/setIngestAliases",
        "/v1/customFields/addKey",
        "/v1/contracts/list",
        "/v1/events/search",
        "/salesforce/outbound-message/{token}",
        "/salesforce/opportunities/{opportunity_id}/provision",
        "/readyz",
    ):
        assert path in paths


def test_readyz_with_an_unencoded_slash_in_the_broker_password_is_503_without_the_password(
    server_factory: ServerFactory,
) -> None:
    """A broker URL its parser cannot read: 503 saying how to fix it; no part of it logged."""
    live = server_factory(SFSYNC_BROKER_URL="redis://:xq7w/zv9Secr3t@127.0.0.1:6379/0")
    with live.http() as http:
        response = http.get("/readyz")
    assert response.status_code == 503, response.text
    assert "percent-encode" in response.json()["checks"]["broker"]
    for part in ("xq7w", "zv9Secr3t"):
        assert part not in response.text
        assert part not in live.output()
    assert "Traceback" not in live.output()


def test_openapi_declares_the_400_the_server_answers_not_422(server: LiveServer) -> None:
    """Every operation that validates input declares 400 with `{"message"}`; none 422."""
    with server.http() as http:
        document = http.get("/openapi.json").json()
    operations = [op for ops in document["paths"].values() for op in ops.values()]
    assert not [op["operationId"] for op in operations if "422" in op.get("responses", {})]
    create = document["paths"]["/v1/contracts/create"]["post"]["responses"]["400"]
    schema = create["content"]["application/json"]["schema"]["$ref"]
    assert document["components"]["schemas"][schema.rsplit("/", 1)[1]]["required"] == ["message"]
