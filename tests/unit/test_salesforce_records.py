"""Reading REST records (`sync.salesforce.records`): field paths and dead-letter payloads."""

from __future__ import annotations

from sfsync.sync.salesforce import record_value, strip_attributes

RECORD = {
    "attributes": {"type": "Opportunity", "url": "/services/data/v59.0/sobjects/Opportunity/1"},
    "Id": "006000000000001AAA",
    "Account": {
        "attributes": {"type": "Account"},
        "Name": "Acme",
        "Parent": {"attributes": {"type": "Account"}, "Name": "Acme Group"},
        "Owner": None,
    },
}


def test_record_value_follows_a_dotted_path_and_is_none_off_it() -> None:
    """A relationship path reads nested records; a missing or null step gives None."""
    assert record_value(RECORD, "Account.Parent.Name") == "Acme Group"
    assert record_value(RECORD, "Id") == "006000000000001AAA"
    assert record_value(RECORD, "Account.Owner.Email") is None
    assert record_value(RECORD, "Account.Name.First") is None
    assert record_value(RECORD, "Amount") is None


def test_strip_attributes_drops_the_rest_noise_at_every_level() -> None:
    """The payload keeps every field and nested record, without any `attributes`."""
    assert strip_attributes(RECORD) == {
        "Id": "006000000000001AAA",
        "Account": {"Name": "Acme", "Parent": {"Name": "Acme Group"}, "Owner": None},
    }
    assert "attributes" in RECORD  # the record itself is left as it was
