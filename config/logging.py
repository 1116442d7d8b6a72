"""Logging, set up once, with a filter that redacts every configured secret.

Two formats (`SFSYNC_LOG_FORMAT`): ``text``, one line per record (a traceback follows on
its own lines), and ``json``, exactly one JSON object per line (the traceback is a field),
for log shippers. The redaction filter runs before either formatter sees the record.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

__all__ = [
    "REDACTED",
    "TEXT_FORMAT",
    "JsonFormatter",
    "LogFormat",
    "RedactSecretsFilter",
    "configure_logging",
]

REDACTED = "[REDACTED]"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(processName)s %(name)s: %(message)s"


class LogFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


class RedactSecretsFilter(logging.Filter):
    """Replace every known secret in a record's message and arguments."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        # Longest first, so a secret that contains another is replaced whole.
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        message = record.getMessage()
        redacted = self.redact(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if redacted != message or record.args:
            record.msg = redacted
            record.args = None
        return True


#: LogRecord attributes that are not `extra=` fields a caller added.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line: time, level, logger, process, message,
    the traceback if any, and whatever the caller passed as `extra=`."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "process": record.processName,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["traceback"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_") and key not in entry:
                entry[key] = value
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure_logging(
    level: str, secrets: Iterable[str], log_format: str = LogFormat.TEXT
) -> RedactSecretsFilter:
    """Install one stderr handler on the root logger whose filter redacts `secrets`.

    It is the only handler sfsync's processes have: a second one (Celery's own, say)
    would print every record, and every traceback, twice.
    """
    redactor = RedactSecretsFilter(secrets)
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_sfsync", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler()
    handler._sfsync = True  # type: ignore[attr-defined]
    if LogFormat(log_format) is LogFormat.JSON:
        handler.setFormatter(JsonFormatter())
        # Python's warnings would otherwise be plain text lines among the JSON ones.
        logging.captureWarnings(True)
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    handler.addFilter(redactor)
    root.addHandler(handler)
    root.setLevel(level)
    # Migration chatter is noise on a command line; its warnings still show.
    logging.getLogger("alembic").setLevel(max(logging.WARNING, root.level))
    return redactor
