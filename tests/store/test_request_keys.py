"""`Idempotency-Key` answers and `uniqueness_key`s in the store (SQLite and PostgreSQL)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import update

from sfsync.models import (
    IdempotencyKeyRaced,
    IdempotencyKeyReused,
    InvalidInput,
    Store,
    UniquenessKeyUsed,
)
from sfsync.models.operations.request_keys import (
    IDEMPOTENCY_WINDOW,
    StoredResponse,
    check_uniqueness_key,
    fingerprint,
    recall_response,
    record_response,
    record_uniqueness_key,
)
from sfsync.models.tables import RequestKey
from sfsync.models.types import Entity, utcnow

PRINT = fingerprint("POST", "/v1/customers", {"name": "a"})


def test_an_answer_is_recalled_for_its_key_and_request_only(store: Store) -> None:
    """Same API key, key and request: the answer; another request: refused; another key: none."""
    with store.session() as s:
        record_response(s, "k1", "idem", PRINT, StoredResponse(200, {"data": {"id": "x"}}))
    with store.reader() as s:
        assert recall_response(s, "k1", "idem", PRINT) == StoredResponse(200, {"data": {"id": "x"}})
        assert recall_response(s, "k2", "idem", PRINT) is None
        other = fingerprint("POST", "/v1/customers", {"name": "b"})
        with pytest.raises(IdempotencyKeyReused):
            recall_response(s, "k1", "idem", other)


def test_an_answer_older_than_the_window_is_forgotten_and_the_key_reusable(store: Store) -> None:
    """After 24 hours the key starts afresh, and recording prunes the key's old answers."""
    with store.session() as s:
        record_response(s, "k1", "old", PRINT, StoredResponse(200, None))
        s.execute(update(RequestKey).values(created_at=utcnow() - IDEMPOTENCY_WINDOW * 2))
    with store.session() as s:
        assert recall_response(s, "k1", "old", PRINT) is None
        record_response(s, "k1", "old", PRINT, StoredResponse(201, {"again": True}))
    with store.reader() as s:
        assert recall_response(s, "k1", "old", PRINT) == StoredResponse(201, {"again": True})


def test_a_used_uniqueness_key_names_what_it_created(store: Store) -> None:
    """The second use of a uniqueness key is a conflict naming the first entity."""
    created = uuid.uuid4()
    with store.session() as s:
        check_uniqueness_key(s, Entity.CONTRACT, "deal-1")
        record_uniqueness_key(s, Entity.CONTRACT, "deal-1", created)
    with store.reader() as s, pytest.raises(UniquenessKeyUsed) as used:
        check_uniqueness_key(s, Entity.CONTRACT, "deal-1")
    assert used.value.holder_id == created and str(created) in str(used.value)


@pytest.mark.parametrize("key", ["", "k" * 256, "tab\there"])
def test_a_key_too_long_empty_or_unprintable_is_invalid_input(store: Store, key: str) -> None:
    """Keys are 1 to 255 printable characters."""
    with store.reader() as s, pytest.raises(InvalidInput):
        recall_response(s, "k1", key, PRINT)


def test_a_key_recorded_by_a_racing_transaction_is_a_conflict_not_a_second_record(
    store: Store,
) -> None:
    """The loser of a race (its check ran before the winner committed) gets a clear conflict."""
    first = uuid.uuid4()
    with store.session() as s:
        record_uniqueness_key(s, Entity.CONTRACT, "raced", first)
        record_response(s, "k1", "raced", PRINT, StoredResponse(200, None))
    with pytest.raises(UniquenessKeyUsed) as used, store.session() as s:
        record_uniqueness_key(s, Entity.CONTRACT, "raced", uuid.uuid4())
    assert used.value.holder_id == first
    with pytest.raises(IdempotencyKeyRaced), store.session() as s:
        record_response(s, "k1", "raced", PRINT, StoredResponse(200, None))
