"""contract lifecycle: who ended a contract, the deal's SystemModstamp, and revisions

Revision ID: 0006
Revises: 0001
Create Date: 2026-12-01 17:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from sfsync.models.types import UTCDateTime

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None

_RUN_COUNTERS = (
    "contracts_ended",
    "contracts_archived",
    "drift_missing",
    "drift_extra",
    "drift_changed",
    "window_shrinks",
    "window_seconds",
)


def upgrade() -> None:
    with op.batch_alter_table("contracts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "end_source",
                sa.Enum("sync", "operator", name="endsource", native_enum=False, length=16),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("sf_modstamp", UTCDateTime(), nullable=True))
    with op.batch_alter_table("sync_runs", schema=None) as batch_op:
        for name in _RUN_COUNTERS:
            batch_op.add_column(sa.Column(name, sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("sync_runs", schema=None) as batch_op:
        # The default only filled existing rows; the models give every new row its value.
        for name in _RUN_COUNTERS:
            batch_op.alter_column(name, server_default=None)
    op.create_table(
        "contract_revisions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("contract_id", sa.Uuid(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "created",
                "terms_edited",
                "moved",
                "ended",
                "archived",
                "reactivated",
                name="revisionkind",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=False),
        sa.Column("cause", sa.Text(), nullable=False),
        sa.Column("sf_modstamp", UTCDateTime(), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["contracts.id"],
            name=op.f("fk_contract_revisions_contract_id_contracts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contract_revisions")),
    )
    with op.batch_alter_table("contract_revisions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_contract_revisions_contract_id"), ["contract_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("sync_runs", schema=None) as batch_op:
        for name in reversed(_RUN_COUNTERS):
            batch_op.drop_column(name)
    with op.batch_alter_table("contract_revisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contract_revisions_contract_id"))
    op.drop_table("contract_revisions")
    with op.batch_alter_table("contracts", schema=None) as batch_op:
        batch_op.drop_column("sf_modstamp")
        batch_op.drop_column("end_source")
