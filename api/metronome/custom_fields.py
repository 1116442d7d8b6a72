"""Metronome's custom field endpoints, for the entities sfsync keeps (customer, contract)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session

from sfsync.api.auth import require
from sfsync.api.errors import BadRequest
from sfsync.api.idempotency import idempotent_write
from sfsync.api.limits import JsonRoute
from sfsync.api.metronome.common import Body, parse_id
from sfsync.api.state import state
from sfsync.models import Entity
from sfsync.models.contracts.records import get_contract
from sfsync.models.customers.fields import (
    delete_values,
    list_keys,
    register_key,
    remove_key,
    set_fields,
)
from sfsync.models.customers.records import get_customer
from sfsync.models.types import ApiScope

__all__ = [
    "AddKey",
    "DeleteValues",
    "ListKeys",
    "RemoveKey",
    "SetValues",
    "add_key",
    "delete_values_",
    "list_keys_",
    "remove_key_",
    "router",
    "set_values",
]

router = APIRouter(prefix="/v1/customFields", tags=["custom fields"], route_class=JsonRoute)


def _entity(value: str) -> Entity:
    try:
        return Entity(value)
    except ValueError:
        kept = ", ".join(e.value for e in Entity)
        raise BadRequest(
            f"entity {value[:40]!r}: sfsync keeps custom fields on {kept} only"
        ) from None


def _existing(session: Session, entity: Entity, entity_id: str) -> uuid.UUID:
    eid = parse_id(entity_id, "entity_id")
    (get_customer if entity is Entity.CUSTOMER else get_contract)(session, eid)
    return eid


class AddKey(Body):
    entity: str
    key: str
    enforce_uniqueness: bool


class ListKeys(Body):
    entities: list[str] | None = None


class SetValues(Body):
    entity: str
    entity_id: str
    custom_fields: dict[str, str]


class DeleteValues(Body):
    entity: str
    entity_id: str
    keys: list[str]


class RemoveKey(Body):
    entity: str
    key: str


@router.post("/addKey", dependencies=[require(ApiScope.WRITE)])
def add_key(request: Request, body: AddKey) -> Response:
    """Register a key (again with the same uniqueness: no change)."""
    entity = _entity(body.entity)

    def work(session: Session) -> None:
        register_key(session, entity, body.key, unique=body.enforce_uniqueness)

    return idempotent_write(request, work)


@router.post("/listKeys", dependencies=[require(ApiScope.READ)])
def list_keys_(request: Request, body: ListKeys | None = None) -> dict[str, Any]:
    """The registered keys, optionally of some entities."""
    wanted = {_entity(e) for e in body.entities} if body and body.entities else set(Entity)
    with state(request).store.reader() as session:
        keys = [k for k in list_keys(session) if k.entity in wanted]
        data = [
            {"entity": k.entity.value, "key": k.key, "enforce_uniqueness": k.enforce_uniqueness}
            for k in keys
        ]
    return {"data": data, "next_page": None}


@router.post("/setValues", dependencies=[require(ApiScope.WRITE)])
def set_values(request: Request, body: SetValues) -> Response:
    """Set values on one customer or contract (a unique value another holds: 409)."""
    entity = _entity(body.entity)

    def work(session: Session) -> None:
        eid = _existing(session, entity, body.entity_id)
        set_fields(session, entity, eid, body.custom_fields)

    return idempotent_write(request, work)


@router.post("/deleteValues", dependencies=[require(ApiScope.WRITE)])
def delete_values_(request: Request, body: DeleteValues) -> Response:
    """Delete values of these keys from one customer or contract."""
    entity = _entity(body.entity)

    def work(session: Session) -> None:
        eid = _existing(session, entity, body.entity_id)
        delete_values(session, entity, eid, body.keys)

    return idempotent_write(request, work)


@router.post("/removeKey", dependencies=[require(ApiScope.ADMIN)])
def remove_key_(request: Request, body: RemoveKey) -> Response:
    """Unregister a key and delete its values everywhere (sfsync's own keys stay)."""
    entity = _entity(body.entity)

    def work(session: Session) -> None:
        remove_key(session, entity, body.key)

    return idempotent_write(request, work)
