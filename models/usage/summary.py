"""Usage summaries: event counts and exact property sums of a customer, per group.

Attribution follows alias ownership (`models.aliases`, `models.aliases.attribution`), so a
customer's events are those keyed on its aliases (or its id) and attributed to it.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, Context, Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Numeric,
    String,
    and_,
    case,
    cast,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.orm import Session

from sfsync.models import exactjson
from sfsync.models.aliases.attribution import derived_customer
from sfsync.models.aliases.lookups import aliases_of
from sfsync.models.dialect import is_postgres
from sfsync.models.errors import InvalidInput
from sfsync.models.tables import UsageEvent
from sfsync.models.types import plain_decimal

__all__ = ["MAX_PROPERTY_NAME", "GroupBy", "SummaryRow", "property_name", "summarize"]

# A number as a JSON number or a numeric string; anything else is ignored by sums. The
# exponent is capped so PostgreSQL's NUMERIC cast cannot overflow on hostile input.
_NUMERIC = r"^\s*[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]{1,3})?\s*$"
_NUMERIC_RE = re.compile(_NUMERIC)
#: Longest property name a summary groups or sums by (it goes into a JSON path).
MAX_PROPERTY_NAME = 128
_PROPERTY_NAME = re.compile(rf'^[^"\\]{{1,{MAX_PROPERTY_NAME}}}$')
# Additions in this context are exact whatever the digits (only division would round).
_EXACT = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN)


@dataclass(frozen=True)
class GroupBy:
    """A summary grouping: `alias` (the key sent), `event_type`, or a property's value."""

    kind: str
    name: str | None = None

    @classmethod
    def parse(cls, spec: str) -> GroupBy:
        if spec in ("alias", "event_type"):
            return cls(spec)
        if spec.startswith("property:"):
            return cls("property", property_name(spec))
        raise InvalidInput(f"cannot group by {spec!r}; use alias, event_type or property:NAME")

    @property
    def label(self) -> str:
        return f"property:{self.name}" if self.kind == "property" else self.kind


def property_name(spec: str) -> str:
    """NAME of `property:NAME`, checked to be safe inside a JSON path."""
    name = spec.removeprefix("property:")
    if not spec.startswith("property:") or not _PROPERTY_NAME.match(name):
        raise InvalidInput(
            f"expected property:NAME with a name of 1 to {MAX_PROPERTY_NAME} characters "
            f"without quotes or backslashes, got {spec!r}"
        )
    return name


@dataclass(frozen=True)
class SummaryRow:
    """Events and property sums of one group (`key` maps each grouping label to a value)."""

    key: dict[str, str | None]
    events: int
    sums: dict[str, Decimal]


# The property name is always a bound parameter (the JSON path too), never SQL text: a name
# is whatever a caller sends, and summaries are served over HTTP.


def _path(name: str) -> ColumnElement[Any]:
    return literal(f'$."{name}"', String)


def _property_text(session: Session, name: str) -> ColumnElement[Any]:
    # A property's value as text; JSON extraction is spelt differently per backend.
    if is_postgres(session):
        return UsageEvent.properties.op("->>")(literal(name, String))
    return cast(func.json_extract(UsageEvent.properties, _path(name)), String)


def _property_json(name: str) -> ColumnElement[Any]:
    # SQLite only: the JSON text of a value, which keeps a number's literal digits exactly.
    return UsageEvent.properties.op("->", return_type=String)(_path(name))


def _decimal(value: Any) -> Decimal | None:
    """A summable number from a property value, or None (documented: non-numbers are ignored)."""
    if isinstance(value, bool) or value is None:
        return None
    textual = value if isinstance(value, str) else str(value)
    if not _NUMERIC_RE.match(textual):
        return None
    return Decimal(textual.strip())


def summarize(
    session: Session,
    customer_id: uuid.UUID,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    group_by: Sequence[GroupBy] = (),
    sums: Sequence[str] = (),
) -> list[SummaryRow]:
    """Event counts and exact property sums of a customer's usage in [start, end), per group.

    Sums take JSON numbers and numeric strings; other values (and missing ones) are ignored.
    """
    keys: list[ColumnElement[Any]] = []
    for g in group_by:
        if g.kind == "alias":
            keys.append(UsageEvent.customer_key.expression)
        elif g.kind == "event_type":
            keys.append(UsageEvent.event_type.expression)
        else:
            keys.append(_property_text(session, str(g.name)))
    # Filtering on the customer's keys first lets the (customer_key, timestamp) index do the
    # work; attribution follows alias ownership, so these are all of the customer's events.
    own_keys = [*aliases_of(session, customer_id), str(customer_id)]
    where: list[ColumnElement[bool]] = [
        UsageEvent.customer_key.in_(own_keys),
        _attributed_to(session, customer_id, own_keys),
    ]
    if start is not None:
        where.append(UsageEvent.timestamp >= start)
    if end is not None:
        where.append(UsageEvent.timestamp < end)
    labels = [g.label for g in group_by]
    if is_postgres(session) or not sums:
        aggregates: list[ColumnElement[Any]] = [func.count()]
        for name in sums:
            value = _property_text(session, name)
            aggregates.append(
                func.sum(case((value.op("~")(_NUMERIC), cast(value, Numeric)), else_=None))
            )
        query = select(*keys, *aggregates).where(*where)
        if keys:
            query = query.group_by(*keys).order_by(*keys)
        out = []
        for row in session.execute(query):
            values = list(row)
            key = dict(zip(labels, (_text(v) for v in values[: len(keys)]), strict=True))
            count = int(values[len(keys)])
            if not keys and count == 0:
                return []
            totals = {
                name: plain_decimal(Decimal(str(v))) if v is not None else Decimal(0)
                for name, v in zip(sums, values[len(keys) + 1 :], strict=True)
            }
            out.append(SummaryRow(key, count, totals))
    else:
        out = _summarize_streaming(session, keys, labels, where, sums)
    # Backends order NULLs and text differently; present groups the same way everywhere.
    return sorted(out, key=lambda r: [(v is not None, v or "") for v in r.key.values()])


def _attributed_to(
    session: Session, customer_id: uuid.UUID, own_keys: Sequence[str]
) -> ColumnElement[bool]:
    # An event's customer is its stored one, else the one derived from the alias table
    # (`models.aliases.attribution`). The keys whose unswept events are derived to this
    # customer are found first, on the small partial pending index, so the summary itself
    # has no per-row sub-query: PostgreSQL can scan and aggregate it in parallel, as before.
    derived = list(
        session.scalars(
            select(UsageEvent.customer_key)
            .where(
                UsageEvent.customer_key.in_(own_keys),
                UsageEvent.customer_id.is_(None),
                derived_customer(session) == customer_id,
            )
            .distinct()
        )
    )
    stored = UsageEvent.customer_id == customer_id
    if not derived:
        return stored
    return or_(stored, and_(UsageEvent.customer_id.is_(None), UsageEvent.customer_key.in_(derived)))


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _summarize_streaming(
    session: Session,
    keys: list[ColumnElement[Any]],
    labels: list[str],
    where: list[ColumnElement[bool]],
    sums: Sequence[str],
) -> list[SummaryRow]:
    # SQLite has no exact decimal arithmetic: stream the values' literal text and add them
    # up as Decimal here, ordered by group so memory stays one group's worth.
    query = select(*keys, *[_property_json(n) for n in sums]).where(*where)
    if keys:
        query = query.order_by(*keys)
    groups: dict[tuple[str | None, ...], tuple[int, list[Decimal]]] = {}
    for row in _stream(session, query):
        values = list(row)
        group = tuple(_text(v) for v in values[: len(keys)])
        count, totals = groups.get(group) or (0, [Decimal(0)] * len(sums))
        for i, raw in enumerate(values[len(keys) :]):
            number = _decimal(exactjson.loads(raw)) if raw is not None else None
            if number is not None:
                totals[i] = _EXACT.add(totals[i], number)
        groups[group] = (count + 1, totals)
    return [
        SummaryRow(
            dict(zip(labels, group, strict=True)),
            count,
            {name: plain_decimal(total) for name, total in zip(sums, totals, strict=True)},
        )
        for group, (count, totals) in groups.items()
    ]


def _stream(session: Session, query: Any) -> Iterator[Any]:
    yield from session.execute(query.execution_options(yield_per=10_000))
