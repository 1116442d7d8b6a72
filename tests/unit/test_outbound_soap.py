"""Parsing Salesforce Outbound Messages (pure): what is accepted, what is refused and why."""

from __future__ import annotations

import pytest

from sfsync.api.salesforce.soap import InvalidMessage, acknowledgement, fault, parse_message
from tests.api.messages import outbound_message

OPP = "0065g000000000QAAQ"


def test_a_message_yields_its_organization_and_notifications() -> None:
    """OrganizationId, each notification id, the sObject type and its Id."""
    parsed = parse_message(outbound_message("00D5g000004ABCD", [("04l1", OPP), ("04l2", OPP)]))
    assert parsed.organization_id == "00D5g000004ABCD"
    assert [(n.notification_id, n.sobject_type, n.object_id) for n in parsed.notifications] == [
        ("04l1", "Opportunity", OPP),
        ("04l2", "Opportunity", OPP),
    ]


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"not xml", "well-formed"),
        (b"<a/>", "Envelope"),
        (b"<?xml version='1.0'?><!DOCTYPE a [<!ENTITY x 'y'>]><a>&x;</a>", "well-formed"),
        (outbound_message("00D5g000004ABCD", []), "no Notification"),
        (outbound_message("00D5g000004ABCD", [(f"n{i}", OPP) for i in range(101)]), "at most 100"),
        (outbound_message("00D5g000004ABCD", [("x" * 65, OPP)]), "at most 64"),
    ],
)
def test_malformed_or_hostile_messages_are_refused_with_a_reason(body: bytes, says: str) -> None:
    """Entities and DTDs are never expanded; limits are Salesforce's own."""
    with pytest.raises(InvalidMessage, match=says):
        parse_message(body)


def test_answers_are_soap_envelopes() -> None:
    """Ack true for Salesforce; a fault with the reason escaped."""
    assert b"<Ack>true</Ack>" in acknowledgement()
    assert b"&lt;b&gt;" in fault("<b>", client=True)
