"""An event's `properties`: a JSON object checked for type, depth, numbers and size, and its
compact JSON text, on a fast path for the common flat object. Each rejection raises
`sync.usage.errors.InvalidUsageEvent` with its reason.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from decimal import Decimal
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from typing import Any

from sfsync.models import exactjson
from sfsync.sync.usage.errors import InvalidUsageEvent
from sfsync.sync.usage.rules import Limits
from sfsync.sync.usage.values import check_text, kind_of

__all__ = [
    "MAX_NUMBER_DIGITS",
    "MAX_NUMBER_EXPONENT",
    "MAX_PROPERTIES_DEPTH",
    "encode_properties",
]

#: Deepest nesting of `properties` (the object itself is level 1).
MAX_PROPERTIES_DEPTH = 32
#: Property numbers: significant digits and decimal exponent both stores hold exactly.
MAX_NUMBER_DIGITS = 64
MAX_NUMBER_EXPONENT = 999


def encode_properties(value: Any, limits: Limits) -> tuple[dict[str, Any], str]:
    """The properties object and its compact JSON text, checked for type and size."""
    if value is None:
        return {}, "{}"
    if not isinstance(value, dict):
        raise InvalidUsageEvent(f"properties must be a JSON object, got a {kind_of(value)}")
    if not value:
        return {}, "{}"
    flat = _flat_json(value)
    if flat is not None:
        encoded, size = flat
    else:
        _check_values(value)
        try:
            encoded = exactjson.dumps(value)
            size = len(encoded.encode("utf-8"))
        except (TypeError, ValueError) as exc:
            raise InvalidUsageEvent(f"properties must be plain JSON: {exc}") from None
    if size > limits.max_properties_bytes:
        raise InvalidUsageEvent(
            f"properties are {size} bytes as JSON; the limit is {limits.max_properties_bytes} "
            f"bytes (SFSYNC_USAGE_MAX_PROPERTIES_BYTES)"
        )
    return value, encoded


# Integers this small need no digit count (the limit is 2**212, MAX_NUMBER_DIGITS digits).
_SMALL_INT = 2**63
_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
# The C encoder behind _COMPACT, made once: JSONEncoder.encode builds a new one per call,
# which cost as much as encoding a small object. Flat objects only: no cycle check needed.
_FLAT_ENCODER: Callable[[Any, int], Iterable[str]] | None = (
    None
    if c_make_encoder is None
    else c_make_encoder(
        None, _COMPACT.default, encode_basestring, None, ":", ",", False, False, False
    )
)


def _compact_flat(properties: dict[str, Any]) -> str:
    if _FLAT_ENCODER is None:  # an interpreter without the C accelerator
        return _COMPACT.encode(properties)
    return "".join(_FLAT_ENCODER(properties, 0))


def _flat_json(properties: dict[Any, Any]) -> tuple[str, int] | None:
    """Compact JSON and its UTF-8 size of a flat object of strings, small integers, booleans
    and nulls, checked on its text; None when the object needs `_check_values`' full walk.

    The common event's properties take this path: one loop over exact types and one C
    encoding instead of a walk that tests every value against every rule (the profile in
    the README). A NUL anywhere shows up as its escape in the text; a lone surrogate makes
    the UTF-8 encoding fail; either sends the object to the full walk, which names the rule.
    """
    for key, item in properties.items():
        kind = type(item)
        if type(key) is not str or not (
            kind is str
            or item is None
            or kind is bool
            or (kind is int and -_SMALL_INT < item < _SMALL_INT)
        ):
            return None
    text = _compact_flat(properties)
    if "\\u0000" in text:
        return None
    if text.isascii():
        return text, len(text)
    try:
        return text, len(text.encode("utf-8"))
    except UnicodeEncodeError:
        return None


def _check_values(properties: dict[Any, Any]) -> None:
    """Every value storable alike on SQLite and PostgreSQL; no recursion, however deep."""
    stack: list[tuple[Any, int]] = [(properties, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            if level > MAX_PROPERTIES_DEPTH:
                raise InvalidUsageEvent(
                    f"properties nest deeper than {MAX_PROPERTIES_DEPTH} levels"
                )
            for key, child in item.items():
                if not isinstance(key, str):
                    raise InvalidUsageEvent(
                        "properties must be a JSON object (its keys must be strings)"
                    )
                check_text("a property name", key)
                stack.append((child, level + 1))
        elif isinstance(item, list):
            if level > MAX_PROPERTIES_DEPTH:
                raise InvalidUsageEvent(
                    f"properties nest deeper than {MAX_PROPERTIES_DEPTH} levels"
                )
            stack.extend((child, level + 1) for child in item)
        elif isinstance(item, str):
            if not item.isascii() or "\x00" in item:
                check_text("a property value", item)
        elif isinstance(item, float | Decimal | int) and not isinstance(item, bool):
            _check_number(item)
        elif item is not None and not isinstance(item, bool):
            raise InvalidUsageEvent(
                f"properties must be plain JSON: a {type(item).__name__} is not a JSON value"
            )


def _check_number(value: float | Decimal | int) -> None:
    if isinstance(value, int):
        if value.bit_length() > 212:  # 2**212 has 64 digits
            raise InvalidUsageEvent(
                f"property numbers have at most {MAX_NUMBER_DIGITS} digits; "
                f"got an integer of {value.bit_length()} bits"
            )
        return
    number = Decimal(repr(value)) if isinstance(value, float) else value
    if not number.is_finite():
        raise InvalidUsageEvent(f"properties must be plain JSON: numbers are finite, got {value}")
    digits = len(number.as_tuple().digits)
    if digits > MAX_NUMBER_DIGITS:
        raise InvalidUsageEvent(
            f"property numbers have at most {MAX_NUMBER_DIGITS} significant digits, "
            f"got one with {digits}"
        )
    if number and abs(number.adjusted()) > MAX_NUMBER_EXPONENT:
        raise InvalidUsageEvent(
            f"property numbers lie between 1e-{MAX_NUMBER_EXPONENT} and "
            f"1e{MAX_NUMBER_EXPONENT} in size, got one of magnitude 1e{number.adjusted()}"
        )
