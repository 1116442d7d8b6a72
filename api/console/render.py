"""The console's templates: Jinja2 with autoescaping on for every template, and its filters."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from sfsync.api.console.auth import csrf_token, session_key
from sfsync.models.durations import spoken
from sfsync.models.operations.api_keys import Principal
from sfsync.models.types import ApiScope

__all__ = ["TEMPLATES", "environment", "human_duration", "page", "pretty_json", "when"]

TEMPLATES = Path(__file__).parent / "templates"


def human_duration(seconds: float | None) -> str:
    """`3d 4h`, `5h 12m`, `7m 3s`, `42s` (a lag's fraction dropped); `-` for none."""
    return "-" if seconds is None else spoken(int(seconds))


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else "-"


def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, default=str, ensure_ascii=False)


environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    # Every value is escaped, whatever the template's name: data comes from Salesforce,
    # usage producers and operators, and any of it may hold markup.
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
environment.filters.update(duration=human_duration, when=when, pretty_json=pretty_json)


def page(
    request: Request,
    template: str,
    principal: Principal | None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    key = session_key(request)
    html = environment.get_template(template).render(
        request=request,
        principal=principal,
        can_act=principal is not None and principal.allows(ApiScope.ADMIN),
        csrf=csrf_token(key) if key and principal is not None else "",
        **context,
    )
    return HTMLResponse(
        html,
        status_code=status_code,
        headers={
            "Cache-Control": "no-store",
            "X-Frame-Options": "DENY",
            "Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; "
            "form-action 'self'; frame-ancestors 'none'",
            "Referrer-Policy": "same-origin",
        },
    )
