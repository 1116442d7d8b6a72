"""usage events: attribution without a foreign key to customers

Revision ID: 0009
Revises: 0004
Create Date: 2026-12-01 18:10:00

`usage_events.customer_id` loses its foreign key. The key's per-row check (a look-up and a
share lock on the customer, for every event inserted or re-attributed) cost about 40% of
PostgreSQL's time per ingested batch (measured with EXPLAIN ANALYZE on 1,000-event batches,
see the README's usage performance section), and guarded nothing: sfsync never deletes a
customer (archiving keeps the row, a merge archives the absorbed one), and an event is only
ever attributed to a customer found by a join in the same statement. Existing events keep
their attribution; on SQLite the table is rebuilt (a copy of every stored event).
"""

from __future__ import annotations

from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

FK = 'fk_usage_events_customer_id_customers'


def upgrade() -> None:
    with op.batch_alter_table('usage_events', schema=None) as batch_op:
        batch_op.drop_constraint(FK, type_='foreignkey')


def downgrade() -> None:
    # Events attributed to a customer that no longer exists are detached first, or the
    # key could not be created.
    op.execute(
        "UPDATE usage_events SET customer_id = NULL WHERE customer_id IS NOT NULL AND NOT EXISTS "
        "(SELECT 1 FROM customers WHERE customers.id = usage_events.customer_id)"
    )
    with op.batch_alter_table('usage_events', schema=None) as batch_op:
        batch_op.create_foreign_key(FK, 'customers', ['customer_id'], ['id'], ondelete='SET NULL')
