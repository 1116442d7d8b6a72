"""JSON with exact numbers: decimals keep their digits in and out, nesting is measurable.

`loads` reads every fraction as `Decimal` (and integers too long for `int` as `Decimal`),
so `123456789012345678901234567890.123456789` stays what was sent; `dumps` writes a
`Decimal` back as a JSON number with the same digits. The store's JSON columns, usage
validation, the file reader and task messages all go through here, so a number means the
same on every path. `depth` measures nesting without recursion, so hostile input can be
measured before anything recursive (pickle, repr, a JSON encoder) touches it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

__all__ = ["depth", "dumps", "loads", "parse_int"]


def parse_int(text: str) -> int | Decimal:
    """An integer literal; past Python's digit limit for `int`, an exact `Decimal`."""
    try:
        return int(text)
    except ValueError:
        return Decimal(text)


def loads(text: str | bytes) -> Any:
    """Parse JSON with exact numbers. Raises `ValueError` (or `RecursionError` when deep)."""
    return json.loads(text, parse_float=Decimal, parse_int=parse_int)


def dumps(value: Any, *, ensure_ascii: bool = False) -> str:
    """Compact JSON; `Decimal`s as numbers with their digits. Raises `ValueError`/`TypeError`."""
    try:
        return json.dumps(value, ensure_ascii=ensure_ascii, separators=(",", ":"), allow_nan=False)
    except TypeError:
        pass  # a Decimal somewhere (or something unencodable, which _encode reports)
    return "".join(_encode(value, ensure_ascii))


def _encode(value: Any, ensure_ascii: bool) -> Iterator[str]:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} is not a JSON number")
        yield str(value)
    elif isinstance(value, dict):
        yield "{"
        for i, (key, item) in enumerate(value.items()):
            if not isinstance(key, str):
                raise TypeError(f"keys must be str, not {type(key).__name__}")
            yield ("," if i else "") + json.dumps(key, ensure_ascii=ensure_ascii) + ":"
            yield from _encode(item, ensure_ascii)
        yield "}"
    elif isinstance(value, list | tuple):
        yield "["
        for i, item in enumerate(value):
            if i:
                yield ","
            yield from _encode(item, ensure_ascii)
        yield "]"
    else:
        yield json.dumps(value, ensure_ascii=ensure_ascii, allow_nan=False)


def depth(value: Any, limit: int) -> int:
    """Nesting depth of arrays and objects (a scalar is 0), counted up to `limit + 1`."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        level += 1
        if level > deepest:
            deepest = level
            if deepest > limit:
                return deepest
        stack.extend((child, level) for child in children if isinstance(child, dict | list))
    return deepest
