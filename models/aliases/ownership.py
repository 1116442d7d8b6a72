"""Ingest aliases: one owner each, and usage keyed on an alias follows its owner.

Attaching an alias attributes every stored usage event keyed on it to the customer the
moment it commits: an event stored without a customer is attributed by the alias table at
read time (`models.aliases.attribution`), so the attach writes the alias row only. Moving it
moves the events (rows with a stored customer are rewritten in the same transaction);
removing it detaches them (pending again).

Every alias is kept and compared in its canonical form (`models.keys`: a UUID in any
spelling as its canonical text, an Account id as its 18 characters): functions here take
any spelling and answer look-ups in the caller's own.

A customer's id (in any spelling that parses as a UUID) always names that customer: as an
alias it is a conflict naming that customer (`AliasIsCustomerId`), and the ownership
look-ups report that customer as its holder, so no path — the CLI, the closed-won page,
the account stream — can attach it elsewhere and capture the customer's usage.

Reading them (who holds which, their origins) is `models.aliases.lookups`.

Every alias records where it came from (`AliasOrigin`): an account at the source and the field
its value was read from (`Id` for the account id itself), or nothing for a manual one (the
CLI, the API). The account stream changes only externally sourced aliases.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from sfsync.models.aliases.lookups import (
    AliasOrigin,
    alias_owners,
    aliases_of,
    customers_named_by,
    external_aliases_of,
)
from sfsync.models.dialect import in_chunks, insert, is_postgres
from sfsync.models.errors import (
    AliasConflict,
    AliasIsCustomerId,
    AliasLimitExceeded,
    CustomerArchived,
    InvalidInput,
    NotFound,
)
from sfsync.models.keys import canonical_key
from sfsync.models.storable import UNSTORABLE_TEXT, is_storable
from sfsync.models.tables import (
    MAX_ALIAS,
    MAX_ALIASES_PER_CUSTOMER,
    Customer,
    IngestAlias,
    UsageEvent,
)
from sfsync.models.types import AliasSource, CustomerStatus, utcnow

__all__ = [
    "add_aliases",
    "move_alias",
    "remove_aliases",
    "replace_aliases",
    "set_origins",
    "transfer_external_aliases",
    "validate_alias",
]


def _origin_values(origin: AliasOrigin | None) -> dict[str, object]:
    if origin is None:
        return {"source": AliasSource.MANUAL, "source_account_id": None, "source_field": None}
    return {
        "source": AliasSource.EXTERNAL,
        "source_account_id": origin.account_id,
        "source_field": origin.field,
    }


def validate_alias(alias: str) -> str:
    """The alias in its canonical form (`models.keys`), or `InvalidInput`."""
    if isinstance(alias, str):
        alias = canonical_key(alias)
    if not isinstance(alias, str) or not 1 <= len(alias) <= MAX_ALIAS:
        raise InvalidInput(f"an ingest alias has 1 to {MAX_ALIAS} characters: {alias[:40]!r}...")
    if not is_storable(alias):
        raise InvalidInput(f"an ingest alias {UNSTORABLE_TEXT}: {alias[:40]!r}")
    return alias


def _lock_customer(session: Session, customer_id: uuid.UUID, *, gaining: bool = True) -> None:
    # Serialises alias changes per customer, so the 2,000-alias limit holds and a replacement
    # of a customer's set reads and changes it as one step against another replacement.
    # The one lock order of every path (PostgreSQL; SQLite writers hold the whole store):
    # the customer row, then alias rows in alias order, then usage rows. Ingest share-locks
    # the aliases it uses in alias order before it writes usage rows (`models.usage.insert`).
    query = select(Customer.status, Customer.merged_into).where(Customer.id == customer_id)
    if is_postgres(session):
        query = query.with_for_update()
    row = session.execute(query).first()
    if row is None:
        raise NotFound(f"no customer {customer_id}")
    if gaining and row.status is not CustomerStatus.ACTIVE:
        raise CustomerArchived(customer_id, row.merged_into)


def _refuse_customer_ids(session: Session, aliases: Iterable[str]) -> None:
    for alias, customer_id in customers_named_by(session, aliases).items():
        raise AliasIsCustomerId(alias, customer_id)


def add_aliases(
    session: Session,
    customer_id: uuid.UUID,
    aliases: Iterable[str],
    origins: Mapping[str, AliasOrigin] | None = None,
) -> list[str]:
    """Attach aliases to a customer; returns those newly attached.

    `origins` says which of them come from the source (the rest are manual). Re-adding an
    alias the customer already holds is a no-op (its origin is left as it is); one held by
    another customer raises `AliasConflict` naming the holder, and nothing is applied.
    """
    origins = {canonical_key(a): origin for a, origin in (origins or {}).items()}
    wanted = list(dict.fromkeys(validate_alias(a) for a in aliases))
    if not wanted:
        return []
    _refuse_customer_ids(session, wanted)
    with session.begin_nested():
        _lock_customer(session, customer_id)
        added: list[str] = []
        # Inserted in alias order, the order every path takes alias rows' locks in; each
        # keeps its place in the given order as its creation time (how they are listed).
        now = utcnow()
        made = {a: now + timedelta(microseconds=n) for n, a in enumerate(wanted)}
        for chunk in in_chunks(sorted(wanted)):
            rows = [
                {"alias": a, "customer_id": customer_id, "created_at": made[a]}
                | _origin_values(origins.get(a))
                for a in chunk
            ]
            stmt = (
                insert(session, IngestAlias)
                .values(rows)
                .on_conflict_do_nothing(index_elements=["alias"])
                .returning(IngestAlias.alias)
            )
            new = list(session.scalars(stmt))
            added.extend(new)
            if len(new) < len(chunk):
                owners = alias_owners(session, chunk)
                for alias in chunk:
                    holder = owners.get(alias)
                    if holder != customer_id:
                        raise AliasConflict(alias, holder)
        # No event is rewritten: an alias without an owner until now has no event with a
        # stored customer (removing an alias clears its events' in the same transaction, and
        # nothing else deletes one), and its others are the new owner's by derivation.
        _check_limit(session, customer_id, added)
    fresh = set(added)
    return [a for a in wanted if a in fresh]


def _check_limit(session: Session, customer_id: uuid.UUID, added: Sequence[str]) -> None:
    if added:
        count = session.scalar(
            select(func.count())
            .select_from(IngestAlias)
            .where(IngestAlias.customer_id == customer_id)
        )
        if count is not None and count > MAX_ALIASES_PER_CUSTOMER:
            raise AliasLimitExceeded(
                f"customer {customer_id} would hold {count} ingest aliases; "
                f"the limit is {MAX_ALIASES_PER_CUSTOMER}"
            )


def _attribute(session: Session, aliases: Sequence[str], customer_id: uuid.UUID | None) -> None:
    # Moves only. Only events with a stored customer are rewritten: one still NULL is the
    # alias owner's by derivation (`models.aliases.attribution`).
    for chunk in in_chunks(list(aliases)):
        session.execute(
            update(UsageEvent)
            .where(UsageEvent.customer_key.in_(chunk), UsageEvent.customer_id.is_not(None))
            .values(customer_id=customer_id)
            .execution_options(synchronize_session=False)
        )


def remove_aliases(session: Session, customer_id: uuid.UUID, aliases: Iterable[str]) -> list[str]:
    """Detach aliases from a customer; their usage becomes pending again."""
    wanted = list(dict.fromkeys(canonical_key(a) for a in aliases))
    if not wanted:
        return []
    _lock_customer(session, customer_id, gaining=False)
    _detach(session, customer_id, wanted)
    _release_usage(session, customer_id, wanted)
    return wanted


def _detach(session: Session, customer_id: uuid.UUID, wanted: Sequence[str]) -> None:
    # The alias rows' part of a removal (the caller holds the customer's lock).
    _lock_alias_rows(session, wanted)
    owners = alias_owners(session, wanted)
    missing = [a for a in wanted if owners.get(a) != customer_id]
    if missing:
        raise NotFound(f"customer {customer_id} does not hold alias {missing[0]!r}")
    for chunk in in_chunks(wanted):
        session.execute(
            delete(IngestAlias)
            .where(IngestAlias.customer_id == customer_id, IngestAlias.alias.in_(chunk))
            .execution_options(synchronize_session=False)
        )


def _release_usage(session: Session, customer_id: uuid.UUID, released: Sequence[str]) -> None:
    # The usage rows' part of a removal: after every alias row change of the transaction,
    # so no path holds a usage row's lock while it waits for an alias row's.
    for chunk in in_chunks(released):
        session.execute(
            update(UsageEvent)
            .where(UsageEvent.customer_key.in_(chunk), UsageEvent.customer_id == customer_id)
            .values(customer_id=None)
            .execution_options(synchronize_session=False)
        )


def _lock_alias_rows(session: Session, aliases: Sequence[str]) -> None:
    # Before deleting or rewriting alias rows, take their locks in alias order: a DELETE
    # locks rows in scan order, which could cross an ingest's share locks (alias order).
    if is_postgres(session):
        for chunk in in_chunks(sorted(aliases)):
            session.execute(
                select(IngestAlias.alias)
                .where(IngestAlias.alias.in_(chunk))
                .order_by(IngestAlias.alias)
                .with_for_update()
            ).all()


def move_alias(
    session: Session, alias: str, to_customer_id: uuid.UUID, origin: AliasOrigin | None = None
) -> uuid.UUID | None:
    """Move an alias to another customer (attaching it if unowned); its usage follows.

    Returns the previous owner. Used where the source of truth says the alias moved (an
    account re-parented at the source); `add_aliases` never moves silently. `origin`, when
    given, is recorded as the alias's origin.
    """
    alias = validate_alias(alias)
    _refuse_customer_ids(session, [alias])
    _lock_customer(session, to_customer_id)
    _lock_alias_rows(session, [alias])
    previous = alias_owners(session, [alias]).get(alias)
    if previous == to_customer_id:
        return previous
    if previous is None:
        add_aliases(session, to_customer_id, [alias], {alias: origin} if origin else None)
        return None
    values: dict[str, object] = {"customer_id": to_customer_id}
    if origin is not None:
        values.update(_origin_values(origin))
    session.execute(update(IngestAlias).where(IngestAlias.alias == alias).values(**values))
    _attribute(session, [alias], to_customer_id)
    return previous


def replace_aliases(
    session: Session, customer_id: uuid.UUID, aliases: Iterable[str]
) -> tuple[list[str], list[str]]:
    """Make the customer's aliases exactly `aliases`; returns (added, removed).

    The customer's row is locked before its set is read, so two replacements of one
    customer's set run one after the other, the second reading what the first left.
    """
    wanted = list(dict.fromkeys(validate_alias(a) for a in aliases))
    _lock_customer(session, customer_id, gaining=False)
    current = set(aliases_of(session, customer_id))
    removed = sorted(a for a in current if a not in set(wanted))
    if removed:
        _detach(session, customer_id, removed)
    added = add_aliases(session, customer_id, [a for a in wanted if a not in current])
    # Usage rows last, after both alias changes (the lock order of `_lock_customer`).
    _release_usage(session, customer_id, removed)
    return added, removed


def set_origins(session: Session, origins: Mapping[str, AliasOrigin]) -> None:
    """Record where aliases (already held) come from now, e.g. after a hierarchy change."""
    for alias, origin in origins.items():
        session.execute(
            update(IngestAlias)
            .where(
                IngestAlias.alias == canonical_key(alias),
                IngestAlias.source == AliasSource.EXTERNAL,
            )
            .values(**_origin_values(origin))
            .execution_options(synchronize_session=False)
        )


def transfer_external_aliases(
    session: Session, from_id: uuid.UUID, to_id: uuid.UUID
) -> dict[str, AliasOrigin]:
    """Move every externally sourced alias of one customer to another, usage with them.

    The caller holds both customers' locks. Raises `AliasLimitExceeded` (nothing applied,
    savepoint) when the receiver would pass the limit.
    """
    moved = external_aliases_of(session, from_id)
    if not moved:
        return moved
    with session.begin_nested():
        _lock_alias_rows(session, list(moved))
        for chunk in in_chunks(list(moved)):
            session.execute(
                update(IngestAlias)
                .where(IngestAlias.customer_id == from_id, IngestAlias.alias.in_(chunk))
                .values(customer_id=to_id)
                .execution_options(synchronize_session=False)
            )
        _check_limit(session, to_id, list(moved))
        _attribute(session, list(moved), to_id)
    return moved
