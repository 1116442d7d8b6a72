"""Decoding task messages so that no body can take a worker down.

Kombu decodes a message in the worker's main process, and Celery hands the decoded
arguments to the prefork pool by pickling them there (`Request._request_dict['args']`): a
body nested a few hundred levels deep raised `RecursionError` in the main process, which
died, and every restart died on the same requeued message. A body that could not be decoded
at all (10,000 levels; an integer past Python's digit limit) was logged and dropped.

This decoder replaces kombu's for `application/json` in the worker — for task, event and
control messages alike: numbers are exact (a literal no float can hold is a `Decimal`),
and a body that cannot be decoded or nests deeper than `MAX_DEPTH` never raises — it
becomes a *poison* payload, ``(), {POISON: {...}}``, that `SfsyncTask` turns into a dead
letter holding the reason and the raw body's first `BODY_PREFIX` characters, while the
queue flows on. Encoding is kombu's own.

Errors::

    Exception
     └── UndecodableMessage   a poison body: its dead letter's error class (never raised)
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from kombu.serialization import register
from kombu.utils import json as kombu_json

from sfsync.models import exactjson

__all__ = [
    "BODY_PREFIX",
    "MAX_DEPTH",
    "POISON",
    "UndecodableMessage",
    "decode",
    "install",
    "poison_of",
]

#: The key of the poison payload's only keyword argument.
POISON = "__sfsync_poison_message__"
#: Deepest accepted body (the envelope and a usage event take ~5; validation allows 32 more).
MAX_DEPTH = 64
#: Characters of an undecodable body kept in its dead letter.
BODY_PREFIX = 4096


class UndecodableMessage(Exception):
    """A task message that cannot be decoded, or nests deeper than `MAX_DEPTH`."""


_EMBED = {"callbacks": None, "errbacks": None, "chain": None, "chord": None}


def decode(body: Any) -> Any:
    """The decoded body, or a poison payload saying why it could not be used."""
    text = body
    if isinstance(body, bytes | bytearray | memoryview):
        try:
            text = bytes(body).decode("utf-8")
        except UnicodeDecodeError as exc:
            return _poison(bytes(body).decode("utf-8", "replace"), f"not UTF-8: {exc}")
    try:
        value = kombu_json.loads(text, _loads=_exact_loads)
    except RecursionError:
        return _poison(text, "the body nests too deeply to be decoded")
    except (ValueError, TypeError) as exc:
        return _poison(text, f"the body is not valid JSON: {str(exc)[:200]}")
    if exactjson.depth(value, MAX_DEPTH) > MAX_DEPTH:
        return _poison(text, f"the body nests deeper than {MAX_DEPTH} levels")
    return value


def _number(text: str) -> float | Decimal:
    """A float where it is exactly the number written (what Python's own encoder writes, as
    in Celery's event and control messages, whose timestamps Celery does float arithmetic
    on); a `Decimal` keeping its digits otherwise (`1.50`, 30-digit amounts)."""
    value = float(text)
    return value if repr(value) == text else Decimal(text)


def _exact_loads(text: str, **kwargs: Any) -> Any:
    return json.loads(text, parse_float=_number, parse_int=exactjson.parse_int, **kwargs)


def _poison(text: str, reason: str) -> Any:
    detail = {"reason": reason, "body_prefix": text[:BODY_PREFIX], "body_chars": len(text)}
    return [[], {POISON: detail}, dict(_EMBED)]


def poison_of(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any] | None:
    """The poison detail when these are the arguments `decode` made of a bad body."""
    if args or len(kwargs) != 1:
        return None
    detail = kwargs.get(POISON)
    return detail if isinstance(detail, dict) else None


def install() -> None:
    """Use `decode` for JSON messages in this process (kombu's encoder is kept)."""
    register(
        "json",
        kombu_json.dumps,
        decode,
        content_type="application/json",
        content_encoding="utf-8",
    )
