"""Usage event validation: each rule accepts the valid form and rejects with a reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from sfsync.config import Settings
from sfsync.models import exactjson
from sfsync.models.keys import canonical_key
from sfsync.sync.usage import InvalidUsageEvent, UnreadableInput, UsageError
from sfsync.sync.usage.rules import Limits, UsageRules
from sfsync.sync.usage.validation import (
    PAYLOAD_PREFIX,
    Unparsable,
    _key,
    storable_payload,
    validate_event,
)
from sfsync.sync.usage.values import _RFC3339, _basic_utc, _rfc3339

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


@pytest.fixture
def limits() -> Limits:
    return Limits.of(UsageRules.of(Settings(_env_file=None)), NOW)


def event(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "transaction_id": "tx-1",
        "customer_id": "IngestAlias1",
        "event_type": "api_call",
        "timestamp": "2026-11-20T10:00:00Z",
        "properties": {"bytes": 12, "region": "eu"},
    }
    values.update(overrides)
    return {k: v for k, v in values.items() if v is not ...}


def rejected(raw: Any, limits: Limits) -> str:
    with pytest.raises(InvalidUsageEvent) as info:
        validate_event(raw, limits)
    return str(info.value)


def test_valid_event_is_normalised_to_utc(limits: Limits) -> None:
    """A valid event keeps its fields; the timestamp becomes aware UTC."""
    parsed = validate_event(event(timestamp="2026-11-20T11:00:00+01:00"), limits)
    assert parsed.timestamp == datetime(2026, 11, 20, 10, tzinfo=UTC)
    assert (parsed.transaction_id, parsed.customer_key, parsed.event_type) == (
        "tx-1",
        "IngestAlias1",
        "api_call",
    )
    assert parsed.properties == {"bytes": 12, "region": "eu"}


def test_properties_are_optional(limits: Limits) -> None:
    """Missing or null properties mean an empty object."""
    assert validate_event(event(properties=...), limits).properties == {}
    assert validate_event(event(properties=None), limits).properties == {}


@pytest.mark.parametrize("raw", ["text", 12, None, ["a"], True])
def test_non_object_is_rejected(raw: Any, limits: Limits) -> None:
    """An event must be a JSON object."""
    assert "must be a JSON object" in rejected(raw, limits)


@pytest.mark.parametrize("field", ["transaction_id", "customer_id", "event_type", "timestamp"])
def test_missing_required_field_is_named(field: str, limits: Limits) -> None:
    """A missing required field is named in the reason."""
    assert field in rejected(event(**{field: ...}), limits)


@pytest.mark.parametrize("field", ["transaction_id", "customer_id", "event_type"])
@pytest.mark.parametrize("value", ["", "x" * 129, 12, None, "nul\x00byte"])
def test_key_fields_are_strings_of_1_to_128(field: str, value: Any, limits: Limits) -> None:
    """transaction_id, customer_id and event_type are strings of 1 to 128 characters."""
    assert field in rejected(event(**{field: value}), limits)


def test_128_character_keys_are_accepted(limits: Limits) -> None:
    """The 128-character limit is inclusive."""
    assert validate_event(event(transaction_id="x" * 128), limits).transaction_id == "x" * 128


def test_unknown_field_is_rejected(limits: Limits) -> None:
    """Extra fields are not silently dropped."""
    assert "unknown field(s) customer" in rejected(event(customer="x"), limits)


@pytest.mark.parametrize(
    "value",
    ["2026-11-20T10:00:00", "2026-11-20", "20261120T100000Z", "yesterday", "2026-13-01T00:00:00Z"],
)
def test_timestamp_must_be_rfc3339_with_offset(value: str, limits: Limits) -> None:
    """Timestamps need a full date-time and an offset."""
    assert "timestamp" in rejected(event(timestamp=value), limits)


def test_nanosecond_fraction_is_accepted(limits: Limits) -> None:
    """Fractions beyond microseconds are truncated, not rejected."""
    parsed = validate_event(event(timestamp="2026-11-20T10:00:00.123456789Z"), limits)
    assert parsed.timestamp.microsecond == 123456


def test_too_old_timestamp_says_how_old_and_which_setting(limits: Limits) -> None:
    """Events older than the window are rejected with their age and the setting's name."""
    reason = rejected(event(timestamp="2026-09-01T00:00:00Z"), limits)
    assert "is 80 days old" in reason
    assert "older than 34 days" in reason
    assert "SFSYNC_USAGE_MAX_AGE_DAYS" in reason


def test_window_edges(limits: Limits) -> None:
    """Exactly 34 days old and exactly 24 hours ahead are accepted; beyond is rejected."""
    oldest = (NOW - timedelta(days=34)).isoformat()
    newest = (NOW + timedelta(hours=24)).isoformat()
    assert validate_event(event(timestamp=oldest), limits)
    assert validate_event(event(timestamp=newest), limits)
    later = (NOW + timedelta(hours=24, seconds=1)).isoformat()
    assert "SFSYNC_USAGE_MAX_FUTURE_HOURS" in rejected(event(timestamp=later), limits)


@pytest.mark.parametrize("value", [[1], "x", 3])
def test_properties_must_be_an_object(value: Any, limits: Limits) -> None:
    """properties is a JSON object."""
    assert "properties must be a JSON object" in rejected(event(properties=value), limits)


def test_properties_size_is_limited(limits: Limits) -> None:
    """properties over the byte limit are rejected with the size and the setting."""
    reason = rejected(event(properties={"blob": "x" * 17_000}), limits)
    assert "SFSYNC_USAGE_MAX_PROPERTIES_BYTES" in reason


def test_properties_must_be_plain_json(limits: Limits) -> None:
    """NaN and non-JSON values are refused."""
    assert "plain JSON" in rejected(event(properties={"x": float("nan")}), limits)
    assert "plain JSON" in rejected(event(properties={"x": object()}), limits)


def test_unparsable_input_is_rejected_with_the_parse_error(limits: Limits) -> None:
    """A line that was not JSON is rejected saying where."""
    reason = rejected(Unparsable("{oops", "line 3: Expecting property name"), limits)
    assert "not valid JSON: line 3" in reason


def test_storable_payload_falls_back_to_a_bounded_stand_in() -> None:
    """A payload no store can hold, or too big, is stored as a prefix with the reason."""
    assert storable_payload({"a": 1}, 1000) == {"a": 1}
    assert storable_payload({"a": float("nan")}, 1000)["unstorable"] == "not plain JSON"
    assert storable_payload({(1, 2): 1}, 1000)["prefix"] == "{(1, 2): 1}"
    big = storable_payload({"blob": "x" * 100_000}, 1000)
    assert big["oversized"] and big["chars"] > 100_000 and len(big["prefix"]) == PAYLOAD_PREFIX
    deep = storable_payload(nested(5000), 1000)
    assert deep["unstorable"] == "nested too deeply to store"


def nested(levels: int) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": 1}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


@pytest.mark.parametrize("stamp", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_timestamps_outside_the_utc_calendar_are_rejected_not_raised(
    limits: Limits, stamp: str
) -> None:
    """A timestamp that overflows when converted to UTC is one rejection with a reason."""
    assert "outside the years 1 to 9999" in rejected(event(timestamp=stamp), limits)


@pytest.mark.parametrize(
    ("properties", "reason"),
    [
        ({"s": "nul\x00byte"}, "must not contain NUL"),
        ({"nul\x00key": 1}, "must not contain NUL"),
        ({"s": ["ok", {"deep": "bad \ud800"}]}, "not valid Unicode"),
        (nested(33), "deeper than 32 levels"),
        (
            {"list": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]},
            "deeper than",
        ),
        ({"n": Decimal("1" * 65)}, "at most 64 significant digits"),
        ({"n": int("9" * 100)}, "at most 64 digits"),
        ({"n": Decimal("1e1000")}, "between 1e-999 and 1e999"),
        ({"n": float("inf")}, "numbers are finite"),
    ],
)
def test_properties_no_store_can_hold_alike_are_rejected(
    limits: Limits, properties: dict[str, Any], reason: str
) -> None:
    """NUL, lone surrogates, deep nesting and extreme numbers: a reason, never an exception."""
    assert reason in rejected(event(properties=properties), limits)


def test_nesting_up_to_the_bound_and_control_characters_are_accepted(limits: Limits) -> None:
    """32 levels, control characters and markup are plain data and stored as sent."""
    properties = {"deep": nested(31), "ctl": "\x1b[2J\x07", "markup": "[/bold]"}
    assert validate_event(event(properties=properties), limits).properties == properties


def test_property_numbers_keep_their_digits(limits: Limits) -> None:
    """Decimals from the exact reader are encoded with the digits they came with."""
    raw = exactjson.loads(
        '{"transaction_id": "t", "customer_id": "c", "event_type": "e", '
        '"timestamp": "2026-11-20T11:00:00Z", '
        '"properties": {"amt": 123456789012345678901234567890.123456789, "z": 1.50}}'
    )
    stored = validate_event(raw, limits)
    assert stored.properties["amt"] == Decimal("123456789012345678901234567890.123456789")
    assert stored.properties_json == ('{"amt":123456789012345678901234567890.123456789,"z":1.50}')


@pytest.mark.parametrize(
    "value",
    ["nul\x00inside", "lone \ud800 surrogate", 2**213, -(2**213), ("a", "tuple"), object()],
)
def test_a_flat_object_is_held_to_the_same_rules_as_a_nested_one(
    limits: Limits, value: Any
) -> None:
    """A bad value at the top level is rejected with the reason it gets one level down."""
    flat = rejected(event(properties={"v": value}), limits)
    nested_reason = rejected(event(properties={"o": {"v": value}}), limits)
    assert flat == nested_reason


@pytest.mark.parametrize("key", [1, None, True, "nul\x00key", "lone \udc00"])
def test_property_names_must_be_text_at_the_top_level_too(limits: Limits, key: Any) -> None:
    """A non-string or unstorable property name is rejected, not coerced to text."""
    assert "propert" in rejected(event(properties={key: 1}), limits)


def test_flat_object_encodes_exactly_as_the_full_walk(limits: Limits) -> None:
    """Strings, small and boundary integers, booleans and nulls keep their compact JSON."""
    properties = {"s": "é\x1b", "i": 2**63 - 1, "big": 2**63, "t": True, "n": None, "neg": -7}
    stored = validate_event(event(properties=properties), limits)
    assert stored.properties_json == exactjson.dumps(properties)
    assert stored.properties == properties


def test_usage_errors_are_one_tree_of_value_errors() -> None:
    """A rejected event and unreadable input share `UsageError`, still a `ValueError`."""
    assert issubclass(InvalidUsageEvent, UsageError) and issubclass(UnreadableInput, UsageError)
    assert issubclass(UsageError, ValueError)


def _field_by_field(raw: dict[str, Any]) -> tuple[str, str, str] | str:
    """What `_key` alone makes of the three keys: their values, or the first reason."""
    try:
        return (
            _key(raw, "transaction_id"),
            canonical_key(_key(raw, "customer_id")),
            _key(raw, "event_type"),
        )
    except InvalidUsageEvent as exc:
        return str(exc)


_KEY_VALUES = st.one_of(
    st.text(max_size=140),
    st.text(alphabet=st.sampled_from("a\x00é\udc00 01"), max_size=6),
    st.sampled_from(["001000000000001", "001000000000001AAA", "x" * 128, "x" * 129, ""]),
    st.none(),
    st.integers(),
    st.booleans(),
)


@settings(max_examples=400, deadline=None)
@given(tx=_KEY_VALUES, key=_KEY_VALUES, kind=_KEY_VALUES)
def test_key_fields_are_judged_as_field_by_field_checks_judge_them(
    tx: Any, key: Any, kind: Any
) -> None:
    """The one-test path for common keys accepts and rejects exactly as `_key` per field."""
    limits = Limits.of(UsageRules.of(Settings(_env_file=None)), NOW)
    raw = event(transaction_id=tx, customer_id=key, event_type=kind)
    expected = _field_by_field(raw)
    try:
        stored = validate_event(raw, limits)
    except InvalidUsageEvent as exc:
        assert str(exc) == expected
    else:
        assert (stored.transaction_id, stored.customer_key, stored.event_type) == expected


_FLAT_VALUES = st.one_of(
    st.text(),
    st.integers(min_value=-(2**63) + 1, max_value=2**63 - 1),
    st.booleans(),
    st.none(),
)


@settings(max_examples=300, deadline=None)
@given(properties=st.dictionaries(st.text(), _FLAT_VALUES, max_size=8))
def test_flat_properties_encode_as_the_exact_encoder_does(properties: dict[str, Any]) -> None:
    """Flat properties, whatever their text, are stored as `exactjson` writes them, or
    rejected for a NUL or a lone surrogate."""
    limits = Limits.of(UsageRules.of(Settings(_env_file=None)), NOW)
    try:
        stored = validate_event(event(properties=properties), limits)
    except InvalidUsageEvent as exc:
        assert "NUL" in str(exc) or "Unicode" in str(exc)
        return
    assert stored.properties_json == exactjson.dumps(properties)


def _basic(moment: datetime) -> str:
    return moment.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ").rjust(20, "0")


_MOMENTS = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30))
# A basic-form time with up to three places changed (a digit, another separator, a
# week-date W, a non-ASCII digit, a lower-case z), so both paths' edges come up often.
_NEAR_BASIC = st.builds(
    lambda moment, edits: "".join(dict(edits).get(i, c) for i, c in enumerate(_basic(moment))),
    _MOMENTS,
    st.lists(
        st.tuples(st.integers(0, 19), st.sampled_from("0123456789-:TZtz +.W\u0663")),
        max_size=3,
    ),
)


@settings(max_examples=1500, deadline=None)
@given(value=st.one_of(_NEAR_BASIC, st.text(max_size=24)))
# Forms fromisoformat reads and RFC 3339 does not, at the basic form's length.
@example(value="2026-W47-1T14:05:09Z")
@example(value="2026-11-20T140509.1Z")
@example(value="2026-11-20T14:0509.1Z")
@example(value="2026-11-20T14:05:0\u0663Z")
@example(value="+026-11-20T14:05:09Z")
def test_the_basic_utc_form_is_read_as_the_full_rfc3339_path_reads_it(value: str) -> None:
    """What the short path for 2026-11-20T14:05:09Z accepts, the full path accepts alike."""
    fast = _basic_utc(value)
    if fast is None:
        return
    slow = _rfc3339(value)
    assert (fast, fast.utcoffset()) == (slow, slow.utcoffset())
    assert _RFC3339.fullmatch(value)


@settings(max_examples=300, deadline=None)
@given(moment=_MOMENTS)
def test_every_basic_utc_timestamp_takes_the_short_path_to_the_same_instant(
    moment: datetime,
) -> None:
    """Any whole-second UTC time in the basic form is read by the short path, exactly."""
    value = _basic(moment)
    fast = _basic_utc(value)
    assert fast is not None and fast == _rfc3339(value) and fast.utcoffset() == timedelta(0)
