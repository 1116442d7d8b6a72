"""Salesforce Outbound Messages: the SOAP `notifications` request in, `notificationsResponse` out.

Pure functions over bytes. XML is parsed with defusedxml: no DTDs, no entity expansion.

Errors::

    ValueError
     └── InvalidMessage    not an Outbound Message sfsync can act on (says why)
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.etree.ElementTree import Element, ParseError
from xml.sax.saxutils import escape

import defusedxml.ElementTree as SafeXml
from defusedxml import DefusedXmlException

__all__ = [
    "MAX_NOTIFICATIONS",
    "MAX_NOTIFICATION_ID",
    "OUTBOUND",
    "SOAP_ENV",
    "XSI_TYPE",
    "InvalidMessage",
    "Notification",
    "OutboundMessage",
    "acknowledgement",
    "fault",
    "parse_message",
]

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
OUTBOUND = "http://soap.sforce.com/2005/09/outbound"
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
#: Salesforce sends at most this many notifications in one message.
MAX_NOTIFICATIONS = 100
MAX_NOTIFICATION_ID = 64


class InvalidMessage(ValueError):
    """Not an Outbound Message sfsync can act on; the message says why."""


@dataclass(frozen=True)
class Notification:
    notification_id: str
    sobject_type: str
    object_id: str


@dataclass(frozen=True)
class OutboundMessage:
    organization_id: str
    notifications: tuple[Notification, ...]


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _child(element: Element, name: str) -> Element | None:
    for child in element:
        if _local(child.tag) == name:
            return child
    return None


def _text(element: Element, name: str, where: str) -> str:
    child = _child(element, name)
    value = (child.text or "").strip() if child is not None else ""
    if not value:
        raise InvalidMessage(f"{where} has no {name}")
    return value


def _notification(element: Element) -> Notification:
    notification_id = _text(element, "Id", "a Notification")
    if len(notification_id) > MAX_NOTIFICATION_ID:
        raise InvalidMessage(f"a notification Id has at most {MAX_NOTIFICATION_ID} characters")
    sobject = _child(element, "sObject")
    if sobject is None:
        raise InvalidMessage(f"notification {notification_id} has no sObject")
    sobject_type = _local(sobject.get(XSI_TYPE, "").rpartition(":")[2]) or "unknown"
    return Notification(notification_id, sobject_type, _text(sobject, "Id", "an sObject"))


def parse_message(body: bytes) -> OutboundMessage:
    """The organization id and notifications of an Outbound Message, or `InvalidMessage`."""
    try:
        root = SafeXml.fromstring(body, forbid_dtd=True)
    except (ParseError, DefusedXmlException) as exc:
        raise InvalidMessage(f"not a well-formed SOAP message: {exc}") from None
    if root.tag != f"{{{SOAP_ENV}}}Envelope":
        raise InvalidMessage("not a SOAP 1.1 Envelope")
    soap_body = root.find(f"{{{SOAP_ENV}}}Body")
    notifications = (
        soap_body.find(f"{{{OUTBOUND}}}notifications") if soap_body is not None else None
    )
    if notifications is None:
        raise InvalidMessage(f"the SOAP Body has no notifications element ({OUTBOUND})")
    items = [c for c in notifications if _local(c.tag) == "Notification"]
    if not items:
        raise InvalidMessage("the message carries no Notification")
    if len(items) > MAX_NOTIFICATIONS:
        raise InvalidMessage(
            f"{len(items)} notifications; an Outbound Message carries at most {MAX_NOTIFICATIONS}"
        )
    organization_id = _text(notifications, "OrganizationId", "the message")
    return OutboundMessage(organization_id, tuple(_notification(i) for i in items))


def _envelope(inner: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{SOAP_ENV}"><soapenv:Body>{inner}'
        "</soapenv:Body></soapenv:Envelope>"
    ).encode()


def acknowledgement() -> bytes:
    """`notificationsResponse` with `Ack` true: Salesforce stops redelivering."""
    return _envelope(
        f'<notificationsResponse xmlns="{OUTBOUND}"><Ack>true</Ack></notificationsResponse>'
    )


def fault(message: str, *, client: bool) -> bytes:
    """A SOAP fault; Salesforce redelivers the message later."""
    code = "soapenv:Client" if client else "soapenv:Server"
    return _envelope(
        f"<soapenv:Fault><faultcode>{code}</faultcode>"
        f"<faultstring>{escape(message)}</faultstring></soapenv:Fault>"
    )
