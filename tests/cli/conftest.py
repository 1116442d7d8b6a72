"""Run `sfsync` through click's runner against a test store."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import CliRunner, Result

from sfsync.cli import main

# The worker fixtures (a Redis database, Celery processes against the sandbox org).
from tests.worker.conftest import launch, processes, redis_url  # noqa: F401

Invoke = Callable[..., Result]


@pytest.fixture
def sfsync(store_url: str, tmp_path: Any) -> Invoke:
    """Invoke `sfsync` with the test's store (SQLite or PostgreSQL)."""
    runner = CliRunner()

    def invoke(*args: str, **kwargs: Any) -> Result:
        return runner.invoke(
            main,
            ["--data-dir", str(tmp_path / "data"), "--database-url", store_url, *args],
            catch_exceptions=False,
            **kwargs,
        )

    return invoke


def ok_json(result: Result) -> Any:
    """The single JSON document a successful command printed."""
    assert result.exit_code == 0, result.output + result.stderr
    return json.loads(result.stdout)
