"""A dead letter replays through the stream the registry names for its source."""

from __future__ import annotations

from collections.abc import Iterator
from typing import cast

import pytest

from sfsync.config import Settings
from sfsync.models import InvalidInput, Store
from sfsync.models.operations.deadletters import Failure, add_letter, get_letter
from sfsync.models.types import DeadLetterSource, DeadLetterStatus
from sfsync.sync.replay import replay_letter
from sfsync.sync.salesforce import SalesforceClient
from tests.fake_streams import EchoStream, echo_registered


@pytest.fixture
def echo(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[EchoStream]]:
    """The test-only echo stream, registered for the test."""
    with echo_registered(monkeypatch) as stream:
        yield stream


def _letter(store: Store) -> int:
    with store.session() as s:
        row = add_letter(
            s,
            Failure(
                source=DeadLetterSource.WRITEBACK,
                reference="0015g00000ABCDEAAA",
                payload={"customer_id": "c"},
                error_class="SalesforcePermanentError",
                error_message="refused",
            ),
        )
        return row.id


def _no_client() -> SalesforceClient:
    raise AssertionError("the echo stream needs no client")


def test_a_registered_streams_letters_replay_through_it(
    store: Store, settings: Settings, echo: type[EchoStream]
) -> None:
    """The letter goes to the echo stream's `replay` (not the writeback path) and is replayed."""
    letter_id = _letter(store)
    result = replay_letter(
        store,
        settings,
        letter_id,
        client=lambda: cast(SalesforceClient, object()),  # the echo stream calls nothing
        run_task=lambda *_: None,
    )
    assert result.replayed, result.error
    assert [(x.id, x.reference) for x in echo.replayed] == [(letter_id, "0015g00000ABCDEAAA")]
    with store.session() as s:
        assert get_letter(s, letter_id).status is DeadLetterStatus.REPLAYED


def test_accept_change_is_refused_for_a_stream_that_takes_none(
    store: Store, settings: Settings, echo: type[EchoStream]
) -> None:
    """Only a stream that takes an operator's go-ahead (opportunities) accepts --accept-change."""
    letter_id = _letter(store)
    with pytest.raises(InvalidInput, match="accept-change"):
        replay_letter(
            store,
            settings,
            letter_id,
            client=_no_client,
            run_task=lambda *_: None,
            accept_change=True,
        )
    assert echo.replayed == []
