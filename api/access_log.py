"""The access log without credentials: query values and the listener's URL token masked.

uvicorn logs each request's path with its query string. A client that sends its API key
as `?api_key=…` is refused, but the key would be written whole to the log; so would the
Outbound Message token, which is a path segment. Every query value is masked (the
parameter names stay, for debugging), and so is the segment after
`/salesforce/outbound-message/`.
"""

from __future__ import annotations

import logging
import re

__all__ = ["MASK", "AccessLogRedaction", "redact_access_log", "redact_target"]

MASK = "***"
ACCESS_LOGGER = "uvicorn.access"
_TOKEN_SEGMENT = re.compile(r"(/salesforce/outbound-message/)[^/?#]+")
#: uvicorn's access record: client, method, path with query, HTTP version, status.
_TARGET_ARG = 2


def redact_target(target: str) -> str:
    """`target` (a path with its query string) with the secrets it may carry masked."""
    path, question, query = target.partition("?")
    path = _TOKEN_SEGMENT.sub(rf"\g<1>{MASK}", path)
    if not question:
        return path
    masked = "&".join(
        f"{name}={MASK}" if sep else name
        for name, sep, _ in (part.partition("=") for part in query.split("&"))
    )
    return f"{path}?{masked}"


class AccessLogRedaction(logging.Filter):
    """Masks the request target of uvicorn's access records."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) > _TARGET_ARG:
            target = args[_TARGET_ARG]
            if isinstance(target, str):
                record.args = (
                    *args[:_TARGET_ARG],
                    redact_target(target),
                    *args[_TARGET_ARG + 1 :],
                )
        return True


def redact_access_log() -> None:
    """Install the redaction on uvicorn's access logger (once per process)."""
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(f, AccessLogRedaction) for f in logger.filters):
        logger.addFilter(AccessLogRedaction())
