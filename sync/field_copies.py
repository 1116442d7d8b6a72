"""Field copies (`[[copy]]` in sfsync.toml, SFSYNC_FIELD_COPIES): a Salesforce field's value
written into a customer or contract custom field whenever its deal is synced.

Reading is pure (`copied_values`, at mapping time, beside the page's transaction); writing
happens after the page's deals are provisioned (`apply_field_copies`), keys registered on
first use. A customer's copies come from its own account only: a deal on a sub-organisation
rolled up into an enterprise's customer carries none (the child's Industry is not the
enterprise's). An empty value in Salesforce leaves the custom field as it was.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from sfsync.config.mapping_schema import FieldCopy
from sfsync.models import Entity, StoreError
from sfsync.models.contracts.bulk import contract_customers
from sfsync.models.customers.fields import (
    SFDC_OPPORTUNITY_ID,
    find_many_by_field,
    register_key,
    set_fields,
)
from sfsync.models.tables import MAX_FIELD_VALUE
from sfsync.models.types import plain_decimal
from sfsync.sync.errors import MappingError
from sfsync.sync.salesforce import record_value

__all__ = ["CopiedValue", "apply_field_copies", "copied_values"]


@dataclass(frozen=True)
class CopiedValue:
    entity: Entity
    key: str
    value: str


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        value = Decimal(str(value))
    if isinstance(value, Decimal):
        return format(plain_decimal(value), "f")  # 1200.0 → "1200", never "1.2E+3"
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value)


def copied_values(
    record: Mapping[str, Any], copies: Sequence[FieldCopy], *, own_account: bool
) -> tuple[CopiedValue, ...]:
    """The copies' values in an opportunity record; customer copies only when the deal's
    account is its customer's own (`own_account`). `MappingError` for a value too long."""
    out: list[CopiedValue] = []
    for copy in copies:
        if copy.entity == "customer" and not own_account:
            continue
        text = _text(record_value(record, copy.path))
        if text is None:
            continue
        if len(text) > MAX_FIELD_VALUE:
            raise MappingError(
                f"{copy.source} ({len(text)} characters) does not fit {copy.target}, "
                f"which takes {MAX_FIELD_VALUE}; shorten it in Salesforce or drop the copy"
            )
        out.append(CopiedValue(Entity(copy.entity), copy.key, text))
    return tuple(out)


def apply_field_copies(
    session: Session, deals: Mapping[str, Sequence[CopiedValue]]
) -> dict[str, StoreError]:
    """Write each provisioned deal's copies (opportunity id → values) to its contract and
    its customer; returns the deals whose copies the store refused, with why."""
    wanted = {oid: values for oid, values in deals.items() if values}
    if not wanted:
        return {}
    for entity, key in sorted({(v.entity, v.key) for vs in wanted.values() for v in vs}):
        register_key(session, entity, key)
    ids = list(wanted)
    contracts = find_many_by_field(session, Entity.CONTRACT, SFDC_OPPORTUNITY_ID, ids)
    customers = contract_customers(session, SFDC_OPPORTUNITY_ID, ids)
    failed: dict[str, StoreError] = {}
    for oid, values in wanted.items():
        targets = {Entity.CONTRACT: contracts.get(oid), Entity.CUSTOMER: customers.get(oid)}
        try:
            for entity, entity_id in targets.items():
                mine = {v.key: v.value for v in values if v.entity is entity}
                if mine and entity_id is not None:
                    set_fields(session, entity, entity_id, mine)
        except StoreError as exc:
            failed[oid] = exc
    return failed
