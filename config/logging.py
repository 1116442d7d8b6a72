"""Logging, set up once, with a filter that redacts every configured secret."""

from __future__ import annotations

import logging
from collections.abc import Iterable

REDACTED = "[REDACTED]"


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


def configure_logging(level: str, secrets: Iterable[str]) -> RedactSecretsFilter:
    """Install one stderr handler on the root logger whose filter redacts `secrets`."""
    redactor = RedactSecretsFilter(secrets)
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_sfsync", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler()
    handler._sfsync = True  # type: ignore[attr-defined]
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(redactor)
    root.addHandler(handler)
    root.setLevel(level)
    # Migration chatter is noise on a command line; its warnings still show.
    logging.getLogger("alembic").setLevel(max(logging.WARNING, root.level))
    return redactor
