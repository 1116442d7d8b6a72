"""report ingest aliases equal to a customer's id; dead letters keep their error history

Revision ID: 0004
Revises: 0001
Create Date: 2026-12-01 17:30:00

Before this release an alias could be any customer's id, and attribution preferred the
alias: `aliases add ATTACKER <victim id>` moved the victim's usage. Such aliases are now
refused and a customer's id always names its customer, but this migration cannot know
which of two customers a stored one was meant for, so it changes nothing and names each
(alias, holder) in a warning: remove them with `sfsync aliases remove HOLDER ALIAS`.

Dead letters gain `error_history`: a failed replay is added there instead of overwriting
the letter's original error class and message.
"""

from __future__ import annotations

import logging
import uuid

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0005'
branch_labels = None
depends_on = None

log = logging.getLogger("sfsync.migrations")


def aliases_equal_to_customer_ids(conn: sa.Connection) -> list[tuple[str, str]]:
    """(alias, holder customer id) of every alias that is some customer's id."""
    if conn.dialect.name == "postgresql":
        query = (
            "SELECT a.alias, a.customer_id::text FROM ingest_aliases AS a "
            "JOIN customers AS c ON c.id::text = a.alias ORDER BY a.alias"
        )
    else:  # SQLite keeps ids as 32 hex digits; an alias names one in 8-4-4-4-12 form
        query = (
            "SELECT a.alias, a.customer_id FROM ingest_aliases AS a "
            "JOIN customers AS c ON length(a.alias) = 36 AND c.id = replace(a.alias, '-', '') "
            "ORDER BY a.alias"
        )
    return [(str(alias), str(uuid.UUID(str(holder)))) for alias, holder in conn.execute(sa.text(query))]


def upgrade() -> None:
    with op.batch_alter_table('dead_letters', schema=None) as batch_op:
        batch_op.add_column(sa.Column('error_history', sa.JSON(), nullable=True))
    found = aliases_equal_to_customer_ids(op.get_bind())
    if found:
        log.warning(
            "%d ingest alias(es) equal another customer's id and no longer capture its "
            "usage; remove them with `sfsync aliases remove HOLDER ALIAS`: %s",
            len(found),
            ", ".join(f"{alias} (held by {holder})" for alias, holder in found),
        )


def downgrade() -> None:
    with op.batch_alter_table('dead_letters', schema=None) as batch_op:
        batch_op.drop_column('error_history')
