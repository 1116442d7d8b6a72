"""request keys: Idempotency-Key responses and uniqueness keys of created entities

Revision ID: 0011
Revises: 0013
Create Date: 2026-12-07 21:15:00

A new table only: existing rows are untouched.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from sfsync.models.types import UTCDateTime

revision = '0011'
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('request_keys',
    sa.Column('scope', sa.String(length=64), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=True),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('response', sa.JSON(), nullable=True),
    sa.Column('entity_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('scope', 'key', name=op.f('pk_request_keys'))
    )


def downgrade() -> None:
    op.drop_table('request_keys')
