"""Salesforce calling in: Outbound Messages and a provisioning webhook."""
