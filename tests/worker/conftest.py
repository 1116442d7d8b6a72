"""Real `celery worker` and `celery beat` processes on Redis, against the sandbox org."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from sfsync.celery_app import create_app
from sfsync.config import Settings
from sfsync.sandbox import SandboxOrg
from tests.conftest import REDIS_URL, need, redis_available

ROOT = Path(__file__).resolve().parents[2]


def wait_for(condition: Callable[[], Any], timeout: float = 60, what: str = "condition") -> Any:
    """Poll `condition` until it is truthy (a deadline, not a sleep standing in for sync)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.2)


@pytest.fixture
def redis_url() -> Iterator[str]:
    """An empty Redis database for the test."""
    need(redis_available(), "Redis on 127.0.0.1:6379")
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    yield REDIS_URL
    client.flushdb()
    client.close()


class Processes:
    """Celery processes started by a test, stopped (and their logs kept) at the end."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.procs: list[tuple[subprocess.Popen[bytes], Path]] = []

    def start(self, *args: str, name: str) -> subprocess.Popen[bytes]:
        log = self.logs / f"{name}-{len(self.procs)}.log"
        handle = log.open("wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "sfsync.celery_app", *args],
            cwd=ROOT,
            env=self.env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.procs.append((proc, log))
        return proc

    def worker(self, *extra: str, concurrency: int = 2) -> subprocess.Popen[bytes]:
        return self.start(
            "worker",
            "-Q",
            "sync,usage,default",
            "-c",
            str(concurrency),
            "--loglevel",
            "INFO",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            *extra,
            name="worker",
        )

    def beat(self) -> subprocess.Popen[bytes]:
        return self.start("beat", "--loglevel", "INFO", name="beat")

    def output(self) -> str:
        return "\n".join(log.read_text(errors="replace") for _, log in self.procs if log.exists())

    def wait_for(self, condition: Callable[[], Any], what: str, timeout: float = 60) -> Any:
        """`wait_for`, failing with the processes' last output when the deadline passes."""
        try:
            return wait_for(condition, timeout=timeout, what=what)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{self.output()[-4000:]}") from None

    def enqueue(self, task: str, *args: Any, **kwargs: Any) -> str:
        """Send a task by name over the test's broker; returns the task id."""
        settings = Settings(
            _env_file=None,
            data_dir=Path(self.env["SFSYNC_DATA_DIR"]),
            broker_url=self.env["SFSYNC_BROKER_URL"],
        )
        return str(create_app(settings).send_task(task, args=list(args), kwargs=kwargs).id)

    def stop(self) -> None:
        for proc, _ in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc, _ in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def base_env(tmp_path: Path, store_url: str, broker_url: str, org: SandboxOrg) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SFSYNC_")}
    env.update(
        {
            "SFSYNC_DATA_DIR": str(tmp_path / "data"),
            "SFSYNC_DATABASE_URL": store_url,
            "SFSYNC_BROKER_URL": broker_url,
            "SFSYNC_SF_INSTANCE_URL": org.instance_url,
            "SFSYNC_SF_LOGIN_URL": org.login_url,
            "SFSYNC_SF_CONSUMER_KEY": org.consumer_key,
            "SFSYNC_SF_CONSUMER_SECRET": org.consumer_secret,
            "SFSYNC_SF_ALIAS_FIELDS": "Ingest_Alias__c",
            "SFSYNC_POLL_INTERVAL": "2",
            "SFSYNC_USAGE_SWEEP_INTERVAL": "2",
            "SFSYNC_TASK_MAX_RETRIES": "3",
            "SFSYNC_TASK_RETRY_BACKOFF_MAX": "2",
            "SFSYNC_SF_RETRY_MAX_WAIT": "1",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Callable[[dict[str, str]], Processes]]:
    made: list[Processes] = []

    def make(env: dict[str, str]) -> Processes:
        p = Processes(env, tmp_path)
        made.append(p)
        return p

    yield make
    for p in made:
        p.stop()


Launch = Callable[..., Processes]


@pytest.fixture
def launch(
    store_url: str,
    redis_url: str,
    tmp_path: Path,
    processes: Callable[[dict[str, str]], Processes],
) -> Launch:
    """Processes for a test against `org`: the base environment plus overrides (None removes)."""

    def make(org: SandboxOrg, **overrides: str | None) -> Processes:
        env = base_env(tmp_path, store_url, redis_url, org)
        for name, value in overrides.items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
        return processes(env)

    return make
