"""Text made storable: every string and JSON value comes out UTF-8-encodable and NUL-free."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from sfsync.models.storable import storable_json, storable_text

ANY_TEXT = st.text(st.characters(codec=None, exclude_categories=()))


@given(ANY_TEXT)
def test_storable_text_always_encodes_and_holds_no_nul(value: str) -> None:
    """Any string, lone surrogates and NUL included, becomes UTF-8 text without NUL."""
    stored = storable_text(value)
    stored.encode("utf-8")
    assert "\x00" not in stored
    if "\x00" not in value and not any(0xD800 <= ord(c) <= 0xDFFF for c in value):
        assert stored == value


@given(st.recursive(ANY_TEXT | st.integers(), lambda c: st.lists(c) | st.dictionaries(ANY_TEXT, c)))
def test_storable_json_has_no_lone_surrogate_anywhere(value: object) -> None:
    """A JSON value with a lone surrogate in a key or a string is a marked stand-in."""
    json.dumps(storable_json(value), ensure_ascii=False).encode("utf-8")


def test_a_lone_surrogate_is_kept_visible_as_its_escape() -> None:
    """What was refused stays readable: the escape, not a replacement character."""
    assert storable_text("bad\ud800") == "bad\\ud800"
    assert storable_text("nul\x00") == "nul\\u0000"
    assert storable_json({"t": "bad\ud800"}) == {
        "unstorable": storable_json({"t": "bad\ud800"})["unstorable"],
        "value": {"t": "bad\\ud800"},
    }
