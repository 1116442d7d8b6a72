"""`sfsync.toml`: the mapping in a file, under the environment; errors name the line and key."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from sfsync.cli import main
from sfsync.config import ConfigError, load_settings
from sfsync.config.mapping_schema import FieldCopy, UsageMetric

FULL = """\
# the whole mapping
[aliases]
fields = ["Ingest_Alias__c", "Website"]
include_account_id = false
include_suborgs = false

[contract]
start_field = "Contract_Start_Date__c"
end_field = "End_Date__c"
term_field = "Contract_Term_Months__c"

[opportunities]
filter = "Type != 'Renewal'"

[currency]
multi_currency = false
default = "EUR"

[writeback]
field = "Billing_Customer_Id__c"

[[copy]]
from = "Account.Industry"
to = "customer.industry"

[[copy]]
from = "Opportunity.Type"
to = "contract.deal_type"

[products]
type_by = "product_code"

[products.codes]
API-CALLS = "usage"
PLATFORM = "subscription"

[products.metrics.API-CALLS]
event_type = "api_call"
aggregate = "sum"
property = "calls"
"""


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A current folder of its own, and a data folder with no file in it."""
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    monkeypatch.setenv("SFSYNC_DATA_DIR", str(tmp_path / "data"))
    return here


def test_every_mapping_key_reaches_the_settings(folder: Path) -> None:
    """Each key of `sfsync.toml` in the current folder sets its setting."""
    (folder / "sfsync.toml").write_text(FULL)
    s = load_settings()
    assert s.config == folder / "sfsync.toml"
    assert s.sf_alias_fields == ["Ingest_Alias__c", "Website"]
    assert (s.alias_include_account_id, s.alias_include_suborgs) == (False, False)
    assert (s.contract_start_field, s.contract_end_field, s.contract_term_field) == (
        "Contract_Start_Date__c",
        "End_Date__c",
        "Contract_Term_Months__c",
    )
    assert s.sf_opportunity_filter == "Type != 'Renewal'"
    assert (s.sf_multi_currency, s.default_currency) == (False, "EUR")
    assert s.sf_writeback_field == "Billing_Customer_Id__c"
    assert s.field_copies == [
        FieldCopy(**{"from": "Account.Industry", "to": "customer.industry"}),
        FieldCopy(**{"from": "Opportunity.Type", "to": "contract.deal_type"}),
    ]
    assert s.products.type_by == "product_code"
    assert s.products.codes == {"API-CALLS": "usage", "PLATFORM": "subscription"}
    assert s.products.metrics == {
        "API-CALLS": UsageMetric(event_type="api_call", aggregate="sum", property="calls")
    }


def test_environment_overrides_the_file(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A variable wins over the file's key; the file's other keys still apply."""
    (folder / "sfsync.toml").write_text(FULL)
    monkeypatch.setenv("SFSYNC_DEFAULT_CURRENCY", "GBP")
    monkeypatch.setenv("SFSYNC_SF_ALIAS_FIELDS", "Tenant__c")
    s = load_settings()
    assert (s.default_currency, s.sf_alias_fields) == ("GBP", ["Tenant__c"])
    assert s.contract_end_field == "End_Date__c"


def test_file_is_found_by_sfsync_config_then_the_data_folder(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SFSYNC_CONFIG names the file; without one in the current folder, the data folder's."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "sfsync.toml").write_text('[contract]\nend_field = "In_Data__c"\n')
    assert load_settings().contract_end_field == "In_Data__c"
    elsewhere = tmp_path / "mapping.toml"
    elsewhere.write_text('[contract]\nend_field = "Named__c"\n')
    monkeypatch.setenv("SFSYNC_CONFIG", str(elsewhere))
    assert load_settings().contract_end_field == "Named__c"
    monkeypatch.setenv("SFSYNC_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigError, match=r"SFSYNC_CONFIG: no such file"):
        load_settings()


@pytest.mark.parametrize(
    ("text", "line", "needle"),
    [
        ('[contract]\nstat_field = "X"\n', 2, "contract.stat_field: unknown key"),
        ('[contrat]\nstart_field = "X"\n', 1, "contrat: unknown key"),
        ('[currency]\n\ndefault = "usd"\n', 3, "currency.default: must be an ISO 4217 code"),
        ("[aliases]\ninclude_suborgs = 3\n", 2, "aliases.include_suborgs: "),
        ('[opportunities]\nfilter = "WHERE IsWon = true"\n', 2, "opportunities.filter: "),
        ('[[copy]]\nfrom = "Contact.Email"\nto = "customer.email"\n', 2, "copy[0].from: must be"),
        ('[[copy]]\nfrom = "Account.Id"\nto = "customer.sfdc_account_id"\n', 3, "copy[0].to"),
        ('[[copy]]\nfrom = "Opportunity.Type"\nto = "customer.t"\n', 1, "copy[0]: an Opp"),
        ('[products]\ntype_by = "sku"\n', 2, "products.type_by: "),
        ('[products]\ntype_by = "product_field"\n', 1, "products: type_by = product_field"),
        ('[products.codes]\nX = "gadget"\n', 2, "products.codes.X: "),
        ("[contract]\nstart_field = \n", 2, "not valid TOML"),
    ],
)
def test_a_bad_key_or_value_is_one_line_naming_the_line_and_key(
    folder: Path, text: str, line: int, needle: str
) -> None:
    """Unknown keys, bad values and bad TOML: `sfsync.toml:<line>: <key>: why`, one line."""
    (folder / "sfsync.toml").write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{folder / 'sfsync.toml'}:{line}: "), message
    assert needle in message


def test_a_command_with_a_bad_mapping_file_exits_2_naming_it(folder: Path) -> None:
    """Any command stops with the file's one-line error (exit 2), never a traceback."""
    (folder / "sfsync.toml").write_text('[writeback]\nfeild = "X"\n')
    result = CliRunner().invoke(main, ["customers", "list"])
    assert result.exit_code == 2
    assert "sfsync.toml:2: writeback.feild: unknown key" in result.stderr
    assert "Traceback" not in result.stderr
