"""task runtimes: a histogram per task and outcome, one row per bucket

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 20:30:00

A new table only: stores holding data are untouched, and their tasks start tallying from
their next run (`/metrics` shows no runtime for a task until then).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('task_runtimes',
    sa.Column('task', sa.String(length=200), nullable=False),
    sa.Column('outcome', sa.Enum('succeeded', 'dead_lettered', 'retried', 'failed',
                                 name='taskrunoutcome', native_enum=False, length=16),
              nullable=False),
    sa.Column('le', sa.String(length=16), nullable=False),
    sa.Column('count', sa.BigInteger(), nullable=False),
    sa.Column('sum_seconds', sa.Double(), nullable=False),
    sa.PrimaryKeyConstraint('task', 'outcome', 'le', name=op.f('pk_task_runtimes'))
    )


def downgrade() -> None:
    op.drop_table('task_runtimes')
