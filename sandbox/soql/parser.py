"""Recursive-descent parser from tokens to `ast.Query`."""

from __future__ import annotations

from sfsync.sandbox.soql import ast
from sfsync.sandbox.soql.errors import SoqlError, malformed
from sfsync.sandbox.soql.lexer import Tok, Token, tokenize

KEYWORDS = frozenset(
    [
        "select",
        "from",
        "where",
        "and",
        "or",
        "not",
        "in",
        "like",
        "order",
        "by",
        "asc",
        "desc",
        "nulls",
        "first",
        "last",
        "limit",
        "offset",
        "true",
        "false",
        "null",
        "group",
        "having",
    ]
)
DATE_RANGES = frozenset({"today", "yesterday", "tomorrow"})
DATE_RANGES_N = frozenset({"last_n_days", "next_n_days"})
_COMPARE_OPS = frozenset({"=", "!=", "<>", "<", "<=", ">", ">="})


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens = tokenize(source)
        self.i = 0

    # -- token helpers -------------------------------------------------------------
    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def error(self, tok: Token | None = None, detail: str | None = None) -> SoqlError:
        tok = tok or self.tok
        if detail is None:
            detail = (
                "unexpected token: <EOF>"
                if tok.kind is Tok.EOF
                else f"unexpected token: '{tok.text}'"
            )
        return malformed(self.source, tok.pos, detail)

    def at(self, kind: Tok) -> bool:
        return self.tok.kind is kind

    def is_kw(self, word: str) -> bool:
        return self.at(Tok.IDENT) and self.tok.text.lower() == word

    def accept_kw(self, word: str) -> bool:
        if self.is_kw(word):
            self.i += 1
            return True
        return False

    def expect_kw(self, word: str) -> Token:
        if not self.is_kw(word):
            raise self.error()
        tok = self.tok
        self.i += 1
        return tok

    def expect(self, kind: Tok) -> Token:
        if self.tok.kind is not kind:
            raise self.error()
        tok = self.tok
        self.i += 1
        return tok

    # -- grammar -------------------------------------------------------------------
    def query(self) -> ast.Query:
        self.expect_kw("select")
        select = [self.select_item()]
        while self.at(Tok.COMMA):
            self.i += 1
            select.append(self.select_item())
        self.expect_kw("from")
        obj = self.expect(Tok.IDENT)
        if obj.text.lower() in KEYWORDS or "." in obj.text:
            raise self.error(obj)
        where = self.condition() if self.accept_kw("where") else None
        order: list[ast.OrderItem] = []
        if self.accept_kw("order"):
            self.expect_kw("by")
            order.append(self.order_item())
            while self.at(Tok.COMMA):
                self.i += 1
                order.append(self.order_item())
        limit = self.integer() if self.accept_kw("limit") else None
        offset = self.integer() if self.accept_kw("offset") else None
        if not self.at(Tok.EOF):
            raise self.error()
        return ast.Query(tuple(select), obj.text, obj.pos, where, tuple(order), limit, offset)

    def integer(self) -> int:
        tok = self.expect(Tok.NUMBER)
        if "." in tok.text or tok.text.startswith(("-", "+")):
            raise self.error(tok)
        return int(tok.text)

    def field_ref(self) -> ast.FieldRef:
        tok = self.tok
        if tok.kind is not Tok.IDENT or tok.text.lower() in KEYWORDS:
            raise self.error()
        self.i += 1
        return ast.FieldRef(tuple(tok.text.split(".")), tok.pos)

    def select_item(self) -> ast.FieldRef | ast.Count:
        if self.is_kw("count") and self.tokens[self.i + 1].kind is Tok.LPAREN:
            tok = self.tok
            self.i += 1
            self.expect(Tok.LPAREN)
            self.expect(Tok.RPAREN)
            return ast.Count(tok.pos)
        return self.field_ref()

    def order_item(self) -> ast.OrderItem:
        ref = self.field_ref()
        descending = False
        if self.accept_kw("desc"):
            descending = True
        else:
            self.accept_kw("asc")
        # Salesforce's defaults: nulls sort first ascending and last descending.
        nulls_first = not descending
        if self.accept_kw("nulls"):
            if self.accept_kw("first"):
                nulls_first = True
            else:
                self.expect_kw("last")
                nulls_first = False
        return ast.OrderItem(ref, descending, nulls_first)

    def condition(self) -> ast.Expr:
        first = self.unary()
        op_tok: Token | None = None
        items = [first]
        while self.is_kw("and") or self.is_kw("or"):
            tok = self.tok
            if op_tok is not None and tok.text.lower() != op_tok.text.lower():
                # SOQL refuses to guess precedence between AND and OR.
                raise self.error(tok)
            op_tok = tok
            self.i += 1
            items.append(self.unary())
        if op_tok is None:
            return first
        return ast.BoolOp(op_tok.text.upper(), tuple(items))

    def unary(self) -> ast.Expr:
        if self.accept_kw("not"):
            return ast.Not(self.unary())
        if self.at(Tok.LPAREN):
            self.i += 1
            inner = self.condition()
            self.expect(Tok.RPAREN)
            return inner
        return self.predicate()

    def predicate(self) -> ast.Expr:
        ref = self.field_ref()
        tok = self.tok
        if tok.kind is Tok.OP and tok.text in _COMPARE_OPS:
            self.i += 1
            op = "!=" if tok.text == "<>" else tok.text
            return ast.Compare(ref, op, self.literal())
        if self.accept_kw("like"):
            pattern = self.literal()
            if pattern.kind != "string":
                raise malformed(self.source, pattern.pos, "LIKE needs a string pattern")
            return ast.Like(ref, pattern)
        negate = self.accept_kw("not")
        if self.accept_kw("in"):
            self.expect(Tok.LPAREN)
            values = [self.literal()]
            while self.at(Tok.COMMA):
                self.i += 1
                values.append(self.literal())
            self.expect(Tok.RPAREN)
            return ast.InList(ref, tuple(values), negate)
        raise self.error()

    def literal(self) -> ast.Literal:
        tok = self.tok
        self.i += 1
        if tok.kind is Tok.STRING:
            return ast.Literal("string", tok.value, tok.pos)
        if tok.kind is Tok.NUMBER:
            return ast.Literal("number", tok.value, tok.pos)
        if tok.kind is Tok.DATE:
            return ast.Literal("date", tok.text, tok.pos)
        if tok.kind is Tok.DATETIME:
            return ast.Literal("datetime", tok.text, tok.pos)
        if tok.kind is Tok.IDENT:
            word = tok.text.lower()
            if word in ("true", "false"):
                return ast.Literal("boolean", word == "true", tok.pos)
            if word == "null":
                return ast.Literal("null", None, tok.pos)
            if word in DATE_RANGES:
                return ast.Literal("range", ast.DateRange(word, 0), tok.pos)
            if word in DATE_RANGES_N:
                self.expect(Tok.COLON)
                n = self.integer()
                return ast.Literal("range", ast.DateRange(word, n), tok.pos)
        raise self.error(tok)


def parse(source: str) -> ast.Query:
    """Parse a SOQL statement; raises SoqlError(MALFORMED_QUERY) with the position."""
    return _Parser(source).query()
