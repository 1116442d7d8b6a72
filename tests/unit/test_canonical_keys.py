"""Canonical keys: one spelling per identity for customer ids and Salesforce Account ids."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from sfsync.models.keys import canonical_key, customer_id_of_key
from sfsync.sync.salesforce import normalize_id
from tests.unit.factories import uuid_spellings

ACCOUNT = "001Hs00002XyZaBIAV"


def test_account_id_keys_take_their_18_character_form_and_other_keys_are_kept() -> None:
    """15-character and re-cased 18-character Account ids normalise; nothing else changes."""
    assert canonical_key(ACCOUNT[:15]) == ACCOUNT
    assert canonical_key(ACCOUNT.lower()) == ACCOUNT
    assert canonical_key(ACCOUNT.upper()) == ACCOUNT
    for other in ("acme-main", "ACCT-12345678901", "006Hs00002XyZaB", "001Hs00002XyZaB999"):
        assert canonical_key(other) == other


def test_the_issue_s_account_id_spellings_are_one_key() -> None:
    """001179666626958, its 18-character form and that form in lower case are one key."""
    forms = {"001179666626958", "001179666626958AAA", "001179666626958aaa"}
    assert {canonical_key(f) for f in forms} == {"001179666626958AAA"}


@given(
    st.text(
        alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
        min_size=12,
        max_size=12,
    )
)
def test_every_spelling_of_an_account_id_is_the_adapter_s_18_character_form(tail: str) -> None:
    """The store's key rule and the Salesforce adapter agree on every Account id."""
    id15 = "001" + tail
    id18 = normalize_id(id15)
    for spelling in (id15, id18, id18.lower(), id18.upper()):
        assert canonical_key(spelling) == id18


@given(st.uuids(), st.data())
def test_every_uuid_spelling_is_the_canonical_customer_id(
    value: uuid.UUID, data: st.DataObject
) -> None:
    """Upper case, braces, urn:uuid:, 32 digits, whitespace: the canonical text, and the id."""
    spelling = data.draw(st.sampled_from(uuid_spellings(value)))
    assert canonical_key(spelling) == str(value)
    assert customer_id_of_key(spelling) == value


@given(st.text(max_size=40))
def test_canonical_keys_are_fixed_points(key: str) -> None:
    """A canonical key is its own canonical form, so writing and looking up agree."""
    once = canonical_key(key)
    assert canonical_key(once) == once
