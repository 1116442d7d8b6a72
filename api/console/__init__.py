"""The operations console at `/console`: server-rendered pages over the store, no JavaScript.

`install(app)` adds its routes and turns its two exceptions into answers: no session is a
redirect to the sign-in page (nothing is shown signed out), a refused action a 403 page.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from api.console import actions, pages
from api.console.auth import ConsoleForbidden, SignInRequired, current, sign_in_redirect
from api.console.render import page


def install(app: FastAPI) -> None:
    app.include_router(actions.router)
    app.include_router(pages.router)

    @app.exception_handler(SignInRequired)
    async def _sign_in(_: Request, exc: SignInRequired) -> RedirectResponse:
        return sign_in_redirect(exc.path)

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
