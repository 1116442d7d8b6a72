"""Syntax tree of a parsed SOQL query (names as written; the evaluator resolves them)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldRef:
    """A field or parent path such as `Account.Parent.Name`."""

    path: tuple[str, ...]
    pos: int

    @property
    def text(self) -> str:
        """The path as written."""
        return ".".join(self.path)


@dataclass(frozen=True)
class Count:
    """`COUNT()` in the select list."""

    pos: int


@dataclass(frozen=True)
class Literal:
    """A literal value; `kind` is string, number, boolean, null, date, datetime or range."""

    kind: str
    value: object
    pos: int


@dataclass(frozen=True)
class DateRange:
    """A relative date literal such as TODAY or LAST_N_DAYS:7."""

    name: str
    n: int


@dataclass(frozen=True)
class Compare:
    """`field op literal` for = != < <= > >=."""

    field: FieldRef
    op: str
    value: Literal


@dataclass(frozen=True)
class InList:
    """`field [NOT] IN (literals)`."""

    field: FieldRef
    values: tuple[Literal, ...]
    negate: bool


@dataclass(frozen=True)
class Like:
    """`field LIKE 'pattern'`."""

    field: FieldRef
    pattern: Literal


@dataclass(frozen=True)
class BoolOp:
    """AND / OR over two or more operands."""

    op: str
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Not:
    """NOT over one operand."""

    item: Expr


Expr = Compare | InList | Like | BoolOp | Not


@dataclass(frozen=True)
class OrderItem:
    """One ORDER BY key."""

    field: FieldRef
    descending: bool
    nulls_first: bool


@dataclass(frozen=True)
class Query:
    """A whole SELECT statement."""

    select: tuple[FieldRef | Count, ...]
    sobject: str
    sobject_pos: int
    where: Expr | None
    order_by: tuple[OrderItem, ...]
    limit: int | None
    offset: int | None
