"""Account records → their ingest aliases, pure: the account's id, its alias-field values
(a multi-select picklist gives one alias per value) and its sub-organisations', each with
the account and field it comes from. An alias the store cannot hold raises
`sync.errors.MappingError`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sfsync.models.aliases.lookups import ACCOUNT_ID_FIELD, AliasOrigin
from sfsync.models.keys import canonical_key
from sfsync.models.tables import MAX_ALIAS
from sfsync.sync.errors import MappingError
from sfsync.sync.mapping_rules import MappingRules
from sfsync.sync.record_values import check_storable
from sfsync.sync.salesforce import AccountNode, normalize_id

__all__ = [
    "MULTI_SELECT_SEPARATOR",
    "account_alias_origins",
    "account_aliases",
    "split_alias_values",
]

# Salesforce joins the values of a multi-select picklist with ";"; the REST value carries no
# field type, so a ";" is taken as the mark of several values. Spaces and commas are text.
MULTI_SELECT_SEPARATOR = ";"


def split_alias_values(values: Iterable[Any]) -> list[str]:
    """The aliases in alias-field values: a value holding ``;`` is a multi-select picklist's
    and gives one alias per selected value; any other value is one alias (``tenant 42``).

    Each alias is stripped of surrounding whitespace and taken in its canonical form (as the
    store keeps it, `models.keys`); empty ones are dropped.
    """
    parts: list[str] = []
    for value in values:
        if value is None:
            continue
        parts.extend(
            canonical_key(stripped)
            for part in str(value).split(MULTI_SELECT_SEPARATOR)
            if (stripped := part.strip())
        )
    return parts


def _field_values(
    values: Sequence[Any], fields: Sequence[str] | None, rules: MappingRules
) -> list[tuple[str, Any]]:
    """(field, value) pairs: `fields` names each value's field; without it (or when the
    lengths differ) the values are taken to be the configured alias fields, in order."""
    names = list(fields) if fields is not None and len(fields) == len(values) else None
    if names is None:
        configured = rules.alias_fields
        names = [
            configured[i] if i < len(configured) else "alias field" for i in range(len(values))
        ]
    return list(zip(names, values, strict=True))


def account_alias_origins(
    account_id: str,
    alias_values: Iterable[Any],
    descendants: Sequence[AccountNode],
    rules: MappingRules,
    alias_fields: Sequence[str] | None = None,
) -> dict[str, AliasOrigin]:
    """The ingest aliases of an account (see `account_aliases`), each with the account and
    field it comes from (the first one, in the order the aliases are listed)."""
    # (alias, origin, where it came from for a useful error)
    candidates: list[tuple[str, AliasOrigin, str]] = []
    own_id = normalize_id(account_id)
    if rules.include_account_id:
        candidates.append((own_id, AliasOrigin(own_id, ACCOUNT_ID_FIELD), f"account {own_id}"))
    for name, value in _field_values(tuple(alias_values), alias_fields, rules):
        candidates += [
            (part, AliasOrigin(own_id, name), f"an alias field of account {own_id}")
            for part in split_alias_values([value])
        ]
    if rules.include_suborgs:
        for node in descendants:
            node_id = normalize_id(node.id)
            candidates.append(
                (node_id, AliasOrigin(node_id, ACCOUNT_ID_FIELD), f"sub-organisation {node.id}")
            )
            for name, value in _field_values(node.alias_values, node.alias_fields, rules):
                candidates += [
                    (
                        part,
                        AliasOrigin(node_id, name),
                        f"an alias field of sub-organisation {node.id}",
                    )
                    for part in split_alias_values([value])
                ]
    aliases: dict[str, AliasOrigin] = {}
    for alias, origin, source in candidates:
        check_storable(alias, f"alias from {source}")
        if len(alias) > MAX_ALIAS:
            raise MappingError(
                f"the alias {alias[:20]!r}… from {source} is {len(alias)} characters, more than "
                f"{MAX_ALIAS}; shorten the value in Salesforce or remove the field from "
                "SFSYNC_SF_ALIAS_FIELDS"
            )
        aliases.setdefault(alias, origin)
    # More than a customer can hold is not an error of the record: the store attaches what
    # fits, in this order, and letters the rest (`sync.merges`).
    return aliases


def account_aliases(
    account_id: str,
    alias_values: Iterable[Any],
    descendants: Sequence[AccountNode],
    rules: MappingRules,
) -> tuple[str, ...]:
    """The ingest aliases of an account: its id, alias-field values, and its sub-organisations'."""
    return tuple(account_alias_origins(account_id, alias_values, descendants, rules))
