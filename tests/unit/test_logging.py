"""Log formats: JSON lines keep redaction; a task's result says when its work was lettered."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from sfsync.config import Settings, configure_logging
from sfsync.config.logging import LogFormat
from sfsync.tasks.outcome import with_outcome


@pytest.fixture
def root_output() -> Iterator[io.StringIO]:
    """The root logger's sfsync handler writes here; the logger is restored afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    stream = io.StringIO()
    yield stream
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.captureWarnings(False)


def _configure(stream: io.StringIO, log_format: str) -> None:
    configure_logging("INFO", ["s3cr3t-token"], log_format)
    (handler,) = [h for h in logging.getLogger().handlers if getattr(h, "_sfsync", False)]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(stream)


def test_json_format_writes_one_redacted_object_per_line(root_output: io.StringIO) -> None:
    """Each record is one JSON line; secrets are redacted in the message and the traceback."""
    _configure(root_output, LogFormat.JSON)
    log = logging.getLogger("sfsync.test")
    log.info("token is %s", "s3cr3t-token", extra={"run_id": 7})
    try:
        raise RuntimeError("failed with s3cr3t-token\nsecond line")
    except RuntimeError:
        log.exception("call failed")
    lines = root_output.getvalue().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["message"] == "token is [REDACTED]"
    assert first["level"] == "INFO"
    assert first["logger"] == "sfsync.test"
    assert first["run_id"] == 7
    assert second["message"] == "call failed"
    assert "RuntimeError: failed with [REDACTED]" in second["traceback"]
    assert "s3cr3t-token" not in root_output.getvalue()


def test_text_format_is_the_default(root_output: io.StringIO) -> None:
    """Without SFSYNC_LOG_FORMAT a record is a plain line, not JSON."""
    assert Settings(_env_file=None).log_format is LogFormat.TEXT
    _configure(root_output, Settings(_env_file=None).log_format)
    logging.getLogger("sfsync.test").warning("plain")
    (line,) = root_output.getvalue().splitlines()
    assert line.endswith("WARNING MainProcess sfsync.test: plain")


def test_log_format_setting_accepts_json_and_refuses_others(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """SFSYNC_LOG_FORMAT=json is read; an unknown format is a configuration error."""
    monkeypatch.setenv("SFSYNC_LOG_FORMAT", "json")
    assert Settings(_env_file=None).log_format is LogFormat.JSON
    monkeypatch.setenv("SFSYNC_LOG_FORMAT", "xml")
    with pytest.raises(ValueError, match="log_format"):
        Settings(_env_file=None)


@pytest.mark.parametrize(
    ("result", "outcome", "letters"),
    [
        ({"records_seen": 3, "dead_lettered": 0}, "ok", 0),
        ({"records_seen": 3, "dead_lettered": 2}, "dead_lettered", 2),
        ({"accepted": 5, "duplicate": 1, "rejected": 1}, "dead_lettered", 1),
        ({"attributed": 4}, "ok", 0),
    ],
)
def test_task_results_say_whether_work_was_dead_lettered(
    result: dict[str, int], outcome: str, letters: int
) -> None:
    """A summary gains `outcome` and `dead_lettered` (rejected events count as letters)."""
    shown = with_outcome(result)
    assert shown["outcome"] == outcome
    assert shown["dead_lettered"] == letters
    assert {k: shown[k] for k in result if k != "dead_lettered"} == {
        k: v for k, v in result.items() if k != "dead_lettered"
    }
