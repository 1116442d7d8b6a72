"""Starting the HTTP server (`sfsync serve`): uvicorn with the project's protocol and logs.

The CLI reaches this module by its import string (`commands/api.py`), as uvicorn reaches
`api/asgi.py`'s factory: the commands never import the HTTP application.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import uvicorn

from sfsync.api.access_log import redact_access_log
from sfsync.api.app import create_app
from sfsync.api.protocol import protocol_with_header_timeout
from sfsync.config import Settings
from sfsync.models import Store

__all__ = ["serve"]


def serve(
    settings: Settings,
    store: Store,
    environment: Mapping[str, str],
    *,
    host: str,
    port: int,
    workers: int,
) -> None:
    """Serve until stopped: in this process for one worker (on `store`), or in `workers`
    processes that each build the app from the environment (`environment` passes the
    command line's overrides on to them)."""
    redact_access_log()
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_config": None,
        "http": protocol_with_header_timeout(settings.api_header_timeout),
        "timeout_keep_alive": settings.api_keep_alive_timeout,
        "limit_concurrency": settings.api_max_connections,
    }
    if workers == 1:
        uvicorn.run(create_app(settings, store=store), **options)
        return
    os.environ.update(environment)
    uvicorn.run(
        "sfsync.api.asgi:app_from_environment",
        factory=True,
        workers=workers,
        # A worker loading on a busy host can take more than uvicorn's default 5 s to start.
        timeout_worker_healthcheck=60,
        **options,
    )
