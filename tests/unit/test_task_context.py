"""The worker's per-process resources follow the settings they were given."""

from __future__ import annotations

from pathlib import Path

from sfsync import celery_app
from sfsync.config import Settings


def test_configure_redacts_the_new_secrets_not_the_old(tmp_path: Path) -> None:
    """After `configure` (and so `reset`), redaction uses the new settings' secrets."""
    first = Settings(_env_file=None, data_dir=tmp_path, sf_password="first-secret-1")
    second = Settings(_env_file=None, data_dir=tmp_path, sf_password="second-secret-2")
    celery_app.use_settings(first)
    from sfsync.tasks import context  # noqa: PLC0415 - binds to the app use_settings built

    context.configure(first)
    assert context.redact("pw first-secret-1") == "pw [REDACTED]"
    context.configure(second)
    assert context.redact("pw second-secret-2") == "pw [REDACTED]"
    assert context.redact("pw first-secret-1") == "pw first-secret-1"
    context.reset()
