"""A live `sfsync serve` process per module and backend, and API keys made in its store."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from sfsync.models import Store, open_store
from sfsync.models.operations.api_keys import create_key
from sfsync.models.types import ApiScope
from tests.conftest import POSTGRES_BASE, need, postgres_available

# The worker fixtures (a Redis database, Celery processes against the sandbox org).
from tests.worker.conftest import launch, processes, redis_url  # noqa: F401

SFSYNC = Path(sys.executable).parent / "sfsync"
ROOT = Path(__file__).resolve().parents[2]
_LISTENING = re.compile(r"Uvicorn running on http://127\.0\.0\.1:(\d+)")


@dataclass
class LiveServer:
    """A running `sfsync serve` and the store it serves."""

    url: str
    store: Store
    log: Path
    proc: subprocess.Popen[bytes]
    keys: dict[ApiScope, str] = field(default_factory=dict)

    def key(self, scope: ApiScope) -> str:
        """A fresh key of `scope` (its token)."""
        with self.store.session() as s:
            return create_key(s, f"test-{scope.value}-{uuid.uuid4().hex[:6]}", scope).token

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def http(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def start_server(env: dict[str, str], log: Path, *args: str) -> tuple[subprocess.Popen[bytes], str]:
    """Start `sfsync serve --port 0 ARGS` and wait until it listens; returns it and its URL."""
    handle = log.open("wb")
    proc = subprocess.Popen(
        [str(SFSYNC), "serve", "--port", "0", *args],
        cwd=ROOT,
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        match = _LISTENING.search(log.read_text(errors="replace"))
        if match and _answers(f"http://127.0.0.1:{match.group(1)}"):
            return proc, f"http://127.0.0.1:{match.group(1)}"
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    stop_server(proc)
    raise AssertionError(f"sfsync serve did not start:\n{log.read_text(errors='replace')}")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def server_env(data_dir: Path, store_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SFSYNC_")}
    env.update(
        {
            "SFSYNC_DATA_DIR": str(data_dir),
            "SFSYNC_DATABASE_URL": store_url,
            "PYTHONUNBUFFERED": "1",
            **extra,
        }
    )
    return env


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def module_store_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A migrated store of its own for the module, on each backend."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("api-store") / "store.db"
        open_store(f"sqlite:///{path}").close()
        yield f"sqlite:///{path}"
        return
    need(postgres_available(), "PostgreSQL on 127.0.0.1:5432")
    name = f"sfsync_api_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_BASE, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = f"{POSTGRES_BASE.rpartition('/')[0]}/{name}"
    open_store(url, auto_migrate=True).close()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


ServerFactory = Callable[..., LiveServer]


@pytest.fixture(scope="module")
def server_factory(
    module_store_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerFactory]:
    """Servers on the module's store with `serve` options and settings, stopped at the end."""
    started: list[LiveServer] = []

    def make(*args: str, **settings: str) -> LiveServer:
        folder = tmp_path_factory.mktemp("api-server")
        env = server_env(folder / "data", module_store_url, **settings)
        proc, url = start_server(env, folder / "serve.log", *args)
        live = LiveServer(url, Store(module_store_url), folder / "serve.log", proc)
        started.append(live)
        return live

    yield make
    for live in started:
        stop_server(live.proc)
        live.store.close()


@pytest.fixture(scope="module")
def server(server_factory: ServerFactory) -> LiveServer:
    """The module's server with default settings (embedded filesystem broker)."""
    return server_factory()
