"""The shared usage reader: BOMs, exact numbers, chunk boundaries, bounded memory."""

from __future__ import annotations

import io
import json
import tracemalloc
from decimal import Decimal
from typing import Any

import pytest

from sfsync.sync.usage import UnreadableInput
from sfsync.sync.usage.reader import CHUNK, read_events
from sfsync.sync.usage.validation import PAYLOAD_PREFIX, Oversized, Unparsable

LIMIT = 136 * 1024
BOM = b"\xef\xbb\xbf"


def events(data: bytes, limit: int = LIMIT) -> list[Any]:
    return [e for e, _ in read_events(io.BytesIO(data), limit)]


def ev(tx: str, **properties: Any) -> dict[str, Any]:
    return {"transaction_id": tx, "properties": properties}


@pytest.mark.parametrize("layout", ["array", "lines"])
def test_a_utf8_byte_order_mark_is_skipped(layout: str) -> None:
    """A BOM before a JSON array or JSON Lines is not data (and not mistaken for lines)."""
    items = [ev("a"), ev("b")]
    body = json.dumps(items) if layout == "array" else "\n".join(json.dumps(i) for i in items)
    assert events(BOM + body.encode()) == items


def test_numbers_are_read_exactly() -> None:
    """Fractions become Decimals with their digits, in both layouts."""
    text = '{"amt": 123456789012345678901234567890.123456789, "z": 1.10}'
    for data in (f"[{text}]", text):
        (event,) = events(data.encode())
        assert event["amt"] == Decimal("123456789012345678901234567890.123456789")
        assert str(event["z"]) == "1.10"


@pytest.mark.parametrize("char", ["é", "€", "🚀"])
def test_a_character_split_across_reads_of_an_array_stays_one_character(char: str) -> None:
    """Multi-byte characters at every offset around the read boundary decode intact."""
    for shift in range(4):
        head = '[{"transaction_id": "x", "s": "'
        pad = "a" * (CHUNK - len(head) - shift)
        data = (head + pad + char * 3 + '"}]').encode()
        ((event),) = events(data)
        assert event["s"] == pad + char * 3


def test_progress_counts_bytes_against_the_byte_total() -> None:
    """The position reported is in bytes, never past the input's size, and reaches it."""
    items = [ev(f"t{i}", name="ünïcødé 🚀" * 20) for i in range(3000)]
    data = json.dumps(items, ensure_ascii=False).encode()
    assert len(data) > 4 * CHUNK
    positions = [p for _, p in read_events(io.BytesIO(data), LIMIT)]
    assert positions == sorted(positions) and positions[-1] == len(data)
    assert all(p <= len(data) for p in positions)


def big_line_file(layout: str, size: int) -> bytes:
    blob = '{"s": "' + (("x" * 60 + '\\"[{') * (size // 64)) + '"}'
    good = [json.dumps(ev("before")), blob, json.dumps(ev("after"))]
    if layout == "array":
        return ("[" + ",".join(good) + "]").encode()
    return "\n".join(good).encode()


@pytest.mark.parametrize("layout", ["array", "lines"])
def test_an_oversized_event_is_skipped_with_a_prefix_in_bounded_memory(layout: str) -> None:
    """A 4 MB event is never held whole: a small stand-in with its size, the rest read."""
    data = big_line_file(layout, 4 << 20)
    stream = io.BytesIO(data)
    tracemalloc.start()
    try:
        got = [e for e, _ in read_events(stream, LIMIT)]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2 << 20, f"peak {peak} bytes"
    before, big, after = got
    assert (before, after) == (ev("before"), ev("after"))
    assert isinstance(big, Oversized) and big.size > 4 << 20
    assert len(big.prefix) <= PAYLOAD_PREFIX and big.prefix.startswith('{"s": "x')


def test_a_line_nested_too_deeply_is_one_unparsable_event() -> None:
    """10,000 levels in one line: that line is rejected, the next one still read."""
    lines = [json.dumps(ev("first")), "[" * 10_000 + "]" * 10_000, json.dumps(ev("next"))]
    first, deep, after = events("\n".join(lines).encode())
    assert isinstance(deep, Unparsable) and "nested too deeply" in deep.error
    assert (first, after) == (ev("first"), ev("next"))


def test_an_array_element_nested_too_deeply_is_one_unparsable_event() -> None:
    """10,000 levels in one element: that element is rejected, the next one still read."""
    data = ("[" + "[" * 10_000 + "]" * 10_000 + "," + json.dumps(ev("next")) + "]").encode()
    deep, after = events(data)
    assert isinstance(deep, Unparsable) and after == ev("next")


def test_a_broken_array_is_unreadable_after_its_good_elements() -> None:
    """What precedes the break is yielded; then the reader says where it broke."""
    reader = read_events(io.BytesIO(b'[{"a": 1} {"b": 2}]'), LIMIT)
    assert next(reader)[0] == {"a": 1}
    with pytest.raises(UnreadableInput, match="expected ','"):
        next(reader)
