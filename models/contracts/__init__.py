"""Contracts: their terms as a value (`terms`), the rules that plan a contract's changes as
its deal changes (`change_plans`, pure), the writes (`records`) and the revisions each
change leaves (`revisions`).

This package's `__all__` is its surface; the set-based statements of page-at-a-time
provisioning (`bulk`) are imported from their module.
"""

from sfsync.models.contracts.change_plans import plan_end, plan_terms, same_terms, started
from sfsync.models.contracts.records import (
    ContractOutcome,
    HeldDeal,
    any_contracts,
    apply_terms,
    billing_period,
    contracts_by_key,
    count_contracts,
    create_contract,
    end_contract,
    get_contract,
    iter_contracts,
    list_contracts,
    set_end_by_operator,
    update_contract,
    upsert_contract_by_field,
    validate_terms,
)
from sfsync.models.contracts.revisions import (
    SYNC,
    Change,
    RevisionRow,
    add_revision,
    history,
    insert_revisions,
    terms_of,
)
from sfsync.models.contracts.terms import ContractRow, ContractTerms, row_of

__all__ = [
    "SYNC",
    "Change",
    "ContractOutcome",
    "ContractRow",
    "ContractTerms",
    "HeldDeal",
    "RevisionRow",
    "add_revision",
    "any_contracts",
    "apply_terms",
    "billing_period",
    "contracts_by_key",
    "count_contracts",
    "create_contract",
    "end_contract",
    "get_contract",
    "history",
    "insert_revisions",
    "iter_contracts",
    "list_contracts",
    "plan_end",
    "plan_terms",
    "row_of",
    "same_terms",
    "set_end_by_operator",
    "started",
    "terms_of",
    "update_contract",
    "upsert_contract_by_field",
    "validate_terms",
]
