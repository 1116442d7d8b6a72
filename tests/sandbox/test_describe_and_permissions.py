"""Describe results and the integration user's field-level security, steered over HTTP."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceError

from sfsync.sandbox import SandboxOrg
from tests.sandbox.conftest import client_for, error_code, sobject


def _fields(sf: Salesforce, name: str) -> dict[str, dict[str, Any]]:
    described = sobject(sf, name).describe()
    return {f["name"]: f for f in described["fields"]}


def _set_access(org: SandboxOrg, obj: str, field: str, access: str) -> None:
    response = requests.post(
        f"{org.instance_url}/__sandbox__/permissions",
        json={"object": obj, "field": field, "access": access},
        timeout=10,
    )
    assert response.status_code == 204, response.text


def test_describe_has_salesforce_shapes(sf: Salesforce):
    """A describe names the object and gives each field its type, access and relationship."""
    described = sobject(sf, "Opportunity").describe()
    assert (described["name"], described["keyPrefix"], described["queryable"]) == (
        "Opportunity",
        "006",
        True,
    )
    fields = {f["name"]: f for f in described["fields"]}
    assert fields["Amount"]["type"] == "currency" and fields["Amount"]["updateable"] is True
    assert fields["IsWon"]["updateable"] is False
    assert fields["AccountId"]["referenceTo"] == ["Account"]
    assert fields["AccountId"]["relationshipName"] == "Account"
    assert fields["CurrencyIsoCode"]["type"] == "picklist"


def test_single_currency_org_describes_no_currency_iso_code():
    """A single-currency org's Opportunity describe has no CurrencyIsoCode field."""
    with SandboxOrg(seed=3, opportunities=5, multi_currency=False) as org:
        assert "CurrencyIsoCode" not in _fields(client_for(org), "Opportunity")
        assert "Amount" in _fields(client_for(org), "Opportunity")


def test_a_hidden_field_leaves_describe_and_queries_as_in_salesforce(
    org: SandboxOrg, sf: Salesforce
):
    """Field-level security revoked: absent from describe, INVALID_FIELD in SOQL, not in reads."""
    account = sf.query("SELECT Id FROM Account LIMIT 1")["records"][0]["Id"]
    _set_access(org, "Account", "Ingest_Alias__c", "none")
    assert "Ingest_Alias__c" not in _fields(sf, "Account")
    with pytest.raises(SalesforceError) as raised:
        sf.query("SELECT Id, Ingest_Alias__c FROM Account")
    assert error_code(raised.value) == "INVALID_FIELD"
    with pytest.raises(SalesforceError) as through:
        sf.query("SELECT Id, Account.Ingest_Alias__c FROM Opportunity")
    assert error_code(through.value) == "INVALID_FIELD"
    assert "Ingest_Alias__c" not in sobject(sf, "Account").get(account)
    _set_access(org, "Account", "Ingest_Alias__c", "edit")
    assert "Ingest_Alias__c" in _fields(sf, "Account")
    sf.query("SELECT Id, Ingest_Alias__c FROM Account")


def test_a_read_only_field_is_not_updateable_and_refuses_writes(org: SandboxOrg, sf: Salesforce):
    """Read-only access: describe says updateable false and a write is refused."""
    account = sf.query("SELECT Id FROM Account LIMIT 1")["records"][0]["Id"]
    _set_access(org, "Account", "Billing_Customer_Id__c", "read")
    assert _fields(sf, "Account")["Billing_Customer_Id__c"]["updateable"] is False
    with pytest.raises(SalesforceError) as raised:
        sobject(sf, "Account").update(account, {"Billing_Customer_Id__c": "x"})
    assert error_code(raised.value) == "INVALID_FIELD_FOR_INSERT_UPDATE"
    sf.query("SELECT Id, Billing_Customer_Id__c FROM Account")


def test_an_unknown_field_permission_is_refused(org: SandboxOrg):
    """Revoking a field the org lacks is a 400 saying so."""
    response = requests.post(
        f"{org.instance_url}/__sandbox__/permissions",
        json={"object": "Account", "field": "Nope__c", "access": "none"},
        timeout=10,
    )
    assert response.status_code == 400 and "Nope__c" in response.text


def test_the_organization_describes_its_edition(sf: Salesforce):
    """Organization has an OrganizationType (the edition), as Salesforce's does."""
    row = sf.query("SELECT Id, Name, OrganizationType FROM Organization")["records"][0]
    assert row["OrganizationType"] == "Enterprise Edition"


def test_describes_are_counted_apart_from_record_calls(org: SandboxOrg, sf: Salesforce):
    """A describe counts as `describe`, a record read or write as `sobjects`."""
    org.reset_counters()
    sobject(sf, "Account").describe()
    some = sf.query("SELECT Id FROM Account LIMIT 1")["records"][0]["Id"]
    sobject(sf, "Account").update(some, {"Name": "Renamed"})
    calls = org.counters()["calls"]
    assert (calls.get("describe"), calls.get("sobjects")) == (1, 1)
