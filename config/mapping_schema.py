"""The mapping's schema: each section of `sfsync.toml` as a strict model (unknown keys and
bad values are errors), and the values `Settings` keeps (field copies, product mapping).

Errors: the models raise pydantic's `ValidationError`; `config.mapping_file` turns its
first problem into one line naming the file, the line and the key.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sfsync.config.values import currency_code

__all__ = [
    "FieldCopy",
    "MappingSchema",
    "ProductMapping",
    "ProductType",
    "UsageMetric",
    "soql_condition",
]

ProductType = Literal["subscription", "fixed", "usage", "commit"]
#: Where a field copy reads (the opportunity, or its account) and writes (the entity).
_SOURCE = re.compile(r"(Account|Opportunity)\.([A-Za-z][A-Za-z0-9_]*)")
_TARGET = re.compile(r"(customer|contract)\.([A-Za-z0-9_][A-Za-z0-9_.-]{0,127})")
#: The keys sfsync owns: a copy may not overwrite them.
_RESERVED = {"customer.sfdc_account_id", "contract.sfdc_opportunity_id"}


def soql_condition(value: str | None) -> str | None:
    """An opportunity filter as stored: stripped, None when empty, never a leading keyword."""
    condition = (value or "").strip()
    if not condition:
        return None
    if re.match(r"(?i)(where|and|or)\b", condition):
        raise ValueError(
            "give the condition only, without a leading WHERE/AND/OR, e.g. Type != 'Renewal'"
        )
    return condition


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class FieldCopy(_Strict):
    """A Salesforce field copied into a custom field: ``Account.X`` into ``customer.k``, or
    ``Opportunity.X`` (or ``Account.X``) into ``contract.k``."""

    source: str = Field(alias="from")
    target: str = Field(alias="to")

    @field_validator("source")
    @classmethod
    def _source(cls, value: str) -> str:
        if not _SOURCE.fullmatch(value):
            raise ValueError(
                "must be Account.<Field> or Opportunity.<Field>, e.g. Account.Industry"
            )
        return value

    @field_validator("target")
    @classmethod
    def _target(cls, value: str) -> str:
        if not _TARGET.fullmatch(value):
            raise ValueError("must be customer.<key> or contract.<key>, e.g. customer.industry")
        if value in _RESERVED:
            raise ValueError(f"{value} is sfsync's own key; choose another")
        return value

    @model_validator(mode="after")
    def _pair(self) -> FieldCopy:
        if self.sobject == "Opportunity" and self.entity == "customer":
            raise ValueError(
                "an Opportunity field goes into a contract field (a customer has many deals)"
            )
        return self

    @property
    def sobject(self) -> str:
        return self.source.partition(".")[0]

    @property
    def field(self) -> str:
        return self.source.partition(".")[2]

    @property
    def path(self) -> str:
        """The field as the opportunity query reads it (an Account field through the deal's
        account)."""
        return f"Account.{self.field}" if self.sobject == "Account" else self.field

    @property
    def entity(self) -> str:
        return self.target.partition(".")[0]

    @property
    def key(self) -> str:
        return self.target.partition(".")[2]


class UsageMetric(_Strict):
    """The billable metric of a usage product: its events, and how they aggregate."""

    event_type: str = Field(min_length=1, max_length=128)
    aggregate: Literal["count", "sum", "max", "unique"] = "count"
    #: The event property summed, maximised or counted distinct (not for `count`).
    property: str | None = None

    @model_validator(mode="after")
    def _property(self) -> UsageMetric:
        if (self.aggregate == "count") != (self.property is None):
            raise ValueError(
                "give `property` with aggregate sum, max or unique, and not with count"
            )
        return self


class ProductMapping(_Strict):
    """How a line's product gets its type (and a usage product its metric)."""

    #: charge_type: CPQ's SBQQ__ChargeType__c (Recurring → subscription, One-Time → fixed,
    #: Usage → usage); product_field: a Product2 field, through `type_values`;
    #: product_code: `codes`, ProductCode → type.
    type_by: Literal["charge_type", "product_field", "product_code"] = "charge_type"
    type_field: str | None = None
    type_values: dict[str, ProductType] = {}
    codes: dict[str, ProductType] = {}
    #: ProductCode of a usage product → its billable metric.
    metrics: dict[str, UsageMetric] = {}

    @model_validator(mode="after")
    def _consistent(self) -> ProductMapping:
        if self.type_by == "product_field" and not (self.type_field and self.type_values):
            raise ValueError("type_by = product_field needs type_field and [products.type_values]")
        if self.type_by != "product_field" and (self.type_field or self.type_values):
            raise ValueError("type_field and type_values go with type_by = product_field")
        if self.type_by == "product_code" and not self.codes:
            raise ValueError("type_by = product_code needs [products.codes]")
        return self


class _Aliases(_Strict):
    fields: list[str] | None = None
    include_account_id: bool | None = None
    include_suborgs: bool | None = None


class _Contract(_Strict):
    start_field: str | None = None
    end_field: str | None = None
    term_field: str | None = None


class _Opportunities(_Strict):
    filter: str | None = None

    @field_validator("filter")
    @classmethod
    def _filter(cls, value: str | None) -> str | None:
        return soql_condition(value)


class _Currency(_Strict):
    multi_currency: bool | None = None
    default: str | None = None

    @field_validator("default")
    @classmethod
    def _code(cls, value: str | None) -> str | None:
        return currency_code(value)


class _Writeback(_Strict):
    field: str | None = None


class MappingSchema(_Strict):
    """The whole file."""

    aliases: _Aliases = _Aliases()
    contract: _Contract = _Contract()
    opportunities: _Opportunities = _Opportunities()
    currency: _Currency = _Currency()
    writeback: _Writeback = _Writeback()
    copy_: list[FieldCopy] = Field(default_factory=list, alias="copy")
    products: ProductMapping | None = None
