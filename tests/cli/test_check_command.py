"""`sfsync check` against the sandbox org: one screen (or JSON), problems named, exit codes."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from sfsync.cli import main
from sfsync.sandbox import SandboxOrg
from sfsync.sync.salesforce import QUERY_BATCH_SIZE
from tests.worker.conftest import Launch

ALIAS = "Ingest_Alias__c"
WRITEBACK = "Billing_Customer_Id__c"


@pytest.fixture(scope="module")
def shared_org() -> Iterator[SandboxOrg]:
    """A multi-currency org for the module; each test gets its permissions back."""
    with SandboxOrg(seed=5, opportunities=120) as org:
        yield org


@pytest.fixture
def org(shared_org: SandboxOrg) -> Iterator[SandboxOrg]:
    yield shared_org
    shared_org.reset_field_access()


def org_env(org: SandboxOrg, data: Path, **extra: str) -> dict[str, str]:
    """Client-credentials settings for `org`, an alias and a writeback field, the embedded
    broker in `data`."""
    return {
        "SFSYNC_DATA_DIR": str(data),
        "SFSYNC_SF_INSTANCE_URL": org.instance_url,
        "SFSYNC_SF_LOGIN_URL": org.login_url,
        "SFSYNC_SF_CONSUMER_KEY": org.consumer_key,
        "SFSYNC_SF_CONSUMER_SECRET": org.consumer_secret,
        "SFSYNC_SF_ALIAS_FIELDS": ALIAS,
        "SFSYNC_SF_WRITEBACK_FIELD": WRITEBACK,
        **extra,
    }


def run_check(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(main, ["check", *args], env=env)


def check_json(env: dict[str, str]) -> tuple[int, dict[str, Any]]:
    result = run_check(env, "--json")
    return result.exit_code, json.loads(result.stdout)


def other_problems(doc: dict[str, Any]) -> list[str]:
    """The problems apart from the embedded broker's missing worker."""
    return [p for p in doc["problems"] if not p.startswith("no worker is consuming")]


def live(org: SandboxOrg, sobject: str) -> list[dict[str, Any]]:
    return [r.values for r in org.store.rows(sobject) if not r.deleted]


def test_check_reports_the_org_fields_and_first_sync_size(org: SandboxOrg, tmp_path: Path):
    """Login, org identity, allowance, every field readable, counts and calls from the org."""
    code, doc = check_json(org_env(org, tmp_path / "data"))
    organization = live(org, "Organization")[0]
    assert doc["login"] == {
        "mode": "client_credentials",
        "org_id": organization["Id"],
        "org_name": organization["Name"],
        "edition": organization["OrganizationType"],
    }
    used = org.counters()["api_calls_total"]
    assert doc["api"]["version"] == "59.0"
    assert doc["api"]["max"] == 1_000_000 and 0 < doc["api"]["used"] <= used
    assert doc["api"]["remaining"] == doc["api"]["max"] - doc["api"]["used"]
    assert doc["multi_currency"] == {"org": True, "override": None, "used": True}
    assert all(f["readable"] for f in doc["fields"])
    fields = {(f["object"], f["field"]) for f in doc["fields"]}
    assert {("Account", ALIAS), ("Opportunity", "CurrencyIsoCode"), ("Account", "Name")} <= fields
    writeback = [f for f in doc["fields"] if f["field"] == WRITEBACK]
    assert writeback == [
        {
            "object": "Account",
            "field": WRITEBACK,
            "readable": True,
            "editable": True,
            "setting": "SFSYNC_SF_WRITEBACK_FIELD",
        }
    ]
    won = sum(1 for o in live(org, "Opportunity") if o["IsWon"])
    accounts = len(live(org, "Account"))
    pages = math.ceil(won / QUERY_BATCH_SIZE) + math.ceil(accounts / QUERY_BATCH_SIZE)
    assert doc["first_sync"] == {
        "won_opportunities": won,
        "accounts": accounts,
        "batch_size": QUERY_BATCH_SIZE,
        "api_calls": pages,
    }
    assert other_problems(doc) == []
    assert code == 1  # the embedded broker has no worker: a sync would wait


def test_check_writes_nothing_to_salesforce_or_the_store(org: SandboxOrg, tmp_path: Path):
    """The org's records are as they were and no store is created."""
    before = org.store.dump()
    result = run_check(org_env(org, tmp_path / "data"))
    assert "Salesforce" in result.stdout and "First sync" in result.stdout
    assert org.store.dump() == before
    assert not (tmp_path / "data" / "sfsync.db").exists()


def test_a_hidden_alias_field_and_a_read_only_writeback_field_name_their_settings(
    org: SandboxOrg, tmp_path: Path
):
    """Field-level security revoked in the org: one line each, naming the setting; exit 1."""
    org.set_field_access("Account", ALIAS, "none")
    org.set_field_access("Account", WRITEBACK, "read")
    code, doc = check_json(org_env(org, tmp_path / "data"))
    problems = other_problems(doc)
    assert code == 1
    assert problems == [
        "SFSYNC_SF_ALIAS_FIELDS: Account has no field Ingest_Alias__c visible to the "
        "integration user",
        "SFSYNC_SF_WRITEBACK_FIELD: Account.Billing_Customer_Id__c is not editable by the "
        "integration user (give it edit access to the field)",
    ]
    alias = next(f for f in doc["fields"] if f["field"] == ALIAS)
    assert alias["readable"] is False


def test_a_hidden_standard_field_names_the_salesforce_permission(org: SandboxOrg, tmp_path: Path):
    """A field every sync reads, hidden: the line names the permission, not a setting."""
    org.set_field_access("Opportunity", "Amount", "none")
    result = run_check(org_env(org, tmp_path / "data"))
    assert result.exit_code == 1
    assert "Salesforce permission: give the integration user Read on Opportunity.Amount" in (
        result.stdout
    )


def test_a_single_currency_org_is_detected_and_needs_no_setting(tmp_path: Path):
    """No CurrencyIsoCode in the describe: reported single-currency, not a problem."""
    with SandboxOrg(seed=3, opportunities=20, multi_currency=False, currency="EUR") as single:
        code, doc = check_json(org_env(single, tmp_path / "data"))
        forced_code, forced = check_json(
            org_env(single, tmp_path / "data", SFSYNC_SF_MULTI_CURRENCY="true")
        )
    assert doc["multi_currency"] == {"org": False, "override": None, "used": False}
    assert not any(f["field"] == "CurrencyIsoCode" for f in doc["fields"])
    assert ("Organization", "DefaultCurrencyIsoCode") in {
        (f["object"], f["field"]) for f in doc["fields"]
    }
    assert other_problems(doc) == []
    assert forced["multi_currency"] == {"org": False, "override": True, "used": True}
    assert [p.split(":")[0] for p in other_problems(forced)] == ["SFSYNC_SF_MULTI_CURRENCY"]
    assert code == forced_code == 1


def test_bad_credentials_are_one_problem_line(org: SandboxOrg, tmp_path: Path):
    """A login Salesforce refuses is a problem naming the settings (exit 1)."""
    env = org_env(org, tmp_path / "data", SFSYNC_SF_CONSUMER_SECRET="wrong")
    code, doc = check_json(env)
    assert code == 1
    assert doc["login"]["mode"] == "client_credentials" and "error" in doc["login"]
    assert "wrong" not in json.dumps(doc)
    assert any("SFSYNC_SF_CONSUMER" in p for p in other_problems(doc))


def test_an_incomplete_login_is_a_config_error(tmp_path: Path):
    """Settings that choose no login mode: exit 2 with one line, as every command."""
    result = run_check({"SFSYNC_DATA_DIR": str(tmp_path), "SFSYNC_SF_USERNAME": "x@y.z"})
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ")


def test_a_broker_that_does_not_answer_names_sfsync_broker_url(org: SandboxOrg, tmp_path: Path):
    """An unreachable broker is one problem line naming SFSYNC_BROKER_URL."""
    env = org_env(org, tmp_path / "data", SFSYNC_BROKER_URL="redis://127.0.0.1:1/0")
    code, doc = check_json(env)
    assert code == 1
    assert doc["broker"]["answers"] is False
    assert [p.split(":")[0] for p in doc["problems"]] == ["SFSYNC_BROKER_URL"]


def test_check_exits_0_when_a_worker_consumes_every_queue(
    org: SandboxOrg, launch: Launch, tmp_path: Path
):
    """Everything ready, a real worker on Redis: no problem and exit 0."""
    procs = launch(org)
    procs.worker()
    env = org_env(org, tmp_path / "data", SFSYNC_BROKER_URL=procs.env["SFSYNC_BROKER_URL"])

    def ready() -> Result | None:
        result = run_check(env)
        return result if result.exit_code == 0 else None

    result = procs.wait_for(ready, what="check to find a worker on every queue")
    assert "ready: a sync would run" in result.stdout
    assert "celery@" in result.stdout


def test_an_api_version_the_org_does_not_serve_names_sfsync_sf_api_version(
    org: SandboxOrg, tmp_path: Path
):
    """An unsupported version is one line naming the setting, not a list of missing grants."""
    code, doc = check_json(org_env(org, tmp_path / "data", SFSYNC_SF_API_VERSION="99.0"))
    assert code == 1
    assert other_problems(doc) == [
        "Salesforce: SFSYNC_SF_API_VERSION: the org does not serve REST API version 99.0; "
        "set a version it lists at /services/data"
    ]


def test_a_mapping_file_field_the_org_lacks_names_the_file_line_and_key(
    org: SandboxOrg, tmp_path: Path
):
    """A contract field the org's Opportunity does not have, set in the mapping file: one
    line naming the file, its line and the key (not the variable); exit 1."""
    mapping = tmp_path / "sfsync.toml"
    mapping.write_text(
        '[contract]\nstart_field = "Contract_Start_Date__c"\nend_field = "Ends_On__c"\n'
    )
    env = org_env(org, tmp_path / "data", SFSYNC_CONFIG=str(mapping))
    code, doc = check_json(env)
    assert code == 1
    assert other_problems(doc) == [
        f"{mapping}:3: contract.end_field: Opportunity has no field Ends_On__c visible to the "
        "integration user"
    ]
    result = run_check(env)
    assert f"{mapping}:3: contract.end_field: Opportunity has no field Ends_On__c" in result.stdout


def test_check_says_where_the_data_folder_is_and_creates_no_store(org: SandboxOrg, tmp_path: Path):
    """The data folder, what chose it and whether its store exists, in JSON and text; no
    note about creating a store."""
    data = tmp_path / "data"
    _, doc = check_json(org_env(org, data))
    assert doc["data_folder"] == {
        "path": str(data.resolve()),
        "chosen_by": "SFSYNC_DATA_DIR / --data-dir",
        "store": str(data.resolve() / "sfsync.db"),
        "store_exists": False,
    }
    result = run_check(org_env(org, data))
    assert f"Data folder  {data.resolve()} (chosen by: SFSYNC_DATA_DIR" in result.stdout
    assert "creating a new, empty store" not in result.stderr
