"""writebacks: next_attempt_at, so a row that failed for a passing reason backs off

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 17:25:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from sfsync.models.types import UTCDateTime

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('writebacks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('next_attempt_at', UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('writebacks', schema=None) as batch_op:
        batch_op.drop_column('next_attempt_at')
