"""Ingest aliases and attribution: who holds which alias (`lookups`), attaching, moving and
removing them (`ownership`), the moves' audit (`moves`), and which customer a stored usage
event belongs to (`attribution`).

This package's `__all__` is its surface; the set-based statements of page-at-a-time
provisioning (`bulk`) are imported from their module.
"""

from sfsync.models.aliases.attribution import attributed_customer, derived_customer, is_pending
from sfsync.models.aliases.lookups import (
    ACCOUNT_ID_FIELD,
    AliasOrigin,
    alias_owners,
    alias_rows,
    aliases_for,
    aliases_of,
    customers_named_by,
    external_aliases_from,
    external_aliases_of,
    external_aliases_through,
    holders_by_account,
    list_aliases,
    origin_of,
    unexpected_owners,
)
from sfsync.models.aliases.moves import count_moves, list_moves, record_moves, released_from
from sfsync.models.aliases.ownership import (
    add_aliases,
    move_alias,
    remove_aliases,
    replace_aliases,
    set_origins,
    transfer_external_aliases,
    validate_alias,
)

__all__ = [
    "ACCOUNT_ID_FIELD",
    "AliasOrigin",
    "add_aliases",
    "alias_owners",
    "alias_rows",
    "aliases_for",
    "aliases_of",
    "attributed_customer",
    "count_moves",
    "customers_named_by",
    "derived_customer",
    "external_aliases_from",
    "external_aliases_of",
    "external_aliases_through",
    "holders_by_account",
    "is_pending",
    "list_aliases",
    "list_moves",
    "move_alias",
    "origin_of",
    "record_moves",
    "released_from",
    "remove_aliases",
    "replace_aliases",
    "set_origins",
    "transfer_external_aliases",
    "unexpected_owners",
    "validate_alias",
]
