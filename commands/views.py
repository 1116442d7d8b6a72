"""Plain-data views of store rows, shared by JSON output and tables."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from sfsync.models.aliases.lookups import aliases_for, aliases_of, list_aliases
from sfsync.models.contracts.records import list_contracts
from sfsync.models.customers.fields import fields_for
from sfsync.models.tables import AliasMove, Contract, ContractRevision, Customer, IngestAlias
from sfsync.models.types import Entity

__all__ = [
    "alias_move_view",
    "alias_view",
    "contract_view",
    "contracts_view",
    "customer_view",
    "customers_view",
    "describe_source",
    "revision_view",
]


def contract_view(contract: Contract, fields: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "id": contract.id,
        "customer_id": contract.customer_id,
        "name": contract.name,
        "starting_at": contract.starting_at,
        "ending_before": contract.ending_before,
        "amount": contract.amount,
        "currency": contract.currency,
        "status": contract.status,
        "end_source": contract.end_source,
        "custom_fields": fields or {},
        "created_at": contract.created_at,
        "updated_at": contract.updated_at,
    }


def revision_view(revision: ContractRevision) -> dict[str, Any]:
    return {
        "id": revision.id,
        "contract_id": revision.contract_id,
        "kind": revision.kind,
        "before": revision.before,
        "after": revision.after,
        "cause": revision.cause,
        "source_version": revision.source_version,
        "run_id": revision.run_id,
        "at": revision.at,
    }


def contracts_view(session: Session, contracts: list[Contract]) -> list[dict[str, Any]]:
    fields = fields_for(session, Entity.CONTRACT, [c.id for c in contracts])
    return [contract_view(c, fields[c.id]) for c in contracts]


def alias_view(alias: IngestAlias) -> dict[str, Any]:
    """An alias with where it came from (a Salesforce account and field, or manual)."""
    return {
        "alias": alias.alias,
        "customer_id": alias.customer_id,
        "source": alias.source,
        "source_account_id": alias.source_account_id,
        "source_field": alias.source_field,
        "created_at": alias.created_at,
    }


def alias_move_view(move: AliasMove) -> dict[str, Any]:
    """One move of an alias: from and to which customer (to None: released), and why."""
    return {
        "alias": move.alias,
        "reason": move.reason,
        "from_customer_id": move.from_customer_id,
        "to_customer_id": move.to_customer_id,
        "source_account_id": move.source_account_id,
        "moved_at": move.moved_at,
    }


def describe_source(view: dict[str, Any]) -> str:
    """An `alias_view`'s source for tables: `salesforce 001… Field`, or `manual`."""
    if view["source_account_id"] is None:
        return str(view["source"])
    return f"{view['source']} {view['source_account_id']} {view['source_field'] or '(alias field)'}"


def customer_view(session: Session, customer: Customer, *, detail: bool = False) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": customer.id,
        "name": customer.name,
        "status": customer.status,
        "merged_into": customer.merged_into,
        "custom_fields": fields_for(session, Entity.CUSTOMER, [customer.id])[customer.id],
        "ingest_aliases": aliases_of(session, customer.id),
        "created_at": customer.created_at,
        "updated_at": customer.updated_at,
        "archived_at": customer.archived_at,
    }
    if detail:
        view["alias_sources"] = [alias_view(a) for a in list_aliases(session, customer.id)]
        view["contracts"] = contracts_view(session, list_contracts(session, customer.id))
    return view


def customers_view(session: Session, customers: list[Customer]) -> list[dict[str, Any]]:
    fields = fields_for(session, Entity.CUSTOMER, [c.id for c in customers])
    aliases = aliases_for(session, [c.id for c in customers])
    return [
        {
            "id": c.id,
            "name": c.name,
            "status": c.status,
            "custom_fields": fields[c.id],
            "ingest_aliases": aliases[c.id],
            "created_at": c.created_at,
        }
        for c in customers
    ]
