"""The operations console at `/console`: server-rendered pages over the store, no JavaScript.

`install(app)` adds its routes and turns its two exceptions into answers: no session is a
redirect to the sign-in page (nothing is shown signed out), a refused action a 403 page.
"""

from __future__ import annotations

import inspect

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from sfsync.api.console import actions, pages
from sfsync.api.console.auth import (
    PREFIX,
    ConsoleForbidden,
    SignInRequired,
    current,
    sign_in_redirect,
)
from sfsync.api.console.render import page
from sfsync.models import InvalidInput, NotFound, StoreError

__all__ = ["install"]


def install(app: FastAPI) -> None:
    app.include_router(actions.router)
    app.include_router(pages.router)

    @app.exception_handler(SignInRequired)
    async def _sign_in(_: Request, exc: SignInRequired) -> RedirectResponse:
        return sign_in_redirect(exc.path)

    api_answer = app.exception_handlers.get(StoreError)

    @app.exception_handler(StoreError)
    async def _store(request: Request, exc: StoreError) -> Response:
        # A console page answers in HTML; everything else keeps the API's JSON answer.
        principal = current(request) if request.url.path.startswith(PREFIX) else None
        if principal is None or not isinstance(exc, NotFound | InvalidInput):
            assert api_answer is not None, "install the API's handlers first"
            answer = api_answer(request, exc)
            return await answer if inspect.isawaitable(answer) else answer
        return page(
            request,
            "message.html",
            principal,
            status_code=404 if isinstance(exc, NotFound) else 400,
            title="Not found" if isinstance(exc, NotFound) else "Cannot show that",
            text=str(exc),
            back=PREFIX,
        )

    @app.exception_handler(ConsoleForbidden)
    async def _forbidden(request: Request, exc: ConsoleForbidden) -> HTMLResponse:
        return page(
            request,
            "message.html",
            current(request),
            status_code=403,
            title="Not allowed",
            text=str(exc),
            back="/console",
        )
