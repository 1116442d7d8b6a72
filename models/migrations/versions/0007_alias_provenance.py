"""alias provenance, customer status and merges

Revision ID: 0007
Revises: 0005

Existing aliases are given a source from what the store knows: on a customer that carries
an `sfdc_account_id`, an alias that is that id, or any Account id (key prefix 001), came
from Salesforce (that account, field `Id`); an alias attached in the same provisioning as
the customer's own account-id alias (within a second of it) was an alias-field value of
its hierarchy, recorded as coming from the customer's account (the account stream records
the exact sub-organisation the next time it reads the hierarchy). Every other alias is
manual, so no sync ever touches it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

from sfsync.models.types import UTCDateTime

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

_ACCOUNT_ID = re.compile(r"001[A-Za-z0-9]{15}")


_MERGED_IS_ARCHIVED = "merged_into IS NULL OR status = 'archived'"
_SOURCE_ACCOUNT = "(source = 'salesforce') = (source_account_id IS NOT NULL)"


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == 'sqlite':
        # Never batch mode here: it recreates `customers`, and dropping the old table with
        # foreign keys on would cascade-delete every alias and contract (PRAGMA foreign_keys
        # cannot be turned off inside the migration's transaction). SQLite adds a column in
        # place, with its constraints written inline.
        op.execute("ALTER TABLE customers ADD COLUMN status VARCHAR(16) DEFAULT 'active' NOT NULL")
        op.execute(
            "ALTER TABLE customers ADD COLUMN merged_into CHAR(32) "
            f"CONSTRAINT ck_customers_merged_is_archived CHECK ({_MERGED_IS_ARCHIVED})"
        )
        op.execute("ALTER TABLE ingest_aliases ADD COLUMN source VARCHAR(16) DEFAULT 'manual' NOT NULL")
        op.execute("ALTER TABLE ingest_aliases ADD COLUMN source_account_id VARCHAR(18)")
        op.execute(
            "ALTER TABLE ingest_aliases ADD COLUMN source_field VARCHAR(128) "
            f"CONSTRAINT ck_ingest_aliases_source_account CHECK ({_SOURCE_ACCOUNT})"
        )
    else:
        op.add_column('customers', sa.Column('status', sa.Enum('active', 'archived', name='customerstatus', native_enum=False, length=16), server_default='active', nullable=False))
        op.add_column('customers', sa.Column('merged_into', sa.Uuid(), nullable=True))
        op.create_check_constraint(op.f('ck_customers_merged_is_archived'), 'customers', _MERGED_IS_ARCHIVED)
        op.add_column('ingest_aliases', sa.Column('source', sa.Enum('salesforce', 'manual', name='aliassource', native_enum=False, length=16), server_default='manual', nullable=False))
        op.add_column('ingest_aliases', sa.Column('source_account_id', sa.String(length=18), nullable=True))
        op.add_column('ingest_aliases', sa.Column('source_field', sa.String(length=128), nullable=True))
    op.create_index(op.f('ix_ingest_aliases_source_account_id'), 'ingest_aliases', ['source_account_id'], unique=False)

    _fill_sources(bind)
    # Customers archived before there was a status (the API's archive set archived_at only).
    op.execute("UPDATE customers SET status = 'archived' WHERE archived_at IS NOT NULL")

    if bind.dialect.name != 'sqlite':
        op.create_check_constraint(op.f('ck_ingest_aliases_source_account'), 'ingest_aliases', _SOURCE_ACCOUNT)

    op.create_table('alias_moves',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('alias', sa.String(length=128), nullable=False),
    sa.Column('from_customer_id', sa.Uuid(), nullable=True),
    sa.Column('to_customer_id', sa.Uuid(), nullable=True),
    sa.Column('reason', sa.Enum('reparented', 'detached', 'merged', 'archived', name='aliasmovereason', native_enum=False, length=16), nullable=False),
    sa.Column('source_account_id', sa.String(length=18), nullable=True),
    sa.Column('moved_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alias_moves'))
    )
    op.create_index(op.f('ix_alias_moves_alias'), 'alias_moves', ['alias'], unique=False)


def _fill_sources(bind: sa.engine.Connection) -> None:
    accounts: dict[object, object] = dict(
        (row[0], row[1])
        for row in bind.execute(
            sa.text(
                "SELECT entity_id, value FROM custom_field_values "
                "WHERE entity = 'customer' AND key = 'sfdc_account_id'"
            )
        ).all()
    )
    if not accounts:
        return
    rows = bind.execute(sa.text("SELECT alias, customer_id, created_at FROM ingest_aliases")).all()
    by_customer: dict[object, list[tuple[str, object]]] = {}
    for alias, customer, created in rows:
        if customer in accounts:
            by_customer.setdefault(customer, []).append((alias, created))
    update = sa.text(
        "UPDATE ingest_aliases SET source = 'salesforce', source_account_id = :account, "
        "source_field = :field WHERE alias = :alias"
    )
    for customer, aliases in by_customer.items():
        account = str(accounts[customer])
        id_aliases = [(a, c) for a, c in aliases if a == account or _ACCOUNT_ID.fullmatch(a)]
        stamps = [_aware(c) for a, c in id_aliases if a == account]
        for alias, created in aliases:
            if (alias, created) in id_aliases:
                bind.execute(update, {"account": alias, "field": "Id", "alias": alias})
            elif stamps and any(abs(_aware(created) - s) <= timedelta(seconds=1) for s in stamps):
                bind.execute(update, {"account": account, "field": None, "alias": alias})


def _aware(value: object) -> datetime:
    # SQLite hands back text or naive datetimes; PostgreSQL aware ones.
    stamp = datetime.fromisoformat(value) if isinstance(value, str) else value
    if not isinstance(stamp, datetime):
        raise TypeError(f"not a timestamp: {value!r}")
    return stamp if stamp.tzinfo is not None else stamp.replace(tzinfo=UTC)


def downgrade() -> None:
    op.drop_index(op.f('ix_alias_moves_alias'), table_name='alias_moves')
    op.drop_table('alias_moves')
    op.drop_index(op.f('ix_ingest_aliases_source_account_id'), table_name='ingest_aliases')
    if op.get_bind().dialect.name == 'sqlite':
        # DROP COLUMN cannot drop a column with a constraint; these stay on a downgrade.
        return
    op.drop_constraint(op.f('ck_ingest_aliases_source_account'), 'ingest_aliases', type_='check')
    op.drop_column('ingest_aliases', 'source_field')
    op.drop_column('ingest_aliases', 'source_account_id')
    op.drop_column('ingest_aliases', 'source')
    op.drop_constraint(op.f('ck_customers_merged_is_archived'), 'customers', type_='check')
    op.drop_column('customers', 'merged_into')
    op.drop_column('customers', 'status')
