"""Product-led signups: a customer from a website signup, idempotent on its internal id."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping

from sqlalchemy.orm import Session

from sfsync.models import Entity, UniqueFieldConflict
from sfsync.models.aliases.ownership import add_aliases
from sfsync.models.customers.fields import INTERNAL_CUSTOMER_ID, find_by_field, set_fields
from sfsync.models.customers.records import create_customer, get_customer, rename_customer

__all__ = ["provision_signup"]


def provision_signup(
    session: Session,
    internal_id: str,
    name: str,
    aliases: Iterable[str] = (),
    custom_fields: Mapping[str, str] | None = None,
) -> tuple[uuid.UUID, bool]:
    """Create (or bring up to date) the customer for `internal_id`; (customer id, created)."""
    fields = {**(custom_fields or {}), INTERNAL_CUSTOMER_ID: internal_id}
    aliases = list(aliases)
    holder = find_by_field(session, Entity.CUSTOMER, INTERNAL_CUSTOMER_ID, internal_id)
    if holder is None:
        try:
            return create_customer(session, name, aliases=aliases, custom_fields=fields).id, True
        except UniqueFieldConflict as conflict:
            if conflict.key != INTERNAL_CUSTOMER_ID or conflict.holder_id is None:
                raise
            holder = conflict.holder_id
    with session.begin_nested():
        customer = get_customer(session, holder)
        rename_customer(session, customer, name)
        set_fields(session, Entity.CUSTOMER, holder, fields)
        add_aliases(session, holder, aliases)
    return holder, False
