"""Dead letters: one open letter per (source, reference), attempts counted, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from alembic import command
from sqlalchemy import select, text

from sfsync.config import Settings
from sfsync.models import Store
from sfsync.models.operations.deadletters import Failure, TaskCall, add_letter, add_letters, discard
from sfsync.models.tables import DeadLetter
from sfsync.models.types import DeadLetterSource, DeadLetterStatus
from sfsync.sync.usage import UsageRules, ingest

RECENT = (datetime.now(UTC) - timedelta(hours=1)).isoformat()


def bad_events() -> list[dict[str, Any]]:
    """Three events the validation rejects (no event type), each with its transaction id."""
    return [
        {"transaction_id": f"bad-{n}", "customer_id": "k", "timestamp": RECENT} for n in range(3)
    ]


def open_letters(store: Store) -> list[DeadLetter]:
    with store.session() as s:
        return list(
            s.scalars(
                select(DeadLetter)
                .where(DeadLetter.status == DeadLetterStatus.OPEN)
                .order_by(DeadLetter.id)
            )
        )


def test_reingesting_the_same_bad_events_counts_attempts(store: Store, settings: Settings) -> None:
    """3 bad events ingested three times are 3 open letters of 3 attempts, not 9 letters."""
    for _ in range(3):
        with store.session() as s:
            assert ingest(s, bad_events(), UsageRules.of(settings)).rejected == 3
    letters = open_letters(store)
    assert sorted(x.reference or "" for x in letters) == ["bad-0", "bad-1", "bad-2"]
    assert [x.attempts for x in letters] == [3, 3, 3]


def test_copies_within_one_batch_are_one_letter(store: Store) -> None:
    """The same failing reference twice in one batch: one letter, two attempts, newest error."""
    failures = [
        Failure(DeadLetterSource.USAGE_EVENT, "E", f"reason {n}", reference="tx-1", payload=n)
        for n in range(2)
    ]
    with store.session() as s:
        add_letters(s, [*failures, Failure(DeadLetterSource.USAGE_EVENT, "E", "no ref")])
    letters = open_letters(store)
    assert [(x.reference, x.attempts, x.error_message, x.payload) for x in letters] == [
        ("tx-1", 2, "reason 1", 1),
        (None, 1, "no ref", None),
    ]


def test_record_adds_attempts_and_keeps_the_payload(store: Store) -> None:
    """`add_letter` of a repeat failure without a payload keeps the stored one."""
    with store.session() as s:
        first = add_letter(
            s, Failure(DeadLetterSource.OPPORTUNITY, "A", "one", reference="006X", payload={"a": 1})
        )
    with store.session() as s:
        again = add_letter(s, Failure(DeadLetterSource.OPPORTUNITY, "B", "two", reference="006X"))
    assert again.id == first.id
    assert (again.attempts, again.error_class, again.payload) == (2, "B", {"a": 1})


def test_a_closed_letter_does_not_absorb_a_new_failure(store: Store) -> None:
    """Once discarded, the same reference failing again opens a new letter."""
    failure = Failure(DeadLetterSource.USAGE_EVENT, "E", "m", reference="tx-9")
    with store.session() as s:
        discard(s, add_letter(s, failure), "handled")
    with store.session() as s:
        add_letters(s, [failure])
    (letter,) = open_letters(store)
    assert letter.attempts == 1


def test_migration_merges_open_letters_that_already_repeat(tmp_path: Path) -> None:
    """Upgrading with duplicate open letters keeps one (attempts summed) and closes the rest."""
    store = Store(f"sqlite:///{tmp_path / 'old.db'}")
    cfg = store._alembic_config()
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
    insert = text(
        "INSERT INTO dead_letters (source, reference, status, error_class, error_message, "
        "attempts, first_failed_at, last_failed_at) VALUES "
        "('usage.event', 'tx', 'open', :cls, 'm', :n, '2026-01-01', '2026-01-01')"
    )
    with store.engine.begin() as conn:
        for cls, n in (("Old", 1), ("Mid", 2), ("New", 4)):
            conn.execute(insert, {"cls": cls, "n": n})
    store.upgrade()
    with store.session() as s:
        rows = list(s.scalars(select(DeadLetter).order_by(DeadLetter.id)))
    assert (rows[0].status, rows[0].attempts) == (DeadLetterStatus.OPEN, 7)
    assert rows[0].error_class == "New"
    assert [r.status for r in rows[1:]] == [DeadLetterStatus.DISCARDED] * 2
    assert all(
        f"merged into dead letter {rows[0].id}" in (r.discard_reason or "") for r in rows[1:]
    )
    store.close()


def test_a_task_letter_stores_its_call_in_the_one_format(store: Store) -> None:
    """`task_args` hold {"args": [...], "kwargs": {...}}, read back as the same call."""
    call = TaskCall(("006X", 2), {"accept_change": True})
    with store.session() as s:
        letter = add_letter(
            s, Failure(DeadLetterSource.TASK, "E", "failed", reference="t-1", task_args=call)
        )
        assert letter.task_args == {"args": ["006X", 2], "kwargs": {"accept_change": True}}
        assert TaskCall.of(letter.task_args) == call


def test_task_args_stored_as_a_bare_list_read_as_positional_arguments() -> None:
    """Letters written before the one format hold a bare argument list; nothing: no arguments."""
    assert TaskCall.of(["006X"]) == TaskCall(("006X",))
    assert TaskCall.of(None) == TaskCall()
    assert TaskCall.of({"args": None, "kwargs": None}) == TaskCall()


def test_a_letter_of_unstorable_text_is_written_with_its_escapes(store: Store) -> None:
    """A task letter whose reference, message and arguments hold a lone surrogate and a NUL
    is written (one letter, escapes visible); a payload with one is a marked stand-in."""
    bad = "bad\ud800\x00"
    with store.session() as s:
        add_letter(
            s,
            Failure(
                source=DeadLetterSource.TASK,
                error_class="InvalidUsageEvent",
                error_message=f"failed on {bad}",
                reference=bad,
                task_args=TaskCall(([{"transaction_id": bad}],)),
            ),
        )
        add_letters(
            s,
            [
                Failure(
                    source=DeadLetterSource.USAGE_EVENT,
                    error_class="InvalidUsageEvent",
                    error_message="transaction_id is not valid Unicode text",
                    reference=bad,
                    payload={"transaction_id": bad},
                )
            ],
        )
    with store.session() as s:
        letters = {letter.source: letter for letter in s.scalars(select(DeadLetter))}
    task = letters[DeadLetterSource.TASK]
    assert task.task_args is not None
    assert task.reference == "bad\\ud800\\u0000"
    assert task.error_message == "failed on bad\\ud800\\u0000"
    assert task.task_args["value"] == {
        "args": [[{"transaction_id": "bad\\ud800\\u0000"}]],
        "kwargs": {},
    }
    event = letters[DeadLetterSource.USAGE_EVENT]
    assert event.payload is not None
    assert event.reference == "bad\\ud800\\u0000"
    assert event.payload["value"] == {"transaction_id": "bad\\ud800\\u0000"}
    assert "unstorable" in event.payload
