"""Ingesting a file of edge cases through the fast decode path stores the same events and
the same dead letters, byte for byte, as the exact reader."""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text

from sfsync.config import Settings
from sfsync.models import Store
from sfsync.sync.usage import UsageRules, ingest_stream, read_events


def _edge_lines(n: int, seed: int) -> Iterator[bytes]:
    """`n` lines mixing plain events with every kind the fast path must hand over: fractions,
    exponents, NaN, huge integers, nesting, bad UTF-8, lone surrogates, control characters,
    oversized lines, duplicates (same and different payloads), blanks, CRLF, non-objects,
    unknown and missing fields, text that is not JSON."""
    rng = random.Random(seed)
    recent = datetime.now(UTC) - timedelta(hours=2)

    def event(i: int, properties: Any = None, **extra: Any) -> dict[str, Any]:
        e: dict[str, Any] = {
            "transaction_id": f"edge-{i:05d}",
            "customer_id": f"org-{i % 5}",
            "event_type": "api_call",
            "timestamp": (recent + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        if properties is not None:
            e["properties"] = properties
        e.update(extra)
        return e

    def dump(value: Any) -> bytes:
        return json.dumps(value).encode()

    kinds: list[Callable[[int], bytes]] = [
        lambda i: dump(event(i, {"bytes": i, "region": "eu-west-1", "ok": True, "x": None})),
        lambda i: dump(event(i, {"price": 1.10})).replace(b"1.1", b"1.10"),
        lambda i: dump(event(i, {"big": 1e300, "tiny": 5e-324})),
        lambda i: dump(event(i, {"n": float("nan")})),
        lambda i: dump(event(i, {"inf": float("inf")})),
        lambda i: dump(event(i, {"huge": 2**64 + i, "neg": -(2**63) - 1})),
        lambda i: dump(event(i, {"limit": 2**63 - 1, "low": -(2**63)})),
        lambda i: dump(event(i, {"deep": {"a": [1, {"b": 2.5}]}})),
        lambda i: dump(event(i, {"list": [1, 2, 3]})),
        lambda i: dump(event(i, {"s": "caf\u00e9 \U0001f600"}))[:-3] + b"\xff\xfe}}",
        lambda i: dump(event(i, {"s": "\ud800"})),
        lambda i: dump(event(i, {"s": "a\u0000b"})),
        lambda i: dump(event(i, {"s": "x" * 9000})),
        lambda i: dump(event(i % 40, {"dup": i % 2})),
        lambda i: b"   ",
        lambda i: dump(event(i, {"crlf": 1})) + b"\r",
        lambda i: dump([event(i)]),
        lambda i: b'"just a string"',
        lambda i: dump(event(i, {}, unknown=1)),
        lambda i: dump({"transaction_id": f"edge-{i:05d}", "customer_id": "org-1"}),
        lambda i: b"{not json at all",
        lambda i: dump(event(i, {"n": 12345678901234567890123456789})),
        lambda i: dump(event(i, timestamp=1700000000)),
        lambda i: dump(event(i, {"key\u0000": 1})),
        lambda i: dump(event(i, transaction_id=f"edge-\u00e9{i}")),
        lambda i: dump(event(i, customer_id=str(i) * 200)),
    ]
    for i in range(n):
        yield kinds[rng.randrange(len(kinds))](i)


def _snapshot(store: Store) -> tuple[list[Any], list[Any]]:
    with store.session() as s:
        events = s.execute(
            text(
                "SELECT transaction_id, customer_key, customer_id, event_type, timestamp, "
                "CAST(properties AS TEXT) FROM usage_events ORDER BY transaction_id"
            )
        ).all()
        letters = s.execute(
            text(
                "SELECT source, reference, error_class, error_message, CAST(payload AS TEXT), "
                "attempts FROM dead_letters ORDER BY id"
            )
        ).all()
    # Letters as a set (sorted): a batch's letters are written in one statement, which
    # PostgreSQL may number in any order.
    return [tuple(r) for r in events], sorted((tuple(r) for r in letters), key=repr)


def _clear(store: Store) -> None:
    with store.session() as s:
        s.execute(text("DELETE FROM usage_events"))
        s.execute(text("DELETE FROM dead_letters"))


def test_fast_and_exact_decoding_store_the_same_events_and_letters(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    """3,000 edge-case lines, ingested once through each path into an empty store."""
    path = tmp_path / "edge.jsonl"
    path.write_bytes(b"\n".join(_edge_lines(3000, seed=7)) + b"\n")
    rules = UsageRules.of(settings)
    results = []
    for fast in (True, False):
        _clear(store)
        with path.open("rb") as f:
            totals = ingest_stream(
                store.session, read_events(f, rules.max_event_chars, fast=fast), rules
            )
        results.append((totals.counts(), _snapshot(store)))
    (fast_counts, fast_rows), (exact_counts, exact_rows) = results
    assert fast_counts == exact_counts
    assert fast_counts["accepted"] > 500 and fast_counts["rejected"] > 500
    assert fast_counts["duplicate"] > 0
    assert fast_rows[0] == exact_rows[0]
    assert fast_rows[1] == exact_rows[1]
