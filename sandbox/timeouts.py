"""QUERY_TIMEOUT for non-selective SystemModstamp ranges, the way a large org answers them.

Salesforce gives up on a query that would scan too many rows, and the same query fails
again on retry: only a narrower window succeeds. The sandbox models "too many rows" as a
SystemModstamp range wider than a set span (or open at either end). A query narrowed to
particular ids (``Id = ...``, ``AccountId IN (...)``) or capped by a LIMIT is selective and
never times out.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import datetime

from sfsync.sandbox.faults import FAULT_KINDS
from sfsync.sandbox.schema import FieldType, Objects, lookup
from sfsync.sandbox.soql import SoqlError, ast, parse
from sfsync.sandbox.values import parse_datetime

DEFAULT_OBJECTS = ("Opportunity", "Account")
_LOWER_OPS = (">", ">=", "=")
_UPPER_OPS = ("<", "<=", "=")


@dataclass(frozen=True)
class TimeoutRule:
    """Queries on `objects` whose SystemModstamp range spans more than `over_seconds` fail."""

    over_seconds: float
    objects: frozenset[str] = frozenset(o.lower() for o in DEFAULT_OBJECTS)

    @classmethod
    def build(cls, over_seconds: float, objects: Collection[str] | None = None) -> TimeoutRule:
        """A rule for `objects` (default Opportunity and Account)."""
        names = DEFAULT_OBJECTS if objects is None else objects
        return cls(float(over_seconds), frozenset(o.lower() for o in names))


def _conjuncts(node: ast.Expr | None) -> Iterator[ast.Expr]:
    """The top-level AND operands: only those constrain every row the query reads."""
    if node is None:
        return
    if isinstance(node, ast.BoolOp) and node.op == "AND":
        for item in node.items:
            yield from _conjuncts(item)
    else:
        yield node


def _field_name(ref: ast.FieldRef, sobject: str) -> str | None:
    path = [p.lower() for p in ref.path]
    if len(path) == 2 and path[0] == sobject.lower():
        path = path[1:]
    return path[0] if len(path) == 1 else None


def _is_selective(query: ast.Query, objects: Objects | None) -> bool:
    obj = lookup(query.sobject, objects)
    if obj is None:
        return True
    for node in _conjuncts(query.where):
        by_id = isinstance(node, ast.Compare) and node.op == "=" and node.value.kind == "string"
        if not (by_id or (isinstance(node, ast.InList) and not node.negate)):
            continue
        assert isinstance(node, ast.Compare | ast.InList)
        name = _field_name(node.field, query.sobject)
        f = obj.field(name) if name else None
        if f is not None and f.type in (FieldType.ID, FieldType.REFERENCE):
            return True
    return False


def modstamp_range(query: ast.Query) -> tuple[datetime | None, datetime | None]:
    """The tightest (lower, upper) SystemModstamp bounds of the top-level conjuncts."""
    lower: datetime | None = None
    upper: datetime | None = None
    for node in _conjuncts(query.where):
        if not isinstance(node, ast.Compare) or node.value.kind != "datetime":
            continue
        if _field_name(node.field, query.sobject) != "systemmodstamp":
            continue
        when = parse_datetime(str(node.value.value))
        if when is None:
            continue
        if node.op in _LOWER_OPS and (lower is None or when > lower):
            lower = when
        if node.op in _UPPER_OPS and (upper is None or when < upper):
            upper = when
    return lower, upper


def check(soql: str, rule: TimeoutRule | None, objects: Objects | None = None) -> None:
    """Raise SoqlError(QUERY_TIMEOUT) if `rule` says `soql` scans too wide a range."""
    if rule is None:
        return
    query = parse(soql)
    if query.sobject.lower() not in rule.objects:
        return
    if query.limit is not None or _is_selective(query, objects):
        return
    lower, upper = modstamp_range(query)
    if (
        lower is not None
        and upper is not None
        and (upper - lower).total_seconds() <= rule.over_seconds
    ):
        return
    _, code, message = FAULT_KINDS["query_timeout"]
    raise SoqlError(code, message)
