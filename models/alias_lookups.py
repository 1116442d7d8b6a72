"""Reading ingest aliases: who holds which, and where Salesforce-sourced ones come from.

The read side of `models.aliases` (which changes aliases and keeps their rules): every
function here only reads, in any spelling the caller gives (`models.keys`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from sfsync.models.dialect import in_chunks
from sfsync.models.keys import canonical_keys
from sfsync.models.tables import IngestAlias
from sfsync.models.types import AliasSource

__all__ = [
    "ACCOUNT_ID_FIELD",
    "AliasOrigin",
    "alias_rows",
    "aliases_for",
    "aliases_of",
    "holders_by_account",
    "list_aliases",
    "origin_of",
    "salesforce_aliases_from",
    "salesforce_aliases_of",
    "salesforce_aliases_through",
]


#: `AliasOrigin.field` of an alias that is the account id itself.
ACCOUNT_ID_FIELD = "Id"


@dataclass(frozen=True)
class AliasOrigin:
    """The Salesforce account a Salesforce-sourced alias comes from, and the field."""

    account_id: str
    field: str = ACCOUNT_ID_FIELD


def origin_of(row: IngestAlias) -> AliasOrigin | None:
    """The origin a stored alias records (None: manual)."""
    if row.source is not AliasSource.SALESFORCE or row.source_account_id is None:
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


def salesforce_aliases_of(session: Session, customer_id: uuid.UUID) -> dict[str, AliasOrigin]:
    """The customer's Salesforce-sourced aliases, each with its origin."""
    rows = session.scalars(
        select(IngestAlias).where(
            IngestAlias.customer_id == customer_id, IngestAlias.source == AliasSource.SALESFORCE
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


def salesforce_aliases_from(session: Session, account_id: str) -> dict[str, IngestAlias]:
    """The Salesforce-sourced aliases that come from one account, whoever holds them."""
    rows = session.scalars(
        select(IngestAlias).where(
            IngestAlias.source == AliasSource.SALESFORCE,
            IngestAlias.source_account_id == account_id,
        )
    )
    return {row.alias: row for row in rows}


def salesforce_aliases_through(
    session: Session, account_ids: Iterable[str], field: str
) -> dict[str, AliasOrigin]:
    """Salesforce-sourced aliases recorded as coming from one of these accounts through
    `field`, whoever holds them, with that origin."""
    wanted = list(dict.fromkeys(account_ids))
    out: dict[str, AliasOrigin] = {}
    for chunk in in_chunks(wanted):
        rows = session.execute(
            select(IngestAlias.alias, IngestAlias.source_account_id)
            .where(
                IngestAlias.source == AliasSource.SALESFORCE,
                IngestAlias.source_field == field,
                IngestAlias.source_account_id.in_(chunk),
            )
            .order_by(IngestAlias.alias)
        )
        out.update({alias: AliasOrigin(str(account), field) for alias, account in rows})
    return out


def holders_by_account(session: Session, account_ids: Iterable[str]) -> dict[str, set[uuid.UUID]]:
    """Account → the customers holding a Salesforce-sourced alias that comes from it."""
    wanted = list(dict.fromkeys(account_ids))
    out: dict[str, set[uuid.UUID]] = {}
    for chunk in in_chunks(wanted):
        rows = session.execute(
            select(IngestAlias.source_account_id, IngestAlias.customer_id)
            .where(
                IngestAlias.source == AliasSource.SALESFORCE,
                IngestAlias.source_account_id.in_(chunk),
            )
            .distinct()
        )
        for account, customer in rows:
            out.setdefault(str(account), set()).add(customer)
    return out
