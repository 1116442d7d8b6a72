"""How a task run's outcome is told, and that tallying it can never fail the run."""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any, NoReturn

import pytest
from celery.exceptions import Reject, Retry

from sfsync.models import StoreUnavailable
from sfsync.models.histogram import Histogram
from sfsync.models.types import TaskRunOutcome
from sfsync.tasks import context, runtimes


def fake_task(**request: Any) -> Any:
    return SimpleNamespace(
        name="sfsync.test", request=SimpleNamespace(called_directly=False, **request)
    )


@pytest.mark.parametrize(
    ("exc", "outcome"),
    [
        (Retry(), TaskRunOutcome.RETRIED),
        (Reject("store down", requeue=True), TaskRunOutcome.RETRIED),
        (Reject("unwanted", requeue=False), TaskRunOutcome.FAILED),
        (ValueError("bad"), TaskRunOutcome.FAILED),
    ],
)
def test_a_run_that_raised_is_retried_only_when_its_message_runs_again(
    exc: BaseException, outcome: TaskRunOutcome
) -> None:
    assert runtimes.outcome_of_error(exc) is outcome


def test_a_returned_run_is_dead_lettered_when_its_result_or_request_says_so() -> None:
    task = fake_task()
    assert runtimes.outcome_of_result(task, {"outcome": "ok"}) is TaskRunOutcome.SUCCEEDED
    assert runtimes.outcome_of_result(task, None) is TaskRunOutcome.SUCCEEDED
    lettered = {"outcome": "dead_lettered", "dead_lettered": 1}
    assert runtimes.outcome_of_result(task, lettered) is TaskRunOutcome.DEAD_LETTERED
    poison = fake_task(sfsync_letter_written=True)
    assert runtimes.outcome_of_result(poison, None) is TaskRunOutcome.DEAD_LETTERED


def _store_down() -> NoReturn:
    raise StoreUnavailable("database temporarily unavailable: OperationalError")


def _own_error() -> NoReturn:
    raise KeyError("the task's own")


def test_a_tally_that_cannot_be_written_leaves_the_run_as_it_was(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The result comes back, the task's own error is raised as is; a warning says why."""
    monkeypatch.setattr(context, "store", _store_down)
    with caplog.at_level(logging.WARNING, logger="sfsync.tasks.runtimes"):
        assert runtimes.timed(fake_task(), lambda: {"done": 1}) == {"done": 1}
        with pytest.raises(KeyError, match="the task's own"):
            runtimes.timed(fake_task(), _own_error)
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 2
    assert "could not tally the runtime of sfsync.test (succeeded" in warnings[0]
    assert "(failed" in warnings[1] and "database temporarily unavailable" in warnings[1]


def test_a_task_called_directly_is_part_of_its_callers_run(monkeypatch: pytest.MonkeyPatch) -> None:
    tallied: list[Any] = []
    monkeypatch.setattr(runtimes, "_tally", lambda *args: tallied.append(args))
    task = SimpleNamespace(name="sfsync.test", request=SimpleNamespace(called_directly=True))
    assert runtimes.timed(task, lambda: 7) == 7
    assert tallied == []
    assert runtimes.timed(fake_task(), lambda: 8) == 8
    assert [(name, outcome) for name, outcome, _ in tallied] == [
        ("sfsync.test", TaskRunOutcome.SUCCEEDED)
    ]
    assert tallied[0][2] >= 0


def test_tallies_become_cumulative_buckets() -> None:
    """Per-bucket tallies summed up to each bound; a bound that is no longer used moves up."""
    histogram = Histogram.of_tallies(
        (1.0, 5.0, 10.0), [(1.0, 2, 1.5), (3.0, 1, 3.0), (5.0, 4, 12.0), (float("inf"), 1, 99.0)]
    )
    assert histogram.buckets == ((1.0, 2), (5.0, 7), (10.0, 7))
    assert (histogram.count, histogram.total_seconds) == (8, 115.5)
