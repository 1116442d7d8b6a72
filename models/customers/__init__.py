"""Customers and their custom fields: creating, finding and listing customers; field keys and
values; merging a customer into another and archiving it (`retirement`).

This package's `__all__` is its surface; the set-based statements of page-at-a-time
provisioning (`bulk`), and the API's `archive` (which answers with the customer), are
imported from their modules.
"""

from sfsync.models.customers.fields import (
    INTERNAL_CUSTOMER_ID,
    KEY_FIELDS,
    SFDC_ACCOUNT_ID,
    SFDC_OPPORTUNITY_ID,
    delete_field,
    delete_values,
    field_value,
    fields_for,
    find_by_field,
    find_many_by_field,
    get_fields,
    list_keys,
    register_key,
    remove_key,
    set_fields,
    validate_value,
)
from sfsync.models.customers.pages import CustomerFilter, page_customers
from sfsync.models.customers.records import (
    attribute_own_id,
    count_customers,
    create_customer,
    find_customer,
    get_customer,
    iter_customers,
    list_customers,
    rename_customer,
    validate_name,
)
from sfsync.models.customers.retirement import (
    Archived,
    Merged,
    active_among,
    active_customer,
    archive_customer,
    lock_customers,
    merge_customers,
    merge_family,
    revive_customer,
    stranded_contracts,
    survivor_of,
    survivors,
)

__all__ = [
    "INTERNAL_CUSTOMER_ID",
    "KEY_FIELDS",
    "SFDC_ACCOUNT_ID",
    "SFDC_OPPORTUNITY_ID",
    "Archived",
    "CustomerFilter",
    "Merged",
    "active_among",
    "active_customer",
    "archive_customer",
    "attribute_own_id",
    "count_customers",
    "create_customer",
    "delete_field",
    "delete_values",
    "field_value",
    "fields_for",
    "find_by_field",
    "find_customer",
    "find_many_by_field",
    "get_customer",
    "get_fields",
    "iter_customers",
    "list_customers",
    "list_keys",
    "lock_customers",
    "merge_customers",
    "merge_family",
    "page_customers",
    "register_key",
    "remove_key",
    "rename_customer",
    "revive_customer",
    "set_fields",
    "stranded_contracts",
    "survivor_of",
    "survivors",
    "validate_name",
    "validate_value",
]
