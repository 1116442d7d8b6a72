"""keys in canonical form: Account ids in 18 characters, customer ids as canonical UUIDs

Revision ID: 0012
Revises: 0017
Create Date: 2026-12-07 21:20:00

Before this release an alias, an `sfdc_account_id` value or an event's key was kept as
sent: `001179666626958`, `001179666626958AAA` and `001179666626958aaa` were three keys for
one Account, and a customer's id in upper case, braces, `urn:uuid:`, 32 digits or with
whitespace was not that customer's id. Every such key is rewritten to its canonical form
(`models.keys.canonical_key`, the rule every write and look-up now applies). Where two rows
become one key, the outcome is decided the same way on every run and reported (a warning
naming each row removed, as migration 0004 reported what it found):

- ingest aliases: an alias that spells an existing customer's id is removed, whoever
  holds it (a customer's id always names that customer, so it could only capture usage).
  Otherwise the row already in canonical form is kept, else the oldest (then the alias in
  code point order); the others are removed;
- `sfdc_account_id`: the customer holding the canonical form keeps it, else the oldest
  customer (then the lowest id); the others lose the value (the next sync finds the
  Account's customer by it, the survivor);
- usage events keyed on a rewritten key take the canonical key and lose their stored
  customer, so they follow the canonical key's owner at once (derived at read time, then
  written by the pending sweep).

Downgrade changes nothing: the old spellings are not kept.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from sfsync.models.keys import canonical_key, customer_id_of_key

revision = "0012"
down_revision = "0017"
branch_labels = None
depends_on = None

log = logging.getLogger("sfsync.migrations")

# Keys that may not be canonical: Account-id-shaped lengths, or long enough to spell a UUID.
_CANDIDATE = "((length({c}) IN (15, 18) AND {c} LIKE '001%') OR length({c}) >= 32)"
_CANONICAL_UUID_PG = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
_HEX = "[0-9a-f]"
_CANONICAL_UUID_GLOB = "-".join(_HEX * n for n in (8, 4, 4, 4, 12))
_CHUNK = 500


class KeyReport:
    """What the migration changed: rows rewritten, and each row removed with the reason.

    A plain class: Alembic loads a revision without registering it as a module, which a
    dataclass's annotations need."""

    def __init__(self) -> None:
        self.aliases_rewritten = 0
        self.fields_rewritten = 0
        self.event_keys_rewritten = 0
        self.removed: list[str] = []


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _stored_id(conn: sa.Connection, value: uuid.UUID) -> str:
    # The Uuid type keeps 32 hex digits on SQLite and a native uuid on PostgreSQL.
    return str(value) if conn.dialect.name == "postgresql" else value.hex


def _existing_customers(conn: sa.Connection, ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    wanted = sorted(set(ids))
    found: set[uuid.UUID] = set()
    for chunk in _chunks(wanted):
        rows = conn.execute(
            sa.text("SELECT id FROM customers WHERE id IN :ids").bindparams(
                sa.bindparam("ids", expanding=True)
            ),
            {"ids": [_stored_id(conn, i) for i in chunk]},
        )
        found.update(uuid.UUID(str(row[0])) for row in rows)
    return found


def _as_id(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _clear_attribution(conn: sa.Connection, key: str, holder: uuid.UUID) -> None:
    conn.execute(
        sa.text(
            "UPDATE usage_events SET customer_id = NULL "
            "WHERE customer_key = :key AND customer_id = :holder"
        ),
        {"key": key, "holder": _stored_id(conn, holder)},
    )


def _aliases(conn: sa.Connection, report: KeyReport) -> None:
    rows = conn.execute(
        sa.text(
            "SELECT alias, customer_id FROM ingest_aliases WHERE "
            + _CANDIDATE.format(c="alias")
            + " ORDER BY created_at, alias"
        )
    ).all()
    groups: dict[str, list[tuple[str, uuid.UUID]]] = {}
    for alias, holder in rows:
        groups.setdefault(canonical_key(alias), []).append((alias, _as_id(holder)))
    named = _existing_customers(
        conn, (cid for key in groups if (cid := customer_id_of_key(key)) is not None)
    )
    for canon, members in sorted(groups.items()):
        customer = customer_id_of_key(canon)
        if customer is not None and customer in named:
            for alias, holder in members:
                _delete_alias(conn, alias, holder)
                report.removed.append(
                    f"alias {alias!r} held by {holder}: it is customer {customer}'s id"
                )
            continue
        keep = next((m for m in members if m[0] == canon), members[0])
        for alias, holder in members:
            if (alias, holder) == keep:
                continue
            _delete_alias(conn, alias, holder)
            report.removed.append(
                f"alias {alias!r} held by {holder}: the same key as {keep[0]!r} "
                f"held by {keep[1]}, which keeps it as {canon!r}"
            )
        if keep[0] != canon:
            conn.execute(
                sa.text("UPDATE ingest_aliases SET alias = :new WHERE alias = :old"),
                {"new": canon, "old": keep[0]},
            )
            report.aliases_rewritten += 1


def _delete_alias(conn: sa.Connection, alias: str, holder: uuid.UUID) -> None:
    conn.execute(sa.text("DELETE FROM ingest_aliases WHERE alias = :alias"), {"alias": alias})
    # As a removal does: its usage is the holder's no longer (pending, or derived anew).
    _clear_attribution(conn, alias, holder)


def _account_fields(conn: sa.Connection, report: KeyReport) -> None:
    rows = conn.execute(
        sa.text(
            "SELECT v.entity_id, v.value FROM custom_field_values AS v "
            "JOIN customers AS c ON c.id = v.entity_id "
            "WHERE v.entity = 'customer' AND v.key = 'sfdc_account_id' "
            "ORDER BY c.created_at, c.id"
        )
    ).all()
    groups: dict[str, list[tuple[uuid.UUID, str]]] = {}
    for entity_id, value in rows:
        groups.setdefault(canonical_key(value), []).append((_as_id(entity_id), value))
    for canon, members in sorted(groups.items()):
        keep = next((m for m in members if m[1] == canon), members[0])
        for entity_id, value in members:
            if (entity_id, value) == keep:
                continue
            conn.execute(
                sa.text(
                    "DELETE FROM custom_field_values WHERE entity = 'customer' "
                    "AND key = 'sfdc_account_id' AND entity_id = :id"
                ),
                {"id": _stored_id(conn, entity_id)},
            )
            report.removed.append(
                f"sfdc_account_id {value!r} of customer {entity_id}: the same Account as "
                f"customer {keep[0]}'s, which keeps it as {canon!r}"
            )
        if keep[1] != canon:
            conn.execute(
                sa.text(
                    "UPDATE custom_field_values SET value = :new WHERE entity = 'customer' "
                    "AND key = 'sfdc_account_id' AND entity_id = :id"
                ),
                {"new": canon, "id": _stored_id(conn, keep[0])},
            )
            report.fields_rewritten += 1


def _event_keys(conn: sa.Connection, report: KeyReport) -> None:
    canonical_uuid = (
        f"customer_key !~ '{_CANONICAL_UUID_PG}'"
        if conn.dialect.name == "postgresql"
        else f"customer_key NOT GLOB '{_CANONICAL_UUID_GLOB}'"
    )
    keys = conn.execute(
        sa.text(
            "SELECT DISTINCT customer_key FROM usage_events WHERE "
            + _CANDIDATE.format(c="customer_key")
            + f" AND {canonical_uuid}"
        )
    ).scalars()
    for key in sorted(keys):
        canon = canonical_key(key)
        if canon == key:
            continue
        result = conn.execute(
            sa.text(
                "UPDATE usage_events SET customer_key = :new, customer_id = NULL "
                "WHERE customer_key = :old"
            ),
            {"new": canon, "old": key},
        )
        report.event_keys_rewritten += int(result.rowcount)


def canonicalise_keys(conn: sa.Connection) -> KeyReport:
    """Rewrite every stored key to its canonical form; returns what changed and was removed."""
    report = KeyReport()
    _aliases(conn, report)
    _account_fields(conn, report)
    _event_keys(conn, report)
    return report


def upgrade() -> None:
    report = canonicalise_keys(op.get_bind())
    rewritten = report.aliases_rewritten + report.fields_rewritten + report.event_keys_rewritten
    if rewritten:
        log.info(
        "keys in canonical form: %d alias(es), %d sfdc_account_id value(s), %d event(s) rewritten",
        report.aliases_rewritten,
        report.fields_rewritten,
        report.event_keys_rewritten,
    )
    if report.removed:
        log.warning(
            "%d row(s) collided with another once their keys were spelled canonically and "
            "were removed: %s",
            len(report.removed),
            "; ".join(report.removed),
        )


def downgrade() -> None:
    pass
