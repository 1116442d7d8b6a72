"""`Deadline`: exactly one of "commit" and "give up" wins."""

from __future__ import annotations

from sfsync.models.deadline import Deadline


def test_a_claimed_commit_cannot_be_abandoned() -> None:
    """Once the handler claims its commit, the server must wait for its answer."""
    deadline = Deadline(30)
    assert deadline.claim_commit()
    assert not deadline.abandon()


def test_an_abandoned_deadline_refuses_the_commit() -> None:
    """Once the server answered 503, the handler's commit is refused."""
    deadline = Deadline(30)
    assert deadline.abandon()
    assert not deadline.claim_commit()


def test_a_passed_deadline_refuses_the_commit() -> None:
    """No commit after the instant, even if nobody abandoned the work yet."""
    deadline = Deadline(0)
    assert not deadline.claim_commit()
    assert deadline.remaining() == 0
