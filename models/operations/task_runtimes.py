"""How long task runs take: a histogram per task and outcome, tallied in the store.

Each run adds itself with one `INSERT … ON CONFLICT DO UPDATE SET count = count + 1, …`
on its (task, outcome, bucket) row. The statement is atomic on both backends (PostgreSQL
locks the conflicting row; SQLite has one writer), so concurrent runs in any number of
processes and hosts lose no increment, and nothing lives in a process's memory: `/metrics`
sums the rows at scrape time. A row per task, outcome and bucket rather than per run keeps
the table at a few hundred rows however long the store lives.

A row holds the runs of its bucket alone; cumulative counts are formed when read, so the
bucket bounds can change (`TASK_RUNTIME_BUCKETS`) without rewriting stored rows.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from sfsync.models.dialect import insert
from sfsync.models.histogram import Histogram, bucket_of
from sfsync.models.tables import TaskRuntime
from sfsync.models.types import TaskRunOutcome

__all__ = [
    "TASK_RUNTIME_BUCKETS",
    "TaskRuntimes",
    "read_task_runtimes",
    "record_task_runtime",
]

#: Upper bounds (seconds) of the task-runtime histogram's buckets: an ingest or a
#: provisioning takes a fraction of a second, a full poll or reconciliation minutes.
TASK_RUNTIME_BUCKETS = (
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    300.0,
    900.0,
    3600.0,
)
_INF = "+Inf"


@dataclass(frozen=True)
class TaskRuntimes:
    """The runtimes of one task's runs that ended one way."""

    task: str
    outcome: TaskRunOutcome
    histogram: Histogram


def _label(seconds: float) -> str:
    index = bucket_of(TASK_RUNTIME_BUCKETS, seconds)
    return _INF if index is None else f"{TASK_RUNTIME_BUCKETS[index]:g}"


def record_task_runtime(
    session: Session, task: str, outcome: TaskRunOutcome, seconds: float
) -> None:
    """Add one run of `task` that took `seconds` and ended with `outcome` (one statement)."""
    seconds = max(0.0, seconds)
    stmt = insert(session, TaskRuntime).values(
        task=task, outcome=outcome, le=_label(seconds), count=1, sum_seconds=seconds
    )
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=[TaskRuntime.task, TaskRuntime.outcome, TaskRuntime.le],
            set_={
                "count": TaskRuntime.count + stmt.excluded.count,
                "sum_seconds": TaskRuntime.sum_seconds + stmt.excluded.sum_seconds,
            },
        )
    )


def read_task_runtimes(session: Session) -> tuple[TaskRuntimes, ...]:
    """Every task and outcome that has run, by task then outcome."""
    rows = session.execute(
        select(
            TaskRuntime.task,
            TaskRuntime.outcome,
            TaskRuntime.le,
            TaskRuntime.count,
            TaskRuntime.sum_seconds,
        ).order_by(TaskRuntime.task, TaskRuntime.outcome)
    )
    tallies: dict[tuple[str, TaskRunOutcome], list[tuple[float, int, float]]] = {}
    for task, outcome, le, count, total in rows:
        tallies.setdefault((task, outcome), []).append((float(le), int(count), float(total)))
    return tuple(
        TaskRuntimes(task, outcome, Histogram.of_tallies(TASK_RUNTIME_BUCKETS, buckets))
        for (task, outcome), buckets in tallies.items()
    )
