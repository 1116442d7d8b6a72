"""The mapping checked against the org: every Salesforce field it names exists and is
visible to the integration user (and the writeback field editable), by the org's describe.

`validate_mapping_against_org` is what `sync run --inline` and `sync run --dry-run` call
once at start-up (`sfsync check` calls `check_mapping_against_org`, reusing its describes):
a describe per object the mapping names (Account, Opportunity; Product2 when the product
mapping reads a Product2 field), then one line per problem naming where the name was set —
``sfsync.toml:<line>: <key>`` when it came from the mapping file, the ``SFSYNC_`` variable
otherwise — and the field. Deciding is pure
(`mapping_problems` over `FieldUse`s and the adapter's `ObjectInfo` describes).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sfsync.config import Settings
from sfsync.config.mapping_file import MappingFile, MappingFileError, load_mapping_file
from sfsync.sync.salesforce import ObjectInfo, SalesforceClient, describe

__all__ = [
    "FieldUse",
    "MappingProblem",
    "check_mapping_against_org",
    "field_uses",
    "mapping_problems",
    "validate_mapping_against_org",
]


@dataclass(frozen=True)
class FieldUse:
    """One Salesforce name the mapping reads (or writes, `editable`)."""

    #: The `Settings` field that holds it, and the mapping file's key for it.
    setting: str
    file_key: str
    sobject: str
    #: A field of `sobject`, or a relationship path (``Owner.Email``) starting on it.
    name: str
    editable: bool = False


@dataclass(frozen=True)
class MappingProblem:
    """One name the org does not have as the mapping needs it, and the line saying so."""

    use: FieldUse
    line: str


def field_uses(settings: Settings) -> list[FieldUse]:
    """Every Salesforce name the settings' mapping uses, with where it is set."""
    uses = [
        FieldUse("sf_alias_fields", "aliases.fields", "Account", name)
        for name in settings.sf_alias_fields
    ]
    for setting, key in (
        ("contract_start_field", "contract.start_field"),
        ("contract_end_field", "contract.end_field"),
        ("contract_term_field", "contract.term_field"),
    ):
        value = getattr(settings, setting)
        if value:
            uses.append(FieldUse(setting, key, "Opportunity", value))
    if settings.sf_writeback_field:
        uses.append(
            FieldUse(
                "sf_writeback_field",
                "writeback.field",
                "Account",
                settings.sf_writeback_field,
                editable=True,
            )
        )
    for n, copy in enumerate(settings.field_copies):
        uses.append(FieldUse("field_copies", f"copy[{n}].from", copy.sobject, copy.field))
    products = settings.products
    if products.type_by == "product_field" and products.type_field:
        uses.append(FieldUse("products", "products.type_field", "Product2", products.type_field))
    return uses


def mapping_problems(
    uses: Sequence[FieldUse],
    objects: Mapping[str, ObjectInfo | None],
    where: Callable[[FieldUse], str],
) -> list[MappingProblem]:
    """One problem per name the org does not have as the mapping needs it (pure)."""
    problems: list[MappingProblem] = []
    for use in uses:
        described = objects.get(use.sobject)
        if described is None:
            line = (
                f"the integration user cannot read {use.sobject} "
                "(give it read access to the object)"
            )
            problems.append(MappingProblem(use, f"{where(use)}: {line}"))
            continue
        head, dot, _ = use.name.partition(".")
        if dot:
            # A describe naming no relationship at all cannot say a path is wrong.
            has_relationships = any(f.relationship for f in described.fields.values())
            if has_relationships and described.relationship(head) is None:
                line = f"{use.sobject} has no relationship {head} (in {use.name})"
                problems.append(MappingProblem(use, f"{where(use)}: {line}"))
            continue
        found = described.field(use.name)
        if found is None:
            line = f"{use.sobject} has no field {use.name} visible to the integration user"
            problems.append(MappingProblem(use, f"{where(use)}: {line}"))
        elif use.editable and not found.updateable:
            line = (
                f"{use.sobject}.{use.name} is not editable by the integration user "
                "(give it edit access to the field)"
            )
            problems.append(MappingProblem(use, f"{where(use)}: {line}"))
    return problems


def _locator(settings: Settings) -> Callable[[FieldUse], str]:
    """Where a use was set: the file's line when the file set the value in force, else the
    variable (the environment overrides the file)."""
    mapping: MappingFile | None = None
    if settings.config is not None:
        try:
            mapping = load_mapping_file(settings.config)
        except MappingFileError:  # read once already; changed since: name the variable
            mapping = None
    from_file = mapping.settings_values() if mapping is not None else {}

    def where(use: FieldUse) -> str:
        in_force = getattr(settings, use.setting)
        if mapping is not None and _same(from_file.get(use.setting), in_force):
            return mapping.where(use.file_key)
        return f"SFSYNC_{use.setting.upper()}"

    return where


def _same(in_file: Any, in_force: Any) -> bool:
    if in_file is None:
        return False
    if isinstance(in_force, list):
        return list(in_file) == in_force
    return bool(in_file == in_force)


def check_mapping_against_org(
    client: SalesforceClient,
    settings: Settings,
    described: Mapping[str, ObjectInfo | None] | None = None,
) -> list[MappingProblem]:
    """The mapping's problems in this org; `described` are describes already read (`sfsync
    check` has Account's and Opportunity's), the other objects are described here."""
    uses = field_uses(settings)
    known = described or {}
    objects = {
        name: known[name] if name in known else describe(client, name)
        for name in sorted({u.sobject for u in uses})
    }
    return mapping_problems(uses, objects, _locator(settings))


def validate_mapping_against_org(client: SalesforceClient, settings: Settings) -> list[str]:
    """The mapping's problems in this org, one line each (empty: the mapping fits)."""
    return [problem.line for problem in check_mapping_against_org(client, settings)]
