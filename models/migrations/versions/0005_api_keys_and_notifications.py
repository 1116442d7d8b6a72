"""api keys and outbound message notifications

Revision ID: 0005
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from sfsync.models.types import UTCDateTime


revision = '0005'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('api_keys',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('key_id', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('scope', sa.Enum('ingest', 'read', 'write', 'admin', name='apiscope', native_enum=False, length=16), nullable=False),
    sa.Column('secret_sha256', sa.String(length=64), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('revoked_at', UTCDateTime(), nullable=True),
    sa.CheckConstraint('length(name) BETWEEN 1 AND 128', name=op.f('ck_api_keys_name_length')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_keys')),
    sa.UniqueConstraint('key_id', name=op.f('uq_api_keys_key_id'))
    )
    op.create_table('outbound_notifications',
    sa.Column('notification_id', sa.String(length=64), nullable=False),
    sa.Column('object_id', sa.String(length=18), nullable=False),
    sa.Column('received_at', UTCDateTime(), nullable=False),
    sa.Column('enqueued_at', UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('notification_id', name=op.f('pk_outbound_notifications'))
    )


def downgrade() -> None:
    op.drop_table('outbound_notifications')
    op.drop_table('api_keys')
