"""The letter for aliases that did not fit (`sync.merges.overflow_letter`)."""

from __future__ import annotations

import uuid

from sfsync.models.aliases.lookups import AliasOrigin
from sfsync.models.tables import MAX_ALIASES_PER_CUSTOMER
from sfsync.models.types import DeadLetterSource
from sfsync.sync.errors import AliasOverflow
from sfsync.sync.merges import overflow_letter

ROOT = "001000000000001AAA"
CUSTOMER = uuid.UUID(int=7)


def _account(n: int) -> str:
    return f"001{n:012d}AAA"


def test_the_letter_names_the_root_the_counts_and_the_accounts() -> None:
    """One account letter keyed on the root, replayable, naming each account once."""
    overflow = {"x": AliasOrigin(_account(2)), "y": AliasOrigin(_account(2), "F")}
    letter = overflow_letter(CUSTOMER, ROOT, overflow, 2003)
    assert (letter.source, letter.reference) == (DeadLetterSource.ACCOUNT, ROOT)
    assert letter.error_class == AliasOverflow.__name__
    assert letter.payload == {
        "Id": ROOT,
        "customer_id": str(CUSTOMER),
        "aliases_not_attached": 2,
        "accounts": [_account(2)],
    }
    assert "yields 2003 ingest aliases" in letter.error_message
    assert f"can hold {MAX_ALIASES_PER_CUSTOMER}: 2 were not attached" in letter.error_message


def test_a_long_list_of_accounts_is_cut_after_ten() -> None:
    """Twelve accounts: ten named, then how many more; the payload keeps all twelve."""
    overflow = {f"a{n}": AliasOrigin(_account(n)) for n in range(12)}
    letter = overflow_letter(CUSTOMER, ROOT, overflow, 2012)
    assert f"{_account(9)} and 2 more." in letter.error_message
    assert _account(10) not in letter.error_message
    assert letter.payload["accounts"] == [_account(n) for n in range(12)]
