"""The console's state-changing requests: sign in and out, replay and discard dead letters.

Every one is a POST with a CSRF token. Replay enqueues `sfsync.deadletter.replay` for the
workers, exactly what `sfsync dlq retry` does (the worker runs `sync.replay.replay_letter`);
discard is `models.operations.deadletters.discard`, what `sfsync dlq discard` calls.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from sfsync.api.console import auth
from sfsync.api.console.pages import RowId, Viewer, _enum_or_none, _instant
from sfsync.api.console.render import page
from sfsync.api.queue import EnqueueFailed
from sfsync.api.state import state, writer
from sfsync.models import InvalidInput, NotFound
from sfsync.models.operations.api_keys import Principal, authenticate
from sfsync.models.operations.deadletters import discard, get_letter
from sfsync.models.reports.search import find_letters
from sfsync.models.types import ApiScope, DeadLetterSource, DeadLetterStatus

__all__ = [
    "MAX_BULK_REPLAY",
    "Csrf",
    "bulk_replay",
    "discard_letter",
    "login",
    "login_form",
    "logout",
    "replay",
    "router",
]

router = APIRouter(prefix="/console", include_in_schema=False)
Csrf = Annotated[str, Form()]

#: Most letters one bulk replay enqueues (a larger filtered set is replayed in turns).
MAX_BULK_REPLAY = 1000


def _signed_in(request: Request) -> Principal | None:
    return auth.current(request)


def _login_page(request: Request, target: str, error: str | None = None) -> Response:
    token = auth.new_login_token()
    response = page(
        request,
        "login.html",
        None,
        status_code=200 if error is None else 401,
        next=target,
        error=error,
        token=token,
    )
    auth.set_login_cookie(request, response, token)
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str | None = None) -> Response:
    if _signed_in(request) is not None:
        return RedirectResponse(auth.safe_next(next), status_code=303)
    return _login_page(request, auth.safe_next(next))


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    key: Annotated[str, Form()] = "",
    token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/console",
) -> Response:
    target = auth.safe_next(next)
    if not auth.check_login_token(request, token):
        return _login_page(request, target, "The sign-in form expired; try again.")
    with state(request).store.reader() as s:
        principal = authenticate(s, key.strip())
    if principal is None:
        return _login_page(request, target, "That key is unknown or revoked.")
    if not principal.allows(ApiScope.READ):
        return _login_page(
            request,
            target,
            f"A key of scope {principal.scope.value!r} cannot view the console; "
            "use a 'read' or 'admin' key.",
        )
    response = RedirectResponse(target, status_code=303)
    auth.start_session(request, response, principal)
    return response


@router.post("/logout")
def logout(request: Request, principal: Viewer, csrf: Csrf = "") -> Response:
    auth.check_csrf(request, csrf)
    response = RedirectResponse(f"{auth.PREFIX}/login", status_code=303)
    auth.end_session(request, response)
    return response


def _actor(principal: Principal) -> str:
    """What a letter records of who replayed or discarded it from here: the key's name."""
    return f"console:{principal.name}"


def _message(
    request: Request, principal: Principal, title: str, text: str, back: str, status: int = 200
) -> HTMLResponse:
    return page(
        request, "message.html", principal, status_code=status, title=title, text=text, back=back
    )


def _broker_down(exc: EnqueueFailed) -> str:
    return f"{exc}. The letter stays open; replay it once the broker is back."


@router.post("/letters/{letter_id}/replay", response_class=HTMLResponse)
def replay(request: Request, principal: Viewer, letter_id: RowId, csrf: Csrf = "") -> Response:
    auth.admin(request, principal, csrf)
    back = f"{auth.PREFIX}/letters/{letter_id}"
    with state(request).store.reader() as s:
        letter = get_letter(s, letter_id)
        if letter.status is not DeadLetterStatus.OPEN:
            return _message(
                request,
                principal,
                "Not replayed",
                f"Letter {letter_id} is {letter.status}.",
                back,
                409,
            )
    try:
        state(request).enqueuer.replay_letter(letter_id, _actor(principal))
    except EnqueueFailed as exc:
        return _message(request, principal, "Not replayed", _broker_down(exc), back, 503)
    idle = state(request).enqueuer.idle_replay_queue()
    if idle is not None:
        # "Reload to see its outcome" would be untrue for as long as nobody consumes it.
        return _message(
            request,
            principal,
            "Replay enqueued",
            f"Replay of letter {letter_id} enqueued, but {idle}.",
            back,
        )
    return RedirectResponse(f"{back}?replay=enqueued", status_code=303)


@router.post("/letters/{letter_id}/discard", response_class=HTMLResponse)
def discard_letter(
    request: Request,
    principal: Viewer,
    letter_id: RowId,
    csrf: Csrf = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    auth.admin(request, principal, csrf)
    back = f"{auth.PREFIX}/letters/{letter_id}"
    try:
        with writer(request) as s:
            discard(s, get_letter(s, letter_id), reason, _actor(principal))
    except (InvalidInput, NotFound) as exc:
        return _message(request, principal, "Not discarded", str(exc), back, 400)
    return RedirectResponse(back, status_code=303)


@router.post("/letters/replay", response_class=HTMLResponse)
def bulk_replay(
    request: Request,
    principal: Viewer,
    csrf: Csrf = "",
    source: Annotated[str, Form()] = "",
    error: Annotated[str, Form()] = "",
    since: Annotated[str, Form()] = "",
) -> Response:
    """Replay every open letter the list's filters select."""
    auth.admin(request, principal, csrf)
    with state(request).store.reader() as s:
        ids = [
            letter.id
            for letter in find_letters(
                s,
                source=_enum_or_none(DeadLetterSource, source),
                status=DeadLetterStatus.OPEN,
                error=error or None,
                since=_instant(since, "since"),
                limit=MAX_BULK_REPLAY,
            )
        ]
    for done, letter_id in enumerate(ids):
        try:
            state(request).enqueuer.replay_letter(letter_id, _actor(principal))
        except EnqueueFailed as exc:
            text = f"Enqueued {done} of {len(ids)} replay(s), then: {_broker_down(exc)}"
            return _message(
                request, principal, "Replays stopped", text, f"{auth.PREFIX}/letters", 503
            )
    text = f"Enqueued {len(ids)} replay(s); the workers replay them in turn."
    idle = state(request).enqueuer.idle_replay_queue() if ids else None
    if idle is not None:
        text = f"Enqueued {len(ids)} replay(s), but {idle}."
    if len(ids) == MAX_BULK_REPLAY:
        text += f" At most {MAX_BULK_REPLAY} at a time: replay again for the rest."
    return _message(request, principal, "Replays enqueued", text, f"{auth.PREFIX}/letters")
