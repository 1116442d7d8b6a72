"""The worker's JSON decoder: exact where a float would lose digits, float where Celery computes."""

from __future__ import annotations

import json
import time
from decimal import Decimal

from sfsync.tasks.messages import decode


def test_floats_python_wrote_stay_floats_so_celery_can_compute_with_them() -> None:
    """An event's timestamp (time.time() through json.dumps) decodes to the same float."""
    stamp = time.time()
    event = decode(json.dumps({"type": "worker-heartbeat", "timestamp": stamp, "utcoffset": 0}))
    assert isinstance(event["timestamp"], float) and event["timestamp"] == stamp
    assert event["timestamp"] - 0.5 < stamp  # Celery's adjust_timestamp does float arithmetic


def test_numbers_no_float_holds_keep_their_digits() -> None:
    """A 30-digit amount and a trailing zero are Decimals with the digits they were sent with."""
    body = '[[[{"properties": {"amt": 123456789012345678901234567890.123456789, "z": 1.50}}]], {}]'
    (((event,),), _) = decode(body)
    assert event["properties"]["amt"] == Decimal("123456789012345678901234567890.123456789")
    assert str(event["properties"]["z"]) == "1.50"
