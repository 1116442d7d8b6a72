"""What a task's result says about its work, so Flower and `celery events` show it.

A task whose records were dead-lettered has still *succeeded* as far as Celery is
concerned (the letters are the outcome, written in the same transaction as the rest), so
its state is SUCCESS; its result says ``"outcome": "dead_lettered"`` with the count, and
Flower shows that result next to the state.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from sfsync.models.types import TaskRunOutcome

__all__ = ["LETTER_COUNTS", "TaskOutcome", "with_outcome"]


class TaskOutcome(StrEnum):
    OK = "ok"
    #: Some or all of the task's records became dead letters (the runtime tally's word too).
    DEAD_LETTERED = TaskRunOutcome.DEAD_LETTERED.value


#: Result keys that count dead letters: a run's records, ingest's rejected events.
LETTER_COUNTS = ("dead_lettered", "rejected")


def with_outcome(result: Any) -> Any:
    """A task's summary dict with `outcome` and `dead_lettered` added; anything else as is."""
    if not isinstance(result, Mapping) or "outcome" in result:
        return result
    letters = sum(int(result.get(key) or 0) for key in LETTER_COUNTS)
    outcome = TaskOutcome.DEAD_LETTERED if letters else TaskOutcome.OK
    return {"outcome": outcome.value, **result, "dead_lettered": letters}
