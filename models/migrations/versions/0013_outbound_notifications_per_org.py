"""outbound notifications keyed by org, notification id and object; indexed for pruning

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 21:20:00

Rows kept from before get an empty organization id: they match no new message, so a
redelivery of one of them is queued once more, which provisioning absorbs (it is
idempotent), and the retention prune removes them in due course.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbound_notifications', recreate='always') as batch_op:
        batch_op.add_column(
            sa.Column('organization_id', sa.String(length=18), nullable=False, server_default='')
        )
    with op.batch_alter_table('outbound_notifications', recreate='always') as batch_op:
        batch_op.alter_column('organization_id', server_default=None)
        batch_op.drop_constraint('pk_outbound_notifications', type_='primary')
        batch_op.create_primary_key(
            'pk_outbound_notifications', ['organization_id', 'notification_id', 'object_id']
        )
        batch_op.create_index('ix_outbound_notifications_received_at', ['received_at'])
        batch_op.create_index(
            'ix_outbound_notifications_organization_id_enqueued_at',
            ['organization_id', 'enqueued_at'],
        )


def downgrade() -> None:
    # Keep one row per notification id: the key of before cannot hold two.
    op.execute(
        "DELETE FROM outbound_notifications WHERE organization_id = '' AND notification_id IN "
        "(SELECT notification_id FROM outbound_notifications WHERE organization_id != '')"
    )
    with op.batch_alter_table('outbound_notifications', recreate='always') as batch_op:
        batch_op.drop_index('ix_outbound_notifications_organization_id_enqueued_at')
        batch_op.drop_index('ix_outbound_notifications_received_at')
        batch_op.drop_constraint('pk_outbound_notifications', type_='primary')
        batch_op.drop_column('organization_id')
        batch_op.create_primary_key('pk_outbound_notifications', ['notification_id'])
