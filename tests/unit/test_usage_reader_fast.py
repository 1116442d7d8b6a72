"""The reader's fast decode path (orjson for plain lines) yields exactly what the exact
reader yields, for any line: values, types (a fraction stays a `Decimal`), key order,
`Unparsable` and `Oversized` stand-ins alike."""

from __future__ import annotations

import io
import json
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from sfsync.sync.usage.reader import read_events

MAX_CHARS = 400

_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=8,
)
_events = st.fixed_dictionaries(
    {
        "transaction_id": st.text(max_size=10) | _scalars,
        "customer_id": st.text(max_size=10),
        "event_type": st.just("api_call"),
        "timestamp": st.just("2026-11-20T14:05:09Z"),
    },
    optional={
        "properties": st.dictionaries(st.text(max_size=5), _values, max_size=4) | _values,
        "extra": _values,
    },
)


def _both(data: bytes) -> tuple[list[str], list[str]]:
    """What each path yields for `data`, as reprs (types and key order count)."""
    fast = [repr(v) for v in read_events(io.BytesIO(data), MAX_CHARS, fast=True)]
    exact = [repr(v) for v in read_events(io.BytesIO(data), MAX_CHARS, fast=False)]
    return fast, exact


def _line(value: Any, ensure_ascii: bool) -> bytes:
    return json.dumps(value, ensure_ascii=ensure_ascii).encode("utf-8", "surrogatepass")


@settings(max_examples=600, deadline=None)
@given(_events, st.booleans())
def test_event_shaped_lines_decode_alike_on_both_paths(event: Any, ensure_ascii: bool) -> None:
    """Events with any values (fractions, NaN, huge integers, nesting, lone surrogates,
    oversized): the fast path yields what the exact reader yields."""
    fast, exact = _both(_line(event, ensure_ascii) + b"\n")
    assert fast == exact


@settings(max_examples=600, deadline=None)
@given(st.binary(max_size=60))
@example(b'{"a":1}\r')
@example(b'{"a":"\\ud800"}')
@example(b'{"a":1.0}')
@example(b'{"a":1e3,"a":2}')
@example(b'{"a":NaN}')
@example(b'{"a":"\xff"}')
@example(b'{"a":18446744073709551616}')
@example(b'{"a":{"b":[1]}}')
@example(b"[1]")
@example(b'  {"a":-0}  ')
def test_any_bytes_decode_alike_on_both_paths(data: bytes) -> None:
    """Arbitrary bytes as lines (bad UTF-8, broken JSON, blanks): the same values and
    `Unparsable` stand-ins on both paths."""
    # After a first line, so the input reads as JSON Lines (not as one array).
    fast, exact = _both(b"{}\n" + data.replace(b"\n", b" ") + b"\n" + data)
    assert fast == exact


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.text(max_size=8),
        st.none() | st.booleans() | st.integers(min_value=-(2**64), max_value=2**64) | st.text(),
        max_size=6,
    )
)
def test_plain_flat_events_decode_alike_on_both_paths(properties: dict[str, Any]) -> None:
    """The common shape (flat properties of strings, integers, booleans and nulls), in and
    around 64-bit integers and any text."""
    event = {
        "transaction_id": "t",
        "customer_id": "c",
        "event_type": "e",
        "timestamp": "2026-11-20T14:05:09Z",
        "properties": properties,
    }
    fast, exact = _both(_line(event, False) + b"\n" + _line(event, True))
    assert fast == exact
