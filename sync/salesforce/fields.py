"""Which setting names each Salesforce field sfsync reads or writes, for errors that say
what to fix (`translate`'s hints, `sfsync check`'s problem lines)."""

from __future__ import annotations

from sfsync.config import Settings

__all__ = ["field_settings"]


def field_settings(settings: Settings) -> dict[str, str]:
    """Configured field names → the setting that names them."""
    fields: dict[str, str] = {name: "SFSYNC_SF_ALIAS_FIELDS" for name in settings.sf_alias_fields}
    for name, setting in (
        (settings.contract_start_field, "SFSYNC_CONTRACT_START_FIELD"),
        (settings.contract_end_field, "SFSYNC_CONTRACT_END_FIELD"),
        (settings.contract_term_field, "SFSYNC_CONTRACT_TERM_FIELD"),
        (settings.sf_writeback_field, "SFSYNC_SF_WRITEBACK_FIELD"),
    ):
        if name:
            fields[name] = setting
    # Selected only in a multi-currency org (detected, or SFSYNC_SF_MULTI_CURRENCY forces it).
    fields["CurrencyIsoCode"] = "SFSYNC_SF_MULTI_CURRENCY"
    return fields
