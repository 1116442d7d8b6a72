"""Outbound Messages as Salesforce sends them, for the tests."""

from __future__ import annotations

SESSION_SENTINEL = "00D5g000004ABCD!SESSIONsentinelDoNotLog"


def outbound_message(organization_id: str, notifications: list[tuple[str, str]]) -> bytes:
    """An Outbound Message as Salesforce sends it (outbound messaging WSDL, enterprise sObject)."""
    items = "".join(
        f"""
   <Notification>
    <Id>{nid}</Id>
    <sObject xsi:type="sf:Opportunity" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">
     <sf:Id>{oid}</sf:Id>
     <sf:IsWon>true</sf:IsWon>
    </sObject>
   </Notification>"""
        for nid, oid in notifications
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"
 xmlns:xsd="http://www.w3.org/2001/XMLSchema"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
 <soapenv:Body>
  <notifications xmlns="http://soap.sforce.com/2005/09/outbound">
   <OrganizationId>{organization_id}</OrganizationId>
   <ActionId>04k5g000000XYZAAA2</ActionId>
   <SessionId>{SESSION_SENTINEL}</SessionId>
   <EnterpriseUrl>https://acme.my.salesforce.com/services/Soap/c/59.0/00D5g000004ABCD</EnterpriseUrl>
   <PartnerUrl>https://acme.my.salesforce.com/services/Soap/u/59.0/00D5g000004ABCD</PartnerUrl>{items}
  </notifications>
 </soapenv:Body>
</soapenv:Envelope>""".encode()
