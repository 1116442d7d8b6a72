"""Custom field keys and values: registered keys, string values, uniqueness by index.

A field whose value is a key naming a customer from outside (`KEY_FIELDS`: the
`sfdc_account_id`) holds it in canonical form (`models.keys`), written and looked up alike,
so one Account is one value however it was spelled (15 or 18 characters, any case).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sfsync.models import jsonrows
from sfsync.models.dialect import insert
from sfsync.models.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    UniqueFieldConflict,
    UnknownFieldKey,
)
from sfsync.models.keys import canonical_key
from sfsync.models.storable import UNSTORABLE_TEXT, is_storable
from sfsync.models.tables import (
    IS_UNIQUE_VALUE,
    MAX_FIELD_KEY,
    MAX_FIELD_VALUE,
    CustomFieldKey,
    CustomFieldValue,
)
from sfsync.models.types import Entity

__all__ = [
    "INTERNAL_CUSTOMER_ID",
    "KEY_FIELDS",
    "SFDC_ACCOUNT_ID",
    "SFDC_OPPORTUNITY_ID",
    "delete_field",
    "delete_values",
    "field_value",
    "fields_for",
    "find_by_field",
    "find_many_by_field",
    "get_fields",
    "list_keys",
    "register_key",
    "remove_key",
    "set_fields",
    "validate_value",
]

SFDC_ACCOUNT_ID = "sfdc_account_id"
SFDC_OPPORTUNITY_ID = "sfdc_opportunity_id"
INTERNAL_CUSTOMER_ID = "internal_customer_id"
#: Fields whose values are keys, kept in canonical form.
KEY_FIELDS = frozenset({SFDC_ACCOUNT_ID})


def field_value(key: str, value: str) -> str:
    """The value as the store keeps and compares it for field `key`."""
    return canonical_key(value) if key in KEY_FIELDS and isinstance(value, str) else value


def register_key(
    session: Session, entity: Entity, key: str, *, unique: bool = False
) -> CustomFieldKey:
    """Register a key; registering it again with the same uniqueness is a no-op."""
    if not key or len(key) > MAX_FIELD_KEY:
        raise InvalidInput(f"a custom field key has 1 to {MAX_FIELD_KEY} characters")
    if not is_storable(key):
        raise InvalidInput(f"a custom field key {UNSTORABLE_TEXT}")
    existing = session.get(CustomFieldKey, (entity, key))
    if existing is not None:
        if existing.enforce_uniqueness != unique:
            raise Conflict(
                f"{entity} key {key!r} is already registered with "
                f"enforce_uniqueness={existing.enforce_uniqueness}"
            )
        return existing
    row = CustomFieldKey(entity=entity, key=key, enforce_uniqueness=unique)
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        found = session.get(CustomFieldKey, (entity, key))
        if found is None or found.enforce_uniqueness != unique:
            raise Conflict(f"{entity} key {key!r} was registered concurrently") from None
        return found
    return row


def list_keys(session: Session) -> list[CustomFieldKey]:
    return list(
        session.scalars(select(CustomFieldKey).order_by(CustomFieldKey.entity, CustomFieldKey.key))
    )


def validate_value(key: str, value: str) -> None:
    if not isinstance(value, str):
        raise InvalidInput(f"custom field {key!r}: values are strings")
    if len(value) > MAX_FIELD_VALUE:
        raise InvalidInput(f"custom field {key!r}: at most {MAX_FIELD_VALUE} characters")
    if not is_storable(value):
        raise InvalidInput(f"custom field {key!r}: a value {UNSTORABLE_TEXT}")


def set_fields(
    session: Session, entity: Entity, entity_id: uuid.UUID, values: Mapping[str, str]
) -> None:
    """Set (insert or overwrite) custom field values on one entity."""
    if not values:
        return
    for key, value in values.items():
        validate_value(key, value)
    values = {key: field_value(key, value) for key, value in values.items()}
    flags = dict(
        session.execute(
            select(CustomFieldKey.key, CustomFieldKey.enforce_uniqueness).where(
                CustomFieldKey.entity == entity, CustomFieldKey.key.in_(list(values))
            )
        )
        .tuples()
        .all()
    )
    for key in values:
        if key not in flags:
            raise UnknownFieldKey(entity.value, key)
    rows = [
        {"entity": entity, "entity_id": entity_id, "key": k, "value": v, "is_unique": flags[k]}
        for k, v in values.items()
    ]
    stmt = insert(session, CustomFieldValue).values(rows)
    stmt = stmt.on_conflict_do_update(
        index_elements=["entity", "entity_id", "key"],
        set_={"value": stmt.excluded.value, "updated_at": stmt.excluded.updated_at},
    )
    try:
        with session.begin_nested():
            session.execute(stmt)
    except IntegrityError as exc:
        raise _unique_conflict(session, entity, entity_id, values) from exc


def _unique_conflict(
    session: Session, entity: Entity, entity_id: uuid.UUID, values: Mapping[str, str]
) -> Exception:
    for key, value in values.items():
        holder = find_by_field(session, entity, key, value)
        if holder is not None and holder != entity_id:
            return UniqueFieldConflict(entity.value, key, value, holder)
    return Conflict(f"{entity} custom field values conflict with another {entity}")


def delete_field(session: Session, entity: Entity, entity_id: uuid.UUID, key: str) -> None:
    result = session.execute(
        delete(CustomFieldValue).where(
            CustomFieldValue.entity == entity,
            CustomFieldValue.entity_id == entity_id,
            CustomFieldValue.key == key,
        )
    )
    if result.rowcount == 0:  # type: ignore[attr-defined]
        raise NotFound(f"{entity} {entity_id} has no custom field {key!r}")


def get_fields(session: Session, entity: Entity, entity_id: uuid.UUID) -> dict[str, str]:
    return fields_for(session, entity, [entity_id]).get(entity_id, {})


def fields_for(
    session: Session, entity: Entity, entity_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, dict[str, str]]:
    """Custom fields of many entities in one query."""
    ids = list(entity_ids)
    out: dict[uuid.UUID, dict[str, str]] = {i: {} for i in ids}
    if not ids:
        return out
    rows = session.execute(
        select(CustomFieldValue.entity_id, CustomFieldValue.key, CustomFieldValue.value)
        .where(CustomFieldValue.entity == entity, CustomFieldValue.entity_id.in_(ids))
        .order_by(CustomFieldValue.key)
    )
    for entity_id, key, value in rows:
        out[entity_id][key] = value
    return out


def find_by_field(session: Session, entity: Entity, key: str, value: str) -> uuid.UUID | None:
    """The entity holding `value` for `key` (meaningful for unique keys)."""
    return session.scalars(
        select(CustomFieldValue.entity_id)
        .where(
            CustomFieldValue.entity == entity,
            CustomFieldValue.key == key,
            CustomFieldValue.value == field_value(key, value),
        )
        .limit(1)
    ).first()


def find_many_by_field(
    session: Session, entity: Entity, key: str, values: Iterable[str]
) -> dict[str, uuid.UUID]:
    """value → entity id for many values of a unique key (one statement, see `models.jsonrows`);
    keyed by the values as given."""
    spelled = {value: field_value(key, value) for value in values}
    table = jsonrows.table_of(CustomFieldValue)
    rows = jsonrows.select_in(
        session,
        select(table.c.value, table.c.entity_id).where(
            table.c.entity == entity, table.c.key == key, IS_UNIQUE_VALUE
        ),
        table.c.value,
        spelled.values(),
    )
    found = jsonrows.owners(rows)
    return {value: found[canon] for value, canon in spelled.items() if canon in found}


def delete_values(
    session: Session, entity: Entity, entity_id: uuid.UUID, keys: Iterable[str]
) -> None:
    """Delete these keys' values from one entity (keys without a value are ignored)."""
    wanted = list(keys)
    if wanted:
        session.execute(
            delete(CustomFieldValue).where(
                CustomFieldValue.entity == entity,
                CustomFieldValue.entity_id == entity_id,
                CustomFieldValue.key.in_(wanted),
            )
        )


def remove_key(session: Session, entity: Entity, key: str) -> None:
    """Unregister a key and delete its values on every entity (sfsync's own keys stay)."""
    if key in (SFDC_ACCOUNT_ID, SFDC_OPPORTUNITY_ID, INTERNAL_CUSTOMER_ID):
        raise Conflict(f"{entity} custom field key {key!r} is sfsync's own and cannot be removed")
    if session.get(CustomFieldKey, (entity, key)) is None:
        raise NotFound(f"no {entity} custom field key {key!r}")
    session.execute(
        delete(CustomFieldValue).where(
            CustomFieldValue.entity == entity, CustomFieldValue.key == key
        )
    )
    session.execute(
        delete(CustomFieldKey).where(CustomFieldKey.entity == entity, CustomFieldKey.key == key)
    )
