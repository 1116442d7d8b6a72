"""Reading usage events from bytes: JSON Lines or one JSON array, streamed, memory bounded.

One reader for every front door that takes a file or a stream of events (the CLI's
`usage ingest`; the HTTP API's `/v1/ingest` takes at most 100 events as one JSON body,
parsed by `api.limits`): what it yields goes to `sync.usage.ingest`, so a bad line or
element becomes that event's dead letter and the rest goes on.

- A UTF-8 byte order mark at the start is skipped (before deciding which format it is).
- Numbers are exact (`models.exactjson`): `1.10` stays `Decimal("1.10")`.
- A JSON Lines line of the common shape (an object of strings, integers, booleans and
  nulls, with at most a flat `properties` object of the same) is decoded by orjson, about
  3 times faster; anything else (a fraction, nesting, NaN, an integer past 64 bits, bad UTF-8, a
  lone surrogate, text that is not JSON, an oversized line) takes the exact reader, so
  what is yielded is exactly what the exact reader yields (`fast=False` reads every line
  with it; property tests hold the two to each other).
- A line or array element longer than `max_chars` is never held whole: it is skipped as it
  streams past and yielded as `Oversized` (its first characters and its size).
- A line that is not JSON, or nests too deeply to parse, is yielded as `Unparsable`.
- A JSON array is decoded incrementally, so a character split across two reads stays one
  character; a broken array cannot be resynchronised and raises `UnreadableInput`.

Each event comes with the bytes read so far, for progress against the input's size.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import IO, Any

import orjson

from sfsync.models import exactjson
from sfsync.sync.usage.errors import UnreadableInput
from sfsync.sync.usage.validation import PAYLOAD_PREFIX, Oversized, Unparsable

__all__ = ["CHUNK", "read_events"]

CHUNK = 1 << 16
_BOM = codecs.BOM_UTF8
_UNPARSABLE_TEXT = 10_000
_DECODER = json.JSONDecoder(parse_float=Decimal, parse_int=exactjson.parse_int)
_IN_STRING = re.compile(r'["\\]')
_OUTSIDE = re.compile(r'["\[\]{},]')


def read_events(
    stream: IO[bytes], max_chars: int, *, fast: bool = True
) -> Iterator[tuple[Any, int]]:
    """Events (or `Unparsable`/`Oversized` stand-ins) with the bytes read so far; `fast`
    lets plain JSON Lines take orjson (same values, see the module's docstring)."""
    first = stream.read(CHUNK)
    read = len(first)
    if first.startswith(_BOM):
        first = first[len(_BOM) :]
    if first.lstrip().startswith(b"["):
        yield from _ArrayReader(stream, first, read, max_chars).events()
    else:
        yield from _lines(stream, first, read, max_chars, _line if fast else _exact_line)


# --- JSON Lines ----------------------------------------------------------------------------


def _lines(
    stream: IO[bytes], pending: bytes, read: int, max_chars: int, decode: _Decode
) -> Iterator[Any]:
    number = 0
    skipping: tuple[bytes, int] | None = None  # (prefix, size so far) of an oversized line
    while True:
        start = 0
        while (end := pending.find(b"\n", start)) >= 0:
            number += 1
            if skipping is not None:
                prefix, size = skipping
                skipping = None
                yield _oversized(prefix, size + end - start, number, max_chars), read
            else:
                event = decode(pending[start:end], number, max_chars)
                if event is not _BLANK:
                    yield event, read
            start = end + 1
        rest = pending[start:]
        if skipping is not None:
            skipping = (skipping[0], skipping[1] + len(rest))
            rest = b""
        elif len(rest) > max_chars:
            skipping, rest = (rest[:PAYLOAD_PREFIX], len(rest)), b""
        more = stream.read(CHUNK)
        if not more:
            break
        read += len(more)
        pending = rest + more
    number += 1
    if skipping is not None:
        yield _oversized(skipping[0], skipping[1], number, max_chars), read
    elif (event := decode(rest, number, max_chars)) is not _BLANK:
        yield event, read


_BLANK = object()
_Decode = Callable[[bytes, int, int], Any]
_PLAIN = (str, int, bool, type(None))


def _line(line: bytes, number: int, max_chars: int) -> Any:
    """The line's value: orjson's when the line is plain, else the exact reader's."""
    if len(line) <= max_chars:
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError:
            pass  # not JSON to orjson (NaN, bad UTF-8, a lone surrogate...): read exactly
        else:
            if _plain(value):
                return value
    return _exact_line(line, number, max_chars)


def _plain(value: Any) -> bool:
    """An object whose values are strings, integers, booleans, nulls or a flat object of
    those: what orjson and the exact reader decode alike. A float (a fraction or an
    exponent: orjson's is binary, the exact reader's a `Decimal`), an array or deeper
    nesting goes to the exact reader."""
    if type(value) is not dict:
        return False
    for item in value.values():
        if type(item) in _PLAIN:
            continue
        if type(item) is not dict:
            return False
        for inner in item.values():
            if type(inner) not in _PLAIN:
                return False
    return True


def _exact_line(line: bytes, number: int, max_chars: int) -> Any:
    if len(line) > max_chars:
        return _oversized(line[:PAYLOAD_PREFIX], len(line), number, max_chars)
    if not line.strip():
        return _BLANK
    text = line.decode("utf-8", errors="replace")
    try:
        return exactjson.loads(text)
    except RecursionError:
        return Unparsable(text[:PAYLOAD_PREFIX], f"line {number}: nested too deeply to parse")
    except ValueError as exc:
        return Unparsable(text[:_UNPARSABLE_TEXT], f"line {number}: {exc}")


def _oversized(prefix: bytes, size: int, number: int, max_chars: int) -> Oversized:
    text = prefix.decode("utf-8", errors="replace")
    return Oversized(text, size, max_chars, f"line {number}")


# --- one JSON array -------------------------------------------------------------------------


class _ArrayReader:
    """Elements of one JSON array, decoded as the bytes arrive."""

    def __init__(self, stream: IO[bytes], first: bytes, read: int, max_chars: int) -> None:
        self.stream = stream
        self.read = read
        self.max_chars = max_chars
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.buffer = self.decoder.decode(first)
        self.pos = self.buffer.index("[") + 1
        self.eof = False
        self.index = 0

    def _more(self) -> bool:
        """Append the next read to the buffer (dropping what was consumed); False at the end."""
        if self.eof:
            return False
        chunk = self.stream.read(CHUNK)
        self.read += len(chunk)
        self.eof = not chunk
        self.buffer = self.buffer[self.pos :] + self.decoder.decode(chunk, final=self.eof)
        self.pos = 0
        return True

    def events(self) -> Iterator[tuple[Any, int]]:
        expect_value = True
        while True:
            buffer, pos = self.buffer, self.pos
            while pos < len(buffer) and buffer[pos] in " \t\r\n,":
                if buffer[pos] == ",":
                    expect_value = True
                pos += 1
            self.pos = pos
            if pos >= len(buffer):
                if not self._more():
                    raise UnreadableInput("the JSON array is not closed with ']'")
                continue
            if buffer[pos] == "]":
                return
            if not expect_value:
                raise UnreadableInput(
                    f"invalid JSON array near byte {self.read}: expected ',' or ']'"
                )
            value = self._value()
            if value is _AGAIN:
                continue
            expect_value = False
            self.index += 1
            yield value, self.read

    def _value(self) -> Any:
        where = f"element {self.index + 1}"
        try:
            value, end = _DECODER.raw_decode(self.buffer, self.pos)
        except RecursionError:
            prefix, _ = self._skip()
            return Unparsable(prefix, f"{where}: nested too deeply to parse")
        except ValueError as exc:
            if len(self.buffer) - self.pos > self.max_chars:
                prefix, size = self._skip()
                return Oversized(prefix, size, self.max_chars, where)
            if self._more():
                return _AGAIN  # maybe cut by the read boundary: try again with more
            raise UnreadableInput(f"invalid JSON array near byte {self.read}: {exc}") from None
        if end == len(self.buffer) and not self.eof and self._more():
            return _AGAIN  # a number cut by the read boundary parses as a shorter one
        size, prefix = end - self.pos, self.buffer[self.pos : self.pos + PAYLOAD_PREFIX]
        self.pos = end
        if size > self.max_chars:
            return Oversized(prefix, size, self.max_chars, where)
        return value

    def _skip(self) -> tuple[str, int]:
        """Consume the value at the cursor without keeping it; → (its prefix, its size)."""
        prefix = self.buffer[self.pos : self.pos + PAYLOAD_PREFIX]
        size, depth, in_string, i = 0, 0, False, self.pos
        while True:
            if i >= len(self.buffer):
                overshoot = i - len(self.buffer)  # an escape's second character
                size += len(self.buffer) - self.pos
                self.pos = len(self.buffer)
                if not self._more() or not self.buffer:
                    raise UnreadableInput("the JSON array is not closed with ']'")
                i = overshoot
                continue
            if in_string:
                match = _IN_STRING.search(self.buffer, i)
                if match is None:
                    i = len(self.buffer)
                elif match.group() == "\\":
                    i = match.end() + 1
                else:
                    in_string, i = False, match.end()
                    if depth == 0:
                        break
                continue
            match = _OUTSIDE.search(self.buffer, i)
            if match is None:
                i = len(self.buffer)
                continue
            char = match.group()
            if char == '"':
                in_string, i = True, match.end()
            elif char in "[{":
                depth, i = depth + 1, match.end()
            elif depth == 0:  # ']' or ',' ends a scalar at the top level
                i = match.start()
                break
            elif char in "]}":
                depth, i = depth - 1, match.end()
                if depth == 0:
                    break
            else:
                i = match.end()
        size += i - self.pos
        self.pos = i
        return prefix, size


_AGAIN = object()
