"""The ASGI application: `create_app(settings)` assembles routers, limits and error handling."""

from __future__ import annotations

import threading

from fastapi import FastAPI

from sfsync.api import console, health, metrics
from sfsync.api.errors import install_handlers
from sfsync.api.limits import RequestLimits
from sfsync.api.metronome import contracts, custom_fields, customers, uncovered, usage
from sfsync.api.queue import Enqueuer
from sfsync.api.salesforce import routes as salesforce
from sfsync.api.state import ApiState
from sfsync.config import Settings
from sfsync.models import Store
from sfsync.models.operations.api_keys import KeyCache
from sfsync.sync.usage import UsageRules

__all__ = ["DESCRIPTION", "create_app"]

DESCRIPTION = """\
sfsync's HTTP API. Under `/v1` it speaks Metronome's API for what sfsync's model covers
(usage ingest, customers, custom fields, contracts, events search), so the official
`metronome-sdk` works against it with `base_url` pointed here. Under `/salesforce`,
Salesforce calls in (Outbound Messages, a Flow callout) to provision a closed deal now.
Authenticate with `Authorization: Bearer <key>` (`sfsync api-keys create`).
"""


def create_app(
    settings: Settings, *, store: Store | None = None, enqueuer: Enqueuer | None = None
) -> FastAPI:
    """The application for these settings (the store is opened, not migrated, here)."""
    app = FastAPI(
        title="sfsync",
        description=DESCRIPTION,
        version="0.1.0",
        docs_url="/docs",
        redoc_url=None,
    )
    store = store or Store(settings.store_url)
    app.state.sfsync = ApiState(
        settings=settings,
        store=store,
        enqueuer=enqueuer or Enqueuer(settings),
        usage_rules=UsageRules.of(settings),
        key_cache=KeyCache(settings.api_key_cache_seconds),
        write_turn=threading.Lock() if store.dialect == "sqlite" else None,
    )
    install_handlers(app)
    app.include_router(health.router)
    app.include_router(metrics.router)
    console.install(app)
    app.include_router(usage.ingest_router)
    for module in (usage, customers, custom_fields, contracts):
        app.include_router(module.router)
    app.include_router(salesforce.router)
    app.include_router(uncovered.router)
    app.add_middleware(
        RequestLimits,
        max_body_bytes=settings.api_max_body_bytes,
        timeout=settings.api_request_timeout,
    )
    return app
