"""contracts and their revisions name the source version they follow, not a Salesforce field

Revision ID: 0018
Revises: 0019
Create Date: 2026-12-08 00:40:00

Renames `sf_modstamp` to `source_version` in `contracts` and `contract_revisions`: the
store keeps the version of the source record a change came from (a Salesforce
SystemModstamp today), under a name that does not say which source. Values are kept.
"""

from __future__ import annotations

from alembic import op

revision = "0018"
down_revision = "0019"
branch_labels = None
depends_on = None

_TABLES = ("contracts", "contract_revisions")


def upgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table) as batch_op:
            batch_op.alter_column("sf_modstamp", new_column_name="source_version")


def downgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table) as batch_op:
            batch_op.alter_column("source_version", new_column_name="sf_modstamp")
