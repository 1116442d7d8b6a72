"""one open dead letter per (source, reference)

Revision ID: 0003
Revises: 0001
Create Date: 2026-12-01 17:20:00

Open letters that already repeat a (source, reference) are merged first: the oldest keeps
the sum of their attempts and the newest error; the others are closed as `discarded` with a
reason naming the letter they were merged into (nothing is deleted).
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from sfsync.models.types import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_OPEN = sa.text("status = 'open'")


def _merge_duplicates() -> None:
    conn = op.get_bind()
    groups = conn.execute(
        sa.text(
            "SELECT source, reference FROM dead_letters "
            "WHERE status = 'open' AND reference IS NOT NULL "
            "GROUP BY source, reference HAVING COUNT(*) > 1"
        )
    ).all()
    now = datetime.now(UTC)
    for source, reference in groups:
        rows = conn.execute(
            sa.text(
                "SELECT id, attempts FROM dead_letters WHERE status = 'open' "
                "AND source = :source AND reference = :reference ORDER BY id"
            ),
            {"source": source, "reference": reference},
        ).all()
        keeper, newest = rows[0][0], rows[-1][0]
        conn.execute(
            sa.text(
                "UPDATE dead_letters SET attempts = :attempts, "
                "error_class = (SELECT error_class FROM dead_letters WHERE id = :newest), "
                "error_message = (SELECT error_message FROM dead_letters WHERE id = :newest), "
                "last_failed_at = (SELECT last_failed_at FROM dead_letters WHERE id = :newest) "
                "WHERE id = :keeper"
            ),
            {"attempts": sum(int(a) for _, a in rows), "newest": newest, "keeper": keeper},
        )
        conn.execute(
            sa.text(
                "UPDATE dead_letters SET status = 'discarded', resolved_at = :now, "
                "discard_reason = :reason WHERE id IN :ids"
            ).bindparams(
                sa.bindparam("ids", expanding=True), sa.bindparam("now", type_=UTCDateTime())
            ),
            {
                "now": now,
                "reason": f"merged into dead letter {keeper} (migration 0003)",
                "ids": [i for i, _ in rows[1:]],
            },
        )


def upgrade() -> None:
    _merge_duplicates()
    with op.batch_alter_table("dead_letters", schema=None) as batch_op:
        batch_op.create_index(
            "uq_dead_letters_open_reference",
            ["source", "reference"],
            unique=True,
            sqlite_where=_OPEN,
            postgresql_where=_OPEN,
        )


def downgrade() -> None:
    with op.batch_alter_table("dead_letters", schema=None) as batch_op:
        batch_op.drop_index("uq_dead_letters_open_reference")
