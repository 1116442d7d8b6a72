"""Console sign-in: a server-side session whose id is in an HttpOnly, SameSite=Strict cookie,
and CSRF tokens.

The cookie holds a random session id, never the API key: the store keeps the id's digest
and the key it was opened with (`models.operations.console_sessions`), so every request checks the
session there, signing out ends it server-side at once, and a revoked key ends its
sessions too. The CSRF token of a session is an HMAC of its id: a page can embed it, a
cross-site form cannot know it (the cookie is HttpOnly), and no server-side secret is
needed. Sign-in itself is protected by a double-submit token in a short-lived cookie.

Errors (answered by `api.console.install`)::

    SignInRequired      no valid session: a redirect to the sign-in page
    ConsoleForbidden    the key's scope or the CSRF token does not allow this: a 403 page
"""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from sfsync.api.state import state, writer
from sfsync.models.operations.api_keys import Principal
from sfsync.models.operations.console_sessions import close_session, open_session, session_principal
from sfsync.models.types import ApiScope

__all__ = [
    "LOGIN_COOKIE",
    "PREFIX",
    "SESSION_COOKIE",
    "SESSION_SECONDS",
    "ConsoleForbidden",
    "SignInRequired",
    "admin",
    "check_csrf",
    "check_login_token",
    "csrf_token",
    "current",
    "end_session",
    "new_login_token",
    "safe_next",
    "session_key",
    "set_login_cookie",
    "sign_in_redirect",
    "start_session",
    "viewer",
]

SESSION_COOKIE = "sfsync_console"
LOGIN_COOKIE = "sfsync_console_login"
#: Seconds a console session lasts before signing in again.
SESSION_SECONDS = 12 * 3600
_LIFETIME = timedelta(seconds=SESSION_SECONDS)
PREFIX = "/console"


class SignInRequired(Exception):
    """No valid session: the answer is a redirect to the sign-in page."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


class ConsoleForbidden(Exception):
    """Signed in, but the key's scope does not allow this (or the CSRF token is wrong)."""


def csrf_token(session_id: str) -> str:
    digest = hmac.new(session_id.encode("utf-8", "surrogatepass"), b"sfsync-console-csrf", "sha256")
    return digest.hexdigest()


def session_key(request: Request) -> str | None:
    """The session id the browser sent (the cookie's value), if any."""
    return request.cookies.get(SESSION_COOKIE) or None


def current(request: Request) -> Principal | None:
    session_id = session_key(request)
    if session_id is None:
        return None
    with state(request).store.reader() as session:
        principal = session_principal(session, session_id, _LIFETIME)
    if principal is None or not principal.allows(ApiScope.READ):
        return None
    return principal


def viewer(request: Request) -> Principal:
    """A dependency: the signed-in principal, or a redirect to sign in."""
    principal = current(request)
    if principal is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(target)
    return principal


def check_csrf(request: Request, token: str) -> None:
    key = session_key(request)
    if key is None or not hmac.compare_digest(csrf_token(key), token or ""):
        raise ConsoleForbidden("the form's CSRF token is missing or wrong; reload the page")


def admin(request: Request, principal: Principal, token: str) -> None:
    """A state-changing request: a valid CSRF token and a key of scope `admin`."""
    check_csrf(request, token)
    if not principal.allows(ApiScope.ADMIN):
        raise ConsoleForbidden(
            f"this key has scope {principal.scope.value!r}; replaying and discarding need 'admin'"
        )


def sign_in_redirect(path: str) -> RedirectResponse:
    return RedirectResponse(f"{PREFIX}/login?next={quote(path, safe='')}", status_code=303)


def safe_next(target: str | None) -> str:
    """Only a console path: never an absolute or protocol-relative URL."""
    if target and target.startswith(PREFIX) and not target.startswith("//"):
        return target
    return PREFIX


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def start_session(request: Request, response: Response, principal: Principal) -> None:
    """Open a session for `principal` in the store; the cookie carries its id."""
    with writer(request) as session:
        session_id = open_session(session, principal.key_id, _LIFETIME)
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        max_age=SESSION_SECONDS,
        path=PREFIX,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )
    response.delete_cookie(LOGIN_COOKIE, path=PREFIX)


def end_session(request: Request, response: Response) -> None:
    """End the session in the store (its id is worthless from now on) and drop the cookie."""
    if (session_id := session_key(request)) is not None:
        with writer(request) as session:
            close_session(session, session_id)
    response.delete_cookie(SESSION_COOKIE, path=PREFIX, httponly=True, samesite="strict")


def new_login_token() -> str:
    return secrets.token_urlsafe(24)


def set_login_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        max_age=3600,
        path=PREFIX,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )


def check_login_token(request: Request, token: str) -> bool:
    expected = request.cookies.get(LOGIN_COOKIE) or ""
    return bool(expected) and hmac.compare_digest(expected, token or "")
