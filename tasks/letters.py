"""The task a dead letter is about, for the views that show one (`sfsync dlq`, the console).

A letter the worker writes stores the name of the task that failed. A letter a sync writes
stores only its source and reference (`sync/` names no task; replay goes by the source), so
its task is the one that provisions a record of that source by id, where there is one.
"""

from __future__ import annotations

from sfsync.models.tables import DeadLetter
from sfsync.models.types import DeadLetterSource
from sfsync.tasks.names import PROVISION_OPPORTUNITY

__all__ = ["RECORD_TASKS", "letter_task"]

#: The task that provisions one record of a source, given its id (the letter's reference).
RECORD_TASKS = {DeadLetterSource.OPPORTUNITY: PROVISION_OPPORTUNITY}


def letter_task(letter: DeadLetter) -> str | None:
    """The task the letter names, or the one that provisions its record."""
    if letter.task_name:
        return letter.task_name
    return RECORD_TASKS.get(letter.source) if letter.reference else None
