"""Migration 0019 stores cursors as text, converting stored cursors both ways."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from sfsync.models import Store
from sfsync.models.operations.cursors import position
from sfsync.models.tables import SyncRun
from sfsync.models.types import RunStatus, RunTrigger, Stream, UTCDateTime
from tests.store.alembic_steps import migrate, revision_before

T0 = datetime(2026, 11, 2, 14, 5, 9, 123000, tzinfo=UTC)
T1 = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)


def _tables(kind: sa.types.TypeEngine[object]) -> tuple[sa.TableClause, sa.TableClause]:
    cursors = sa.table(
        "sync_cursors",
        sa.column("stream", sa.String()),
        sa.column("position", kind),
        sa.column("updated_at", UTCDateTime()),
    )
    runs = sa.table(
        "sync_runs",
        sa.column("id", sa.Integer()),
        sa.column("cursor_before", kind),
        sa.column("cursor_after", kind),
    )
    return cursors, runs


def test_stored_cursors_become_text_and_come_back_as_instants(store: Store) -> None:
    """A cursor and a run's cursors stored as timestamps read the same after the upgrade (ISO
    text) and after the downgrade (timestamps again)."""
    migrate(store, revision_before(store, "0019"))
    try:
        cursors, runs = _tables(UTCDateTime())  # type: ignore[arg-type]
        with store.engine.begin() as conn:
            # The run's other columns as the ORM fills them (their defaults); no cursor yet.
            run_id = conn.execute(
                sa.insert(SyncRun)
                .values(
                    stream=Stream.OPPORTUNITIES, trigger=RunTrigger.BEAT, status=RunStatus.SUCCEEDED
                )
                .returning(SyncRun.id)
            ).scalar_one()
            conn.execute(
                sa.insert(cursors).values(stream="opportunities", position=T0, updated_at=T1)
            )
            conn.execute(sa.update(runs).where(runs.c.id == run_id).values(cursor_after=T0))
        migrate(store, "head")
        text_cursors, text_runs = _tables(sa.Text())  # type: ignore[arg-type]
        with store.engine.connect() as conn:
            stored = conn.execute(sa.select(text_cursors.c.position)).scalar_one()
            run = conn.execute(sa.select(text_runs.c.cursor_before, text_runs.c.cursor_after)).one()
        assert stored == T0.isoformat() == "2026-11-02T14:05:09.123000+00:00"
        assert tuple(run) == (None, T0.isoformat())
        with store.session() as s:
            assert position(s, Stream.OPPORTUNITIES) == T0
        migrate(store, revision_before(store, "0019"))
        with store.engine.connect() as conn:
            back = conn.execute(sa.select(cursors.c.position)).scalar_one()
            run = conn.execute(sa.select(runs.c.cursor_before, runs.c.cursor_after)).one()
        assert back == T0
        assert tuple(run) == (None, T0)
    finally:
        with store.engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM sync_runs"))
            conn.execute(sa.text("DELETE FROM sync_cursors"))
        # The store is shared with the tests that follow: back to the head for them.
        migrate(store, "head")
