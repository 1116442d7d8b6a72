"""Console sign-in: an API key in an HttpOnly, SameSite=Strict cookie, and CSRF tokens.

The cookie holds the key itself, so every request authenticates it against the store
(a revoked key signs its sessions out at once) and nothing is kept in server memory. The
CSRF token of a session is an HMAC of its key: a page can embed it, a cross-site form
cannot know it (the cookie is HttpOnly), and no server-side secret is needed. Sign-in
itself is protected by a double-submit token in a short-lived cookie.

Errors (answered by `api.console.install`)::

    SignInRequired      no valid session: a redirect to the sign-in page
    ConsoleForbidden    the key's scope or the CSRF token does not allow this: a 403 page
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from api.state import state
from models.api_keys import Principal, authenticate
from models.types import ApiScope

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
PREFIX = "/console"


class SignInRequired(Exception):
    """No valid session: the answer is a redirect to the sign-in page."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


class ConsoleForbidden(Exception):
    """Signed in, but the key's scope does not allow this (or the CSRF token is wrong)."""


def csrf_token(key: str) -> str:
    return hmac.new(key.encode("utf-8"), b"sfsync-console-csrf", hashlib.sha256).hexdigest()


def session_key(request: Request) -> str | None:
    return request.cookies.get(SESSION_COOKIE) or None


def current(request: Request) -> Principal | None:
    key = session_key(request)
    if key is None:
        return None
    with state(request).store.reader() as session:
        principal = authenticate(session, key)
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


def start_session(request: Request, response: Response, key: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        key,
        max_age=SESSION_SECONDS,
        path=PREFIX,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )
    response.delete_cookie(LOGIN_COOKIE, path=PREFIX)


def end_session(response: Response) -> None:
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
