"""The mapping checked against the org's describe: one line per name the org lacks."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sfsync.config import Settings
from sfsync.sync.mapping_check import validate_mapping_against_org
from sfsync.sync.salesforce import SalesforceClient

FITS = """\
[aliases]
fields = ["Ingest_Alias__c"]

[contract]
start_field = "Contract_Start_Date__c"
term_field = "Contract_Term_Months__c"

[writeback]
field = "Billing_Customer_Id__c"

[[copy]]
from = "Account.Industry"
to = "customer.industry"
"""

BROKEN = """\
[aliases]
fields = ["Ingest_Alias__c", "Tenant_Key__c"]

[contract]
end_field = "End_Date__c"

[writeback]
field = "MasterRecordId"

[[copy]]
from = "Opportunity.Type"
to = "contract.deal_type"

[[copy]]
from = "Account.Segment__c"
to = "customer.segment"
"""


@pytest.fixture
def with_file(sf_settings: Settings, tmp_path: Path) -> Callable[..., tuple[Settings, Path]]:
    """Settings for the org read with a mapping file of the given text (and overrides)."""

    def make(text: str, **overrides: Any) -> tuple[Settings, Path]:
        path = tmp_path / "sfsync.toml"
        path.write_text(text)
        values = {**sf_settings.model_dump(exclude_unset=True), **overrides}
        values.pop("sf_alias_fields", None)
        return Settings(_env_file=None, config=path, **values), path

    return make


def test_a_mapping_the_org_has_passes(
    with_file: Callable[..., tuple[Settings, Path]],
    make_client: Callable[[Settings], SalesforceClient],
) -> None:
    """Every name in the org, the writeback field editable: no problem."""
    settings, _ = with_file(FITS)
    assert validate_mapping_against_org(make_client(settings), settings) == []


def test_each_unknown_field_is_one_line_naming_the_line_key_and_field(
    with_file: Callable[..., tuple[Settings, Path]],
    make_client: Callable[[Settings], SalesforceClient],
) -> None:
    """Fields the org does not have, and a writeback field it will not let the user edit:
    each one line, `<file>:<line>: <key>: ...<field>...`."""
    settings, path = with_file(BROKEN)
    problems = validate_mapping_against_org(make_client(settings), settings)
    assert problems == [
        f"{path}:2: aliases.fields: Account has no field Tenant_Key__c visible to the "
        "integration user",
        f"{path}:5: contract.end_field: Opportunity has no field End_Date__c visible to the "
        "integration user",
        f"{path}:8: writeback.field: Account.MasterRecordId is not editable by the "
        "integration user (give it edit access to the field)",
        f"{path}:15: copy[1].from: Account has no field Segment__c visible to the integration user",
    ]


def test_a_name_from_the_environment_names_the_variable(
    with_file: Callable[..., tuple[Settings, Path]],
    make_client: Callable[[Settings], SalesforceClient],
) -> None:
    """A variable overriding the file is what the line names."""
    settings, _ = with_file(FITS, contract_end_field="Ends_On__c")
    problems = validate_mapping_against_org(make_client(settings), settings)
    assert problems == [
        "SFSYNC_CONTRACT_END_FIELD: Opportunity has no field Ends_On__c visible to the "
        "integration user"
    ]
