"""`RequestLimits` and the handler's commit: exactly one wins the request's deadline."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.types import Message, Receive, Scope, Send

from sfsync.api.limits import RequestLimits
from sfsync.models.deadline import Deadline

TIMEOUT = 0.2


async def _until_passed(deadline: Deadline) -> None:
    # Polled with its own bound: the condition is the deadline having passed.
    for _ in range(200):
        if deadline.remaining() == 0:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the deadline never passed")


async def _answer(send: Send, status: int) -> None:
    await send({"type": "http.response.start", "status": status, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


async def _call(app: Any) -> list[Message]:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    scope: Scope = {"type": "http", "method": "POST", "path": "/", "headers": []}
    await RequestLimits(app, max_body_bytes=1024, timeout=TIMEOUT)(scope, receive, send)
    return sent


def test_a_commit_claimed_before_the_deadline_is_answered_not_cut_off() -> None:
    """The handler claimed its commit, then the time ran out: its own answer is sent."""

    async def committing(scope: Scope, receive: Receive, send: Send) -> None:
        deadline: Deadline = scope["state"]["deadline"]
        assert deadline.claim_commit()
        await _until_passed(deadline)  # a commit slower than what was left of the limit
        await _answer(send, 200)

    sent = asyncio.run(_call(committing))
    assert sent[0]["status"] == 200


def test_work_past_the_deadline_is_answered_503_and_cannot_commit_after() -> None:
    """The server gives up first: 503, and the handler's later claim is refused."""
    claims: list[bool] = []

    async def slow(scope: Scope, receive: Receive, send: Send) -> None:
        deadline: Deadline = scope["state"]["deadline"]
        try:
            await _until_passed(deadline)
            await asyncio.sleep(1)  # cancelled by the server here
        finally:
            claims.append(deadline.claim_commit())

    sent = asyncio.run(_call(slow))
    assert sent[0]["status"] == 503
    assert "longer than" in json.loads(sent[1]["body"])["message"]
    assert claims == [False]
