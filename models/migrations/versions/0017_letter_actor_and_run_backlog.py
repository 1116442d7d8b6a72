"""dead letters name who last replayed or discarded them; runs note their backlog

Revision ID: 0017
Revises: 0010
Create Date: 2026-12-07 21:20:00

A nullable column only: letters written before it name no actor (`-` in `dlq show`), and
each replay or discard from now on records who did it (`cli:USER`, `console:KEY NAME`).
Runs gain `backlog_since`, set only while a run is going (a finished run clears it).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from sfsync.models.types import UTCDateTime

revision = "0017"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("dead_letters", schema=None) as batch_op:
        batch_op.add_column(sa.Column("actor", sa.String(length=255), nullable=True))
    with op.batch_alter_table("sync_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("backlog_since", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sync_runs", schema=None) as batch_op:
        batch_op.drop_column("backlog_since")
    with op.batch_alter_table("dead_letters", schema=None) as batch_op:
        batch_op.drop_column("actor")
