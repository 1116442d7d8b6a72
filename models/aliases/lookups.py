"""Reading ingest aliases: who holds which, and where externally sourced ones come from.

The read side of the aliases (`models.aliases.ownership` changes them and keeps their
rules): every function here only reads, in any spelling the caller gives (`models.keys`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from sfsync.models import jsonrows
from sfsync.models.dialect import in_chunks
from sfsync.models.keys import canonical_keys, customer_id_of_key
from sfsync.models.tables import Customer, IngestAlias
from sfsync.models.types import AliasSource

__all__ = [
    "ACCOUNT_ID_FIELD",
    "AliasOrigin",
    "alias_owners",
    "alias_rows",
    "aliases_for",
    "aliases_of",
    "customers_named_by",
    "external_aliases_from",
    "external_aliases_of",
    "external_aliases_through",
    "holders_by_account",
    "list_aliases",
    "origin_of",
    "unexpected_owners",
]


#: `AliasOrigin.field` of an alias that is the account id itself.
ACCOUNT_ID_FIELD = "Id"


@dataclass(frozen=True)
class AliasOrigin:
    """The account an externally sourced alias comes from at its source, and the field."""

    account_id: str
    field: str = ACCOUNT_ID_FIELD


def origin_of(row: IngestAlias) -> AliasOrigin | None:
    """The origin a stored alias records (None: manual)."""
    if row.source is not AliasSource.EXTERNAL or row.source_account_id is None:
        return None
    return AliasOrigin(row.source_account_id, row.source_field or ACCOUNT_ID_FIELD)


def aliases_of(session: Session, customer_id: uuid.UUID) -> list[str]:
    return list(
        session.scalars(
            select(IngestAlias.alias)
            .where(IngestAlias.customer_id == customer_id)
            .order_by(IngestAlias.created_at, IngestAlias.alias)
        )
    )


def list_aliases(session: Session, customer_id: uuid.UUID | None = None) -> list[IngestAlias]:
    query = select(IngestAlias).order_by(IngestAlias.customer_id, IngestAlias.alias)
    if customer_id is not None:
        query = query.where(IngestAlias.customer_id == customer_id)
    return list(session.scalars(query))


def aliases_for(session: Session, customer_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    """Aliases of many customers in one query per 500 customers."""
    ids = list(customer_ids)
    out: dict[uuid.UUID, list[str]] = {i: [] for i in ids}
    for chunk in in_chunks(ids):
        rows = session.execute(
            select(IngestAlias.customer_id, IngestAlias.alias)
            .where(IngestAlias.customer_id.in_(chunk))
            .order_by(IngestAlias.created_at, IngestAlias.alias)
        )
        for customer_id, alias in rows:
            out[customer_id].append(alias)
    return out


def external_aliases_of(session: Session, customer_id: uuid.UUID) -> dict[str, AliasOrigin]:
    """The customer's externally sourced aliases, each with its origin."""
    rows = session.scalars(
        select(IngestAlias).where(
            IngestAlias.customer_id == customer_id, IngestAlias.source == AliasSource.EXTERNAL
        )
    )
    return {row.alias: origin for row in rows if (origin := origin_of(row)) is not None}


def alias_rows(session: Session, aliases: Iterable[str]) -> dict[str, IngestAlias]:
    """alias → its stored row, for the aliases that are held (keyed by the spellings given)."""
    spelled = canonical_keys(aliases)
    wanted = list(dict.fromkeys(spelled.values()))
    found: dict[str, IngestAlias] = {}
    for chunk in in_chunks(wanted):
        found.update(
            (row.alias, row)
            for row in session.scalars(select(IngestAlias).where(IngestAlias.alias.in_(chunk)))
        )
    return {key: found[canon] for key, canon in spelled.items() if canon in found}


def external_aliases_from(session: Session, account_id: str) -> dict[str, IngestAlias]:
    """The externally sourced aliases that come from one account, whoever holds them."""
    rows = session.scalars(
        select(IngestAlias).where(
            IngestAlias.source == AliasSource.EXTERNAL,
            IngestAlias.source_account_id == account_id,
        )
    )
    return {row.alias: row for row in rows}


def external_aliases_through(
    session: Session, account_ids: Iterable[str], field: str
) -> dict[str, AliasOrigin]:
    """Externally sourced aliases recorded as coming from one of these accounts through
    `field`, whoever holds them, with that origin."""
    wanted = list(dict.fromkeys(account_ids))
    out: dict[str, AliasOrigin] = {}
    for chunk in in_chunks(wanted):
        rows = session.execute(
            select(IngestAlias.alias, IngestAlias.source_account_id)
            .where(
                IngestAlias.source == AliasSource.EXTERNAL,
                IngestAlias.source_field == field,
                IngestAlias.source_account_id.in_(chunk),
            )
            .order_by(IngestAlias.alias)
        )
        out.update({alias: AliasOrigin(str(account), field) for alias, account in rows})
    return out


def holders_by_account(session: Session, account_ids: Iterable[str]) -> dict[str, set[uuid.UUID]]:
    """Account → the customers holding an externally sourced alias that comes from it."""
    wanted = list(dict.fromkeys(account_ids))
    out: dict[str, set[uuid.UUID]] = {}
    for chunk in in_chunks(wanted):
        rows = session.execute(
            select(IngestAlias.source_account_id, IngestAlias.customer_id)
            .where(
                IngestAlias.source == AliasSource.EXTERNAL,
                IngestAlias.source_account_id.in_(chunk),
            )
            .distinct()
        )
        for account, customer in rows:
            out.setdefault(str(account), set()).add(customer)
    return out


def customers_named_by(session: Session, keys: Iterable[str]) -> dict[str, uuid.UUID]:
    """key → the customer whose id it is, for the keys that spell an existing customer's id
    (any spelling that parses as a UUID: upper case, braces, ``urn:uuid:``, 32 digits…)."""
    candidates = {k: cid for k in keys if (cid := customer_id_of_key(k)) is not None}
    if not candidates:
        return {}
    found = set(session.scalars(select(Customer.id).where(Customer.id.in_(candidates.values()))))
    return {k: cid for k, cid in candidates.items() if cid in found}


def alias_owners(session: Session, aliases: Iterable[str]) -> dict[str, uuid.UUID]:
    """alias → its owner, for the aliases that have one (see `models.jsonrows`).

    An alias that is a customer's id is reported as held by that customer. Keys in any
    spelling; the answer is keyed by the spellings given.
    """
    spelled = canonical_keys(aliases)
    table = jsonrows.table_of(IngestAlias)
    found = jsonrows.owners(
        jsonrows.select_in(
            session, select(table.c.alias, table.c.customer_id), table.c.alias, spelled.values()
        )
    )
    owners = {key: found[canon] for key, canon in spelled.items() if canon in found}
    owners.update(customers_named_by(session, spelled))
    return owners


def unexpected_owners(
    session: Session, expected: Mapping[str, uuid.UUID | None]
) -> dict[str, uuid.UUID | None]:
    """The aliases not held by their expected owner, each with its owner (None: no owner).

    `expected` maps alias → the customer that should hold it (None: no customer yet, so
    every such alias is reported). One statement; a page whose aliases are all in place
    reads back nothing, where `alias_owners` would return every one of them.
    """
    if not expected:
        return {}
    spelled = canonical_keys(expected)
    if any(key != canon for key, canon in spelled.items()):
        by_canon = {spelled[key]: owner for key, owner in expected.items()}
        odd_canon = unexpected_owners(session, by_canon)
        return {key: odd_canon[canon] for key, canon in spelled.items() if canon in odd_canon}
    table = jsonrows.table_of(IngestAlias)
    session.flush()  # a Core statement does not autoflush as an ORM query would
    wanted = jsonrows.rows_of(session, table, ("alias", "customer_id"))
    held = table.alias("a")
    statement = (
        select(wanted.c.alias, held.c.customer_id)
        .join_from(wanted, held, held.c.alias == wanted.c.alias, isouter=True)
        .where(
            or_(
                held.c.customer_id.is_(None),
                wanted.c.customer_id.is_(None),
                held.c.customer_id != wanted.c.customer_id,
            )
        )
    )
    rows = session.connection().execute(
        statement,
        {"rows": jsonrows.document(session, table, ("alias", "customer_id"), expected.items())},
    )
    as_uuid = jsonrows.uuid_reader()
    odd = {alias: None if owner is None else as_uuid(owner) for alias, owner in rows.all()}
    for alias, customer_id in customers_named_by(session, expected).items():
        if expected[alias] != customer_id:
            odd[alias] = customer_id
    return odd
