"""The embedded (filesystem) broker enqueues quietly: no kombu warning per message."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from sfsync.celery_app import create_app
from sfsync.config import Settings


def test_enqueueing_on_the_embedded_broker_logs_no_hostname_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """An enqueue on the default broker says nothing about a missing hostname."""
    app = create_app(Settings(_env_file=None, data_dir=tmp_path))
    with caplog.at_level(logging.WARNING):
        app.send_task("sfsync.sync.poll_opportunities", queue="sync")
    assert list((tmp_path / "broker" / "queue").iterdir()), "the message was not enqueued"
    assert [r.getMessage() for r in caplog.records if r.name.startswith("kombu")] == []
