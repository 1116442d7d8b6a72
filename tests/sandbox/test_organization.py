"""The Organization object and single-currency orgs, whose records have no CurrencyIsoCode."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from sfsync.sandbox import SandboxOrg
from tests.sandbox.conftest import client_for, error_code, sobject

ORGANIZATION = "SELECT Id, DefaultCurrencyIsoCode, IsMultiCurrencyOrg FROM Organization"


@pytest.fixture
def single() -> Iterator[SandboxOrg]:
    """A single-currency org in euros."""
    with SandboxOrg(seed=3, opportunities=30, multi_currency=False, currency="EUR") as org:
        yield org


def test_organization_reports_the_default_currency(sf: Salesforce, single: SandboxOrg):
    """SELECT DefaultCurrencyIsoCode FROM Organization: USD by default, the seed option else."""
    multi = sf.query(ORGANIZATION)["records"]
    assert len(multi) == 1 and multi[0]["Id"].startswith("00D")
    assert (multi[0]["DefaultCurrencyIsoCode"], multi[0]["IsMultiCurrencyOrg"]) == ("USD", True)
    one = client_for(single).query(ORGANIZATION)["records"][0]
    assert (one["DefaultCurrencyIsoCode"], one["IsMultiCurrencyOrg"]) == ("EUR", False)
    assert single.default_currency == "EUR"


def test_single_currency_records_have_no_currency_iso_code(single: SandboxOrg):
    """Selecting CurrencyIsoCode is INVALID_FIELD; records and writes do not know the field."""
    sf = client_for(single)
    with pytest.raises(SalesforceMalformedRequest) as selected:
        sf.query("SELECT Id, CurrencyIsoCode FROM Opportunity")
    assert error_code(selected.value) == "INVALID_FIELD"
    opportunity = sobject(sf, "Opportunity")
    some = sf.query("SELECT Id FROM Opportunity LIMIT 1")["records"][0]["Id"]
    assert "CurrencyIsoCode" not in opportunity.get(some)
    with pytest.raises(SalesforceMalformedRequest) as written:
        opportunity.update(some, {"CurrencyIsoCode": "USD"})
    assert error_code(written.value) == "INVALID_FIELD"


def test_multi_currency_records_keep_currency_iso_code(sf: Salesforce):
    """The default org is multi-currency: every seeded opportunity has a CurrencyIsoCode."""
    rows = list(sf.query_all_iter("SELECT CurrencyIsoCode FROM Opportunity"))
    assert rows and all(r["CurrencyIsoCode"] for r in rows)


def test_single_currency_seed_differs_only_by_the_missing_field():
    """The same seed gives the same opportunities in both modes, minus CurrencyIsoCode."""
    multi = SandboxOrg(seed=4, opportunities=50).store.dump()["objects"]["Opportunity"]
    one = SandboxOrg(seed=4, opportunities=50, multi_currency=False).store.dump()["objects"]
    assert [{k: v for k, v in r.items() if k != "CurrencyIsoCode"} for r in multi] == one[
        "Opportunity"
    ]


def test_a_saved_single_currency_org_loads_as_one(single: SandboxOrg, tmp_path: Path):
    """save() then load= keeps the org's currency mode and default currency."""
    path = tmp_path / "org.json"
    single.save(path)
    loaded = SandboxOrg(load=path)
    assert (loaded.multi_currency, loaded.default_currency) == (False, "EUR")
    assert loaded.store.dump()["objects"] == single.store.dump()["objects"]


def test_organization_cannot_be_inserted_or_deleted(sf: Salesforce):
    """The API reads the Organization; it refuses to create or delete one."""
    org_id = sf.query(ORGANIZATION)["records"][0]["Id"]
    organization = sobject(sf, "Organization")
    with pytest.raises(SalesforceMalformedRequest) as created:
        organization.create({})
    assert error_code(created.value) == "INVALID_TYPE_FOR_OPERATION"
    with pytest.raises(SalesforceMalformedRequest) as deleted:
        organization.delete(org_id)
    assert error_code(deleted.value) == "INVALID_TYPE_FOR_OPERATION"


def test_the_org_has_one_id_in_its_tokens_identity_and_organization_row(org: SandboxOrg):
    """A real org has one id: the Organization row's is the one its tokens and identity carry."""
    sf = client_for(org)
    row = sf.query("SELECT Id FROM Organization")["records"][0]["Id"]
    token = org.access_token
    assert token.split("!")[0] == row[:15]
    identity = requests.post(
        f"{org.instance_url}/services/oauth2/token",
        data={
            "grant_type": "password",
            "client_id": org.consumer_key,
            "client_secret": org.consumer_secret,
            "username": org.username,
            "password": org.password + org.security_token,
        },
        timeout=10,
    ).json()["id"]
    assert identity.split("/")[-2] == row
