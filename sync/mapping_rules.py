"""What record mapping reads of the settings (`MappingRules`), built once per run."""

from __future__ import annotations

from dataclasses import dataclass

from sfsync.config import Settings
from sfsync.config.mapping_schema import FieldCopy

__all__ = ["MappingRules"]


@dataclass(frozen=True)
class MappingRules:
    """What mapping reads of the settings: the record fields it takes and the alias rules."""

    #: SFSYNC_SF_ALIAS_FIELDS: account fields whose values are aliases, in order.
    alias_fields: tuple[str, ...]
    #: SFSYNC_ALIAS_INCLUDE_ACCOUNT_ID / _SUBORGS.
    include_account_id: bool
    include_suborgs: bool
    #: SFSYNC_CONTRACT_START_FIELD / _END_FIELD / _TERM_FIELD.
    start_field: str
    end_field: str | None
    term_field: str | None
    #: SFSYNC_DEFAULT_CURRENCY: overrides the org's currency for records without one.
    default_currency: str | None
    #: SFSYNC_FIELD_COPIES (`[[copy]]`): Salesforce fields copied into custom fields.
    copies: tuple[FieldCopy, ...] = ()

    @classmethod
    def of(cls, settings: Settings) -> MappingRules:
        """The rules of `settings` (build once per run: the settings do not change in one)."""
        return cls(
            alias_fields=tuple(settings.sf_alias_fields),
            include_account_id=settings.alias_include_account_id,
            include_suborgs=settings.alias_include_suborgs,
            start_field=settings.contract_start_field,
            end_field=settings.contract_end_field,
            term_field=settings.contract_term_field,
            default_currency=settings.default_currency,
            copies=tuple(settings.field_copies),
        )
