"""The application factory uvicorn's worker processes call (`sfsync serve --workers N`)."""

from __future__ import annotations

from fastapi import FastAPI

from sfsync.api.access_log import redact_access_log
from sfsync.api.app import create_app
from sfsync.config import configure_logging, load_settings

__all__ = ["app_from_environment"]


def app_from_environment() -> FastAPI:
    settings = load_settings()
    configure_logging(settings.log_level, settings.secret_values(), settings.log_format)
    redact_access_log()
    return create_app(settings)
