"""What counts as a deal, and why a gone one ends (`sync.gone_deals`, pure parts)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from sfsync.sync.gone_deals import GoneDeal, counts
from sfsync.sync.salesforce import OpportunityRow


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        ({"IsWon": True, "IsDeleted": False}, True),
        ({"IsWon": True}, True),
        ({"IsWon": False, "IsDeleted": False}, False),
        ({"IsWon": True, "IsDeleted": True}, False),
        ({"IsWon": "true"}, False),
        ({}, False),
    ],
)
def test_only_a_won_record_out_of_the_recycle_bin_counts(
    record: dict[str, object], expected: bool
) -> None:
    """Won (the boolean true, not a look-alike) and not deleted: a deal; anything else: gone."""
    assert counts(OpportunityRow.of(record)) is expected


def test_a_gone_deal_says_whether_it_was_deleted_or_un_won() -> None:
    """The revision's cause names what happened in Salesforce."""
    at = datetime(2026, 12, 1, tzinfo=UTC)
    deleted = GoneDeal("006000000000001AAA", uuid.UUID(int=1), at, deleted=True)
    unwon = GoneDeal("006000000000001AAA", uuid.UUID(int=1), at, deleted=False)
    assert deleted.cause == "opportunity deleted in Salesforce"
    assert unwon.cause == "opportunity no longer won"
