"""Dead-letter replay as a task, and the runner that re-runs a failed task in-process.

Errors::

    Reported (tasks.base)
      └── ReplayFailed     the letter still fails; it keeps its first error and the new one
                           in its history, and the task is reported failed
"""

from __future__ import annotations

from typing import Any

from sfsync.celery_app import app
from sfsync.sync.replay import replay_letter
from sfsync.tasks import context
from sfsync.tasks.base import Reported, SfsyncTask
from sfsync.tasks.names import REPLAY_LETTER

__all__ = ["ReplayFailed", "replay", "replay_task", "run_task"]


class ReplayFailed(Reported):
    """A replayed letter failed again (recorded on the letter)."""


def run_task(name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
    """Run a task here as the worker would (through `SfsyncTask`), raising what it raises.

    The task modules are imported first: a process that only replays (the CLI) has not
    loaded them, and a task letter names any of them.
    """
    app.loader.import_default_modules()
    if name not in app.tasks:
        raise LookupError(f"no task named {name!r} is registered")
    return app.tasks[name](*args, **kwargs)


def replay(letter_id: int, accept_change: bool = False, actor: str | None = None) -> dict[str, Any]:
    result = replay_letter(
        context.store(),
        context.settings(),
        letter_id,
        client=context.salesforce,
        run_task=run_task,
        redact=context.redact,
        accept_change=accept_change,
        actor=actor,
    )
    return {"letter_id": result.letter_id, "replayed": result.replayed, "error": result.error}


@app.task(base=SfsyncTask, bind=True, name=REPLAY_LETTER)
def replay_task(
    self: SfsyncTask, letter_id: int, accept_change: bool = False, actor: str | None = None
) -> dict[str, Any]:
    """Replay one dead letter (`accept_change`: an operator's go-ahead for a change that
    rewrites a started contract; `actor`: who asked); the letter records the outcome, and a
    replay that failed fails the task (`ReplayFailed`) so Flower and the runtimes see it."""
    result = replay(letter_id, accept_change, actor)
    if not result["replayed"]:
        raise ReplayFailed(f"dead letter {letter_id} still fails: {result['error']}")
    return result
