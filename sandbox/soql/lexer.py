"""Tokeniser for SOQL."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from sfsync.sandbox.soql.errors import malformed


class Tok(Enum):
    """Token kinds."""

    IDENT = "identifier"
    STRING = "string"
    NUMBER = "number"
    DATETIME = "datetime"
    DATE = "date"
    OP = "operator"
    COMMA = ","
    LPAREN = "("
    RPAREN = ")"
    COLON = ":"
    EOF = "end of query"


@dataclass(frozen=True)
class Token:
    """A token with its source position (0-based offset)."""

    kind: Tok
    text: str
    pos: int
    value: object = None


# Order matters: datetimes before dates before numbers, so the longest literal wins.
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}:?\d{2})")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?![\w:])")
_NUMBER = re.compile(r"\d+(?:\.\d+)?|\.\d+")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_OPS = ("<=", ">=", "!=", "<>", "=", "<", ">")
_ESCAPES = {
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "b": "\b",
    "f": "\f",
    '"': '"',
    "'": "'",
    "\\": "\\",
    # LIKE wildcards keep their backslash so the pattern compiler can tell them apart.
    "%": "\\%",
    "_": "\\_",
}
_SINGLE = {",": Tok.COMMA, "(": Tok.LPAREN, ")": Tok.RPAREN, ":": Tok.COLON}


def _string(source: str, start: int) -> tuple[str, int]:
    out: list[str] = []
    i = start + 1
    while i < len(source):
        ch = source[i]
        if ch == "\\":
            if i + 1 >= len(source):
                break
            esc = source[i + 1]
            if esc not in _ESCAPES:
                raise malformed(source, i, f"Invalid string literal escape: \\{esc}")
            out.append(_ESCAPES[esc])
            i += 2
            continue
        if ch == "'":
            return "".join(out), i + 1
        out.append(ch)
        i += 1
    raise malformed(source, start, "unterminated string literal")


def tokenize(source: str) -> list[Token]:
    """Split `source` into tokens, ending with an EOF token."""
    tokens: list[Token] = []
    i = 0
    n = len(source)
    while i < n:
        ch = source[i]
        if ch.isspace():
            i += 1
            continue
        if ch == "'":
            value, end = _string(source, i)
            tokens.append(Token(Tok.STRING, source[i:end], i, value))
            i = end
            continue
        if ch in _SINGLE:
            tokens.append(Token(_SINGLE[ch], ch, i))
            i += 1
            continue
        op = next((o for o in _OPS if source.startswith(o, i)), None)
        if op is not None:
            tokens.append(Token(Tok.OP, op, i))
            i += len(op)
            continue
        negative = ch in "+-" and i + 1 < n and (source[i + 1].isdigit() or source[i + 1] == ".")
        j = i + 1 if negative else i
        if source[j : j + 1].isdigit() or source[j : j + 1] == ".":
            for kind, pattern in ((Tok.DATETIME, _DATETIME), (Tok.DATE, _DATE)):
                m = pattern.match(source, j)
                if m is not None and not negative:
                    tokens.append(Token(kind, m.group(), i))
                    i = m.end()
                    break
            else:
                m = _NUMBER.match(source, j)
                if m is None:
                    raise malformed(source, i, f"unexpected token: '{source[i]}'")
                text = source[i : m.end()]
                tokens.append(Token(Tok.NUMBER, text, i, float(text)))
                i = m.end()
            continue
        m = _IDENT.match(source, i)
        if m is not None:
            tokens.append(Token(Tok.IDENT, m.group(), i))
            i = m.end()
            continue
        raise malformed(source, i, f"unexpected token: '{ch}'")
    tokens.append(Token(Tok.EOF, "", n))
    return tokens
