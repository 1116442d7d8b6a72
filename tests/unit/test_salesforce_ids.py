"""Salesforce ids (`sync.salesforce.ids`): the 18-character form and its checksum."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sfsync.sync.salesforce import normalize_id, valid_id

ALNUM = string.ascii_letters + string.digits
id15s = st.text(alphabet=ALNUM, min_size=15, max_size=15)


def test_normalize_id_appends_the_documented_checksum() -> None:
    """The 15-character example from Salesforce's docs gets its known suffix."""
    assert normalize_id("001D000000IqhSL") == "001D000000IqhSLIAZ"


def test_normalize_id_restores_case_of_a_case_folded_18_character_id() -> None:
    """An 18-character id that lost its case comes back exactly."""
    assert normalize_id("001d000000iqhsliaz") == "001D000000IqhSLIAZ"
    assert normalize_id("001D000000IQHSLIAZ") == "001D000000IqhSLIAZ"


@given(id15s)
def test_normalize_id_is_idempotent_and_case_fold_safe(id15: str) -> None:
    """Normalising twice, or after lower-casing the 18-character form, changes nothing."""
    id18 = normalize_id(id15)
    assert len(id18) == 18
    assert id18[:15] == id15
    assert normalize_id(id18) == id18
    assert normalize_id(id18.lower()) == id18
    assert normalize_id(id18.upper()) == id18


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "001D000000IqhS",
        "001D000000IqhSLI",
        "001D000000IqhSL-AZ",
        "001D000000IqhSLI9Z",
        "ä" * 15,
    ],
)
def test_normalize_id_rejects_malformed_ids(bad: str) -> None:
    """Wrong length, punctuation, non-ASCII or a bad checksum character raise ValueError."""
    with pytest.raises(ValueError):
        normalize_id(bad)


def test_normalize_id_rejects_a_checksum_that_flags_a_digit_upper_case() -> None:
    """A suffix that claims a digit is an upper-case letter cannot belong to the body."""
    with pytest.raises(ValueError, match="checksum"):
        normalize_id("000000000000000BAA")


@pytest.mark.parametrize("value", [None, "", 15, "001D000000IqhS", "not an id at all"])
def test_valid_id_is_none_for_anything_that_is_not_an_id(value: object) -> None:
    """A record's value that is no id counts as absent rather than failing."""
    assert valid_id(value) is None


def test_valid_id_gives_the_18_character_form() -> None:
    """Either form of an id comes back as the 18-character one."""
    assert valid_id("001D000000IqhSL") == valid_id("001d000000iqhsliaz") == "001D000000IqhSLIAZ"
